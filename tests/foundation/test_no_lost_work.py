"""No lost work: interrupts keep runs resumable, folder names are checked, a full disk at the start
leaves nothing behind, checkpoints are validated against the run before they are used.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import toy_faults
from spikealign import runs
from spikealign.cli import main

SRC = Path(__file__).resolve().parents[2] / "src"
SLOW_TOY = {"kind": "toy", "seed": 1, "n_steps": 60000, "n_walkers": 1, "checkpoint_every": 500}


def _write(tmp_path, data: dict, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def _one_line(capsys, argv, code: int, *expected: str) -> str:
    got = main([str(a) for a in argv])
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert got == code, (got, captured.out, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in captured.err + captured.out, err
    for e in expected:
        assert e in err, err
    return err


# --------------------------------------------------------------------------- interrupts
@pytest.mark.parametrize(
    ("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "SIGTERM")]
)
def test_interrupted_run_stays_resumable(tmp_path, capsys, sig, code, word):
    cfg = _write(tmp_path, SLOW_TOY)
    out = tmp_path / "o"
    argv = [sys.executable, "-m", "spikealign.cli", "run", str(cfg), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": str(SRC)}, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "checkpoints" / "latest.pkl").is_file():
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before its first checkpoint"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "--resume" in lines[0], err
    assert json.loads((out / "meta.json").read_text())["status"] == "interrupted"
    checkpoint = (out / "checkpoints" / "latest.pkl").read_bytes()
    # the same command without --resume neither replaces nor deletes it: it says how to continue
    _one_line(capsys, ["run", cfg, "--out", out, "--quiet"], 2, "interrupted run", "--resume")
    assert (out / "checkpoints" / "latest.pkl").read_bytes() == checkpoint
    # --resume finishes it, with the numbers of an uninterrupted run
    assert main(["run", str(cfg), "--out", str(out), "--quiet", "--resume"]) == 0
    assert main(["run", str(cfg), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    a = runs.load_npz(out / "trace.npz")["trace"]
    b = runs.load_npz(tmp_path / "whole" / "trace.npz")["trace"]
    assert np.array_equal(a, b)
    assert json.loads((out / "meta.json").read_text())["attempts"] == 2


# --------------------------------------------------------------------------- folder names
@pytest.mark.parametrize("name", ["..", ".", "a/b", "../x", ""])
def test_sweep_name_is_a_safe_folder_name(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    sw = _write(tmp_path, {"name": name, "experiment": "toy", "base": {"n_steps": 3}, "grid": {"seed": [1]}}, "s.yaml")
    _one_line(capsys, ["sweep", sw, "--executor", "serial", "--quiet"], 2, "'name'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


# --------------------------------------------------------------------------- full disk at the start
class _FullDiskFile:
    """A file whose writes fail as on a full disk."""

    def __init__(self, fh):
        self._fh = fh

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_disk_full_at_the_start(tmp_path, capsys, monkeypatch, command):
    real_open = open

    def full_open(path, mode="r", *a, **kw):
        fh = real_open(path, mode, *a, **kw)
        return _FullDiskFile(fh) if str(path).endswith(".lock") else fh

    monkeypatch.setattr(runs, "open", full_open, raising=False)
    out = tmp_path / "o"
    if command == "run":
        argv = ["run", _write(tmp_path, {"kind": "toy", "n_steps": 3}), "--out", out, "--quiet"]
    else:
        sw = _write(
            tmp_path, {"name": "s", "experiment": "toy", "base": {"n_steps": 3}, "grid": {"seed": [1]}}, "s.yaml"
        )
        argv = ["sweep", sw, "--out", out, "--executor", "serial", "--quiet"]
    _one_line(capsys, argv, 2, "no space left", str(out))
    assert not out.exists(), list(out.rglob("*"))


# --------------------------------------------------------------------------- checkpoints
def _interrupted_toy(tmp_path, **kw) -> tuple[Path, Path]:
    """A toy run cut after its first checkpoint (status running), its config file and its folder."""
    cfg = _write(
        tmp_path, {"kind": "toy-faults", "seed": 2, "n_steps": 40, "n_walkers": 3, "checkpoint_every": 10, **kw}
    )
    out = tmp_path / "o"
    env = {**os.environ, "PYTHONPATH": str(SRC), toy_faults.CRASH_AFTER_ENV: "10"}
    res = subprocess.run(
        [sys.executable, str(toy_faults.CLI), "run", str(cfg), "--out", str(out), "--quiet"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 17 and (out / "checkpoints" / "latest.pkl").is_file(), res.stderr
    return cfg, out


def _rewrite_checkpoint(out: Path, change) -> None:
    path = out / "checkpoints" / "latest.pkl"
    data = pickle.loads(path.read_bytes())
    path.write_bytes(pickle.dumps(change(data)))


def test_checkpoint_is_validated_before_use(tmp_path, capsys):
    cfg, out = _interrupted_toy(tmp_path)
    original = (out / "checkpoints" / "latest.pkl").read_bytes()
    resume = ["run", cfg, "--out", out, "--quiet", "--resume"]
    cases = [
        ("a pickle that is no mapping", lambda d: [1, 2], "not written by a spikealign run"),
        ("a pickle without the expected keys", lambda d: {"x": 1}, "does not fit this run: keys rng, step, trace"),
        ("a checkpoint of another kind", lambda d: {**d, runs.CHECKPOINT_HEADER: {**d[runs.CHECKPOINT_HEADER],
                                                                               "kind": "ssn"}},
         "'ssn' run, not 'toy-faults'"),
        ("another config", lambda d: {**d, runs.CHECKPOINT_HEADER: {**d[runs.CHECKPOINT_HEADER], "config": "0" * 12}},
         "another config"),
        ("a key missing", lambda d: {**d, "state": {k: v for k, v in d["state"].items() if k != "x"}}, "incomplete"),
    ]  # fmt: skip
    for what, change, expected in cases:
        (out / "checkpoints" / "latest.pkl").write_bytes(original)
        _rewrite_checkpoint(out, change)
        err = _one_line(capsys, resume, 2, "latest.pkl", expected, "to restart")
        assert "Traceback" not in err, what
    # the untouched checkpoint resumes to the numbers of a run that was never cut
    (out / "checkpoints" / "latest.pkl").write_bytes(original)
    assert main([str(a) for a in resume]) == 0
    assert main(["run", str(cfg), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    assert np.array_equal(
        runs.load_npz(out / "trace.npz")["trace"], runs.load_npz(tmp_path / "whole" / "trace.npz")["trace"]
    )


def test_checkpoint_of_the_earlier_format_is_used_when_it_fits(tmp_path, capsys):
    """Checkpoints written before the kind/config stamp (2026-12-03) are the state mapping itself."""
    cfg, out = _interrupted_toy(tmp_path)
    resume = ["run", cfg, "--out", out, "--quiet", "--resume"]
    stamped = (out / "checkpoints" / "latest.pkl").read_bytes()
    state = pickle.loads(stamped)["state"]

    def earlier(change=lambda st: st):
        (out / "checkpoints" / "latest.pkl").write_bytes(pickle.dumps(change(dict(state))))

    refused = [
        ("trace of another length", lambda st: {**st, "trace": st["trace"][:-1]}, "'trace' has shape (39, 3)"),
        ("a step past the end", lambda st: {**st, "step": 41}, "'step' is 41"),
        ("a list for an array", lambda st: {**st, "x": st["x"].tolist()}, "'x' has shape None"),
        ("a key missing", lambda st: {k: v for k, v in st.items() if k != "rng"}, "keys rng missing"),
        ("another generator", lambda st: {**st, "rng": {**st["rng"], "bit_generator": "MT19937"}}, "PCG64"),
    ]
    for what, change, expected in refused:
        earlier(change)
        err = _one_line(capsys, resume, 2, "latest.pkl", "earlier format", expected, "to restart")
        assert "Traceback" not in err, what
    # the run folder must vouch for its kind and config: without config.yaml the file is refused
    earlier()
    config_text = (out / "config.yaml").read_text()
    (out / "config.yaml").unlink()
    _one_line(capsys, resume, 2, "earlier format", "no config.yaml of this config")
    (out / "config.yaml").write_text(config_text)
    # one that fits resumes, with one line saying so, to the numbers of a run that was never cut
    earlier()
    assert main([str(a) for a in resume]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checkpoint of the earlier format" in err[0], err
    assert main(["run", str(cfg), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    assert np.array_equal(
        runs.load_npz(out / "trace.npz")["trace"], runs.load_npz(tmp_path / "whole" / "trace.npz")["trace"]
    )
    # kinds without a check of unstamped states refuse them in one line
    ctx = runs.RunContext(out, 0, resume=True, kind="ssn", folder_holds_this_config=True)
    earlier()
    with pytest.raises(runs.UserError, match=r"earlier format .* which ssn runs cannot check"):
        ctx.load_checkpoint()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_checkpoints_folder(tmp_path, capsys):
    cfg, out = _interrupted_toy(tmp_path)
    (out / "checkpoints").chmod(0o555)
    try:
        _one_line(capsys, ["run", cfg, "--out", out, "--quiet", "--resume"], 2, "checkpoints", "permission denied")
    finally:
        (out / "checkpoints").chmod(0o755)


def test_unwritable_checkpoint_is_one_line(tmp_path, capsys, monkeypatch):
    cfg, out = _interrupted_toy(tmp_path)

    def denied(path, data):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(runs, "atomic_write_bytes", denied)
    monkeypatch.setattr(runs, "atomic_write_json", lambda *a, **k: None)
    monkeypatch.setattr(runs, "atomic_write_text", lambda *a, **k: None)
    _one_line(
        capsys, ["run", cfg, "--out", out, "--quiet", "--resume"], 2, "latest.pkl", "permission denied", "writable"
    )
