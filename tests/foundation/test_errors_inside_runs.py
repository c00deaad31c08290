"""Errors from inside a run: one line naming the run's log, the traceback in the log (``--debug``:
on the terminal); environment variables checked before any work; numba's cache always writable.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
import yaml

from spikealign import _numba_cache
from spikealign.cli import main
from user_errors import assert_user_error


def _toy(tmp_path, **kw):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"kind": "toy", "n_steps": 5, **kw}))
    return p


# --------------------------------------------------------------------------- errors inside a run
def test_error_inside_a_run_is_one_line_and_a_log(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", str(_toy(tmp_path, kind="toy-faults", fail=True)), "--out", str(out), "--quiet"]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err == (
        f"spikealign run: run failed: RuntimeError: toy run asked to fail "
        f"(traceback in {out / 'run.log'}; --debug shows it here)"
    )
    assert "Traceback" not in captured.out + captured.err
    log = (out / "run.log").read_text()
    assert "Traceback (most recent call last)" in log and 'raise RuntimeError("toy run asked to fail")' in log
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "failed" and meta["error"] == "RuntimeError: toy run asked to fail"


def test_debug_shows_the_traceback(tmp_path):
    cfg = _toy(tmp_path, kind="toy-faults", fail=True)
    with pytest.raises(RuntimeError, match="asked to fail"):
        main(["run", str(cfg), "--out", str(tmp_path / "o"), "--quiet", "--debug"])
    assert "RuntimeError" in (tmp_path / "o" / "run.log").read_text()


def test_user_errors_inside_a_run_write_no_log(tmp_path, capsys):
    # a config the user must fix: its one line is the message, no log is needed
    path = tmp_path / "c.yaml"
    path.write_text("kind: theory-stdd\nb_1: 31\n")
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    assert_user_error(capsys.readouterr().err, key="'b_1'", category="invalid value")
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- environment variables
@pytest.mark.parametrize("value", ["gif", "png,jpeg", ","])
def test_figure_formats_variable_checked_before_work(tmp_path, capsys, monkeypatch, value):
    monkeypatch.setenv("SPIKEALIGN_FIGURE_FORMATS", value)
    out = tmp_path / "o"
    assert main(["run", str(_toy(tmp_path)), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "SPIKEALIGN_FIGURE_FORMATS" in err and "png, pdf, svg" in err, err
    assert not out.exists()


def test_figure_format_flag_empty_is_an_error(tmp_path, capsys):
    assert main(["run", str(_toy(tmp_path)), "--out", str(tmp_path / "o"), "--figure-format", ""]) == 2
    assert "--figure-format" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_data_folder_variable_must_exist(tmp_path, capsys, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("SPIKEALIGN_DATA", str(tmp_path / "nowhere"))
    path = tmp_path / "d.yaml"
    path.write_text("kind: deep\ndataset: mnist\n")
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "SPIKEALIGN_DATA" in err and "does not exist" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["1.7e308", "inf", "-3", "abc", "0"])
def test_reference_seconds_variable(monkeypatch, value):
    sys.path.insert(0, str(_numba_cache.PACKAGE_DIR.parents[1] / "benchmarks"))
    try:
        import bench_startup
    finally:
        sys.path.pop(0)
    from spikealign.errors import UserError

    monkeypatch.setenv("SPIKEALIGN_REFERENCE_EXAMPLE_S", value)
    with pytest.raises(UserError, match="SPIKEALIGN_REFERENCE_EXAMPLE_S"):
        bench_startup._reference_seconds()
    monkeypatch.setenv("SPIKEALIGN_REFERENCE_EXAMPLE_S", "116")
    assert bench_startup._reference_seconds() == 116.0


# --------------------------------------------------------------------------- numba's cache
def test_numba_cache_falls_back_to_a_writable_folder(tmp_path, monkeypatch):
    for name in ("NUMBA_CACHE_DIR", _numba_cache.ROOT_ENV, "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", "/nonexistent")
    monkeypatch.setattr(_numba_cache.tempfile, "tempdir", str(tmp_path))
    real = _numba_cache._writable
    monkeypatch.setattr(
        _numba_cache, "_writable", lambda d: not str(d).startswith(("/nonexistent", "/pkg")) and real(d)
    )
    chosen = _numba_cache.cache_root(_numba_cache.Path("/pkg"))
    assert chosen == tmp_path / f"spikealign-cache-{os.getuid()}"
    assert chosen.is_dir()


def test_numba_cache_left_alone_when_writable_or_chosen(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv(_numba_cache.ROOT_ENV, raising=False)
    assert _numba_cache.cache_root(_numba_cache.Path("/pkg")) == tmp_path  # the user's choice stands
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert _numba_cache.cache_root(tmp_path) == tmp_path / "__pycache__"  # the package folder is writable
