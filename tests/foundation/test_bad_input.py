"""Bad input, corrupt state and faults: one line naming the file/key/flag, exit 2, nothing written.

Organised by category: config files, non-finite and negative numbers, memory limits, cross-key
checks, command-line flags, output folders, corrupt state, faults, concurrency, progress.
"""

from __future__ import annotations

import errno
import importlib.util
import io
import json
import os
import re
import stat
import types
import typing

import pytest
import yaml
from pydantic import BaseModel

import toy_faults
from spikealign import runs
from spikealign.cli import main
from spikealign.config import StrictModel, validate
from spikealign.errors import UserError
from spikealign.registry import EXPERIMENTS, load_all
from spikealign.templates import config_template


def _write(tmp_path, text: str | bytes, name: str = "cfg.yaml"):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


def _toy(tmp_path, name="toy.yaml", **kw):
    cfg = {"kind": "toy", "seed": 3, "n_steps": 30, "n_walkers": 2, "checkpoint_every": 10, **kw}
    return _write(tmp_path, yaml.safe_dump(cfg), name)


def _fails_cleanly(capsys, argv, expected: str | tuple[str, ...], nothing_at=None):
    """Run the CLI; it must exit 2 with one stderr line containing ``expected``, no traceback."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, (code, captured.out, captured.err)
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in captured.err + captured.out
    for e in (expected,) if isinstance(expected, str) else expected:
        assert e in err, err
    if nothing_at is not None:
        assert not nothing_at.exists(), f"{nothing_at} was written"
    return err


# --------------------------------------------------------------------------- config files
def test_binary_config(tmp_path, capsys):
    cfg = _write(tmp_path, b"\x00\x01\x02\xffPK\x03\x04" * 20)
    _fails_cleanly(capsys, ["run", cfg, "--out", tmp_path / "o"], ("cfg.yaml", "binary"), tmp_path / "o")


def test_utf16_config(tmp_path, capsys):
    cfg = _write(tmp_path, "kind: toy\nn_steps: 3\n".encode("utf-16"))
    _fails_cleanly(capsys, ["run", cfg, "--out", tmp_path / "o"], ("cfg.yaml", "UTF-16", "UTF-8"), tmp_path / "o")


def test_latin1_config(tmp_path, capsys):
    cfg = _write(tmp_path, "kind: toy\n# caf\xe9\n".encode("latin-1"))
    _fails_cleanly(
        capsys, ["run", cfg, "--out", tmp_path / "o"], ("not UTF-8", "0xe9 at line 2, column 6"), tmp_path / "o"
    )


def test_utf8_bom_config_is_fine(tmp_path, capsys):
    cfg = _write(tmp_path, "\ufeffkind: toy\nn_steps: 3\n".encode())
    assert main(["run", str(cfg), "--out", str(tmp_path / "o"), "--quiet"]) == 0


def test_directory_as_config(tmp_path, capsys):
    (tmp_path / "conf.yaml").mkdir()
    _fails_cleanly(capsys, ["run", tmp_path / "conf.yaml", "--out", tmp_path / "o"], "is a directory", tmp_path / "o")


def test_unreadable_config(tmp_path, capsys, monkeypatch):
    cfg = _toy(tmp_path)
    if os.geteuid() != 0:
        cfg.chmod(0)
    else:  # root reads any file: simulate the permission error
        real = type(cfg).read_bytes

        def deny(self):
            if self.name == "toy.yaml":
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(type(cfg), "read_bytes", deny)
    _fails_cleanly(capsys, ["run", cfg, "--out", tmp_path / "o"], ("cannot read", "toy.yaml", "Permission denied"))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "text, key",
    [
        ("kind: toy\nseed: 1\nseed: 2\n", "seed"),
        ("kind: microcircuit\nnetwork:\n  t_ref: 10\n  t_ref: 12\n", "t_ref"),
    ],
)
def test_duplicate_yaml_key(tmp_path, capsys, text, key):
    cfg = _write(tmp_path, text)
    _fails_cleanly(capsys, ["run", cfg, "--out", tmp_path / "o"], (f"duplicate key '{key}'", "line"), tmp_path / "o")


def test_binary_sweep_and_base_config(tmp_path, capsys):
    sw = _write(tmp_path, b"\xff\xfe\x00\x00garbage", "sweep.yaml")
    _fails_cleanly(capsys, ["sweep", sw, "--out", tmp_path / "o"], ("sweep file", "sweep.yaml"), tmp_path / "o")
    _write(tmp_path, "kind: toy\n".encode("utf-16"), "base.yaml")
    sw = _write(tmp_path, "name: s\nexperiment: toy\nbase_config: base.yaml\n", "sweep2.yaml")
    _fails_cleanly(capsys, ["sweep", sw, "--out", tmp_path / "o"], ("base_config", "base.yaml"), tmp_path / "o")


def test_duplicate_key_in_sweep_file(tmp_path, capsys):
    sw = _write(tmp_path, "name: s\nexperiment: toy\ngrid: {sigma: [1.0]}\ngrid: {drift: [1.0]}\n", "sweep.yaml")
    _fails_cleanly(capsys, ["sweep", sw, "--out", tmp_path / "o"], "duplicate key 'grid'", tmp_path / "o")


# --------------------------------------------------------------------------- non-finite numbers
def _float_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()):
    """(dotted path, bad value) for every float field of ``model`` and its nested sections."""
    for name, field in model.model_fields.items():
        ann = field.annotation
        union = typing.get_origin(ann) in (typing.Union, types.UnionType)
        args = set(typing.get_args(ann)) if union else {ann}
        nested = [a for a in args if isinstance(a, type) and issubclass(a, StrictModel)]
        if nested:
            yield from _float_fields(nested[0], (*prefix, name))
        elif float in args:
            yield ".".join((*prefix, name)), float("nan")
        elif any(typing.get_origin(a) is list and float in typing.get_args(a) for a in args):
            yield ".".join((*prefix, name)), [1.0, float("inf")]


def _nan_cases():
    load_all(skip_missing_extras=True)
    cases = []
    for kind, exp in sorted(EXPERIMENTS.items()):
        for path, value in _float_fields(exp.config_model):
            cases.append(pytest.param(kind, path, value, id=f"{kind}:{path}"))
    return cases


#: valid contents of optional sections that the templates leave unset (scalars fill whole matrices)
_OPTIONAL_SECTIONS = {
    "weights": {"w10": 1.0, "w21": 1.0},
    "random_weights": {"seed": 1},
}


@pytest.mark.parametrize("kind, path, value", _nan_cases())
def test_non_finite_rejected_in_every_float_field(kind, path, value):
    data = yaml.safe_load(config_template(kind))  # a complete, valid config of the kind
    node = data
    *parents, last = path.split(".")
    for p in parents:
        if node.get(p) is None:
            node[p] = dict(_OPTIONAL_SECTIONS.get(p, {}))
        node = node[p]
    node[last] = value
    with pytest.raises(UserError) as info:
        validate(EXPERIMENTS[kind].config_model, data, source="cfg")
    message = str(info.value)
    assert "finite" in message and last in message, message


def test_float_field_walk_finds_the_known_fields():
    ids = {p.id for p in _nan_cases()}
    expected = ["microcircuit:network.lambda_api", "ssn:stdp.a_plus"]
    if importlib.util.find_spec("torch") is not None:
        expected += ["deep:lr", "estimator-connection:seconds"]
    assert set(expected) <= ids


@pytest.mark.parametrize(
    "kind, overrides, key",
    [
        ("microcircuit", ["network.lambda_api=.nan"], "network.lambda_api"),
        ("microcircuit", ["inputs.training=[-3.0, .nan, 3.0]"], "inputs.training[1]"),
        ("ssn", ["stdp.a_plus=.nan"], "stdp.a_plus"),
        pytest.param("deep", ["lr=.inf"], "lr", marks=pytest.mark.torch),
        pytest.param("deep", ["method=sal", "estimator.sal_lr=.nan"], "sal_lr", marks=pytest.mark.torch),
        pytest.param("estimator-connection", ["seconds=.inf"], "seconds", marks=pytest.mark.torch),
        ("theory-spiking-sal", ["lr=-.inf"], "lr"),
        ("toy", ["drift=.nan"], "drift"),
    ],
)
def test_non_finite_via_cli(tmp_path, capsys, kind, overrides, key):
    cfg = _write(tmp_path, f"kind: {kind}\n")
    argv = ["run", cfg, "--out", tmp_path / "o"]
    for o in overrides:
        argv += ["--set", o]
    _fails_cleanly(capsys, argv, (key, "finite"), tmp_path / "o")


def test_non_finite_inside_untyped_mapping(tmp_path, capsys):
    # sweep 'base' is a free mapping: a NaN in it is found too
    sw = _write(tmp_path, "name: s\nexperiment: toy\nbase: {drift: .nan}\n", "sweep.yaml")
    _fails_cleanly(capsys, ["sweep", sw, "--out", tmp_path / "o"], ("base.drift", "finite"), tmp_path / "o")


# --------------------------------------------------------------------------- negative rates
@pytest.mark.parametrize(
    "kind, overrides, key",
    [
        ("microcircuit", ["network.lr_down=-0.1"], "network.lr_down"),
        ("microcircuit", ["network.lr_up=[0.2, -0.003]"], "network.lr_up"),
        ("ssn", ["lr.symm=-1"], "lr.symm"),
        pytest.param(
            "deep",
            ["method=sal", "estimator.sal_lr=-5"],
            "sal_lr",
            marks=pytest.mark.torch,
        ),
    ],
)
def test_negative_learning_rate_rejected(tmp_path, kind, overrides, key):
    from spikealign.runs import load_run_config

    cfg = _write(tmp_path, f"kind: {kind}\n")
    with pytest.raises(UserError, match=re.escape(key)):  # validation only: an accepted config never runs here
        load_run_config(cfg, overrides)


# --------------------------------------------------------------------------- memory
@pytest.mark.parametrize(
    "kind, overrides, key",
    [
        ("theory-stdd", ["t_max=1000000"], "t_max"),
        ("microcircuit", ["network.dims=[1000000, 1000000, 1000000]"], "network.dims"),
        pytest.param(
            "deep", ["method=sal", "estimator.batch_size=1000000"], "estimator.batch_size", marks=pytest.mark.torch
        ),
        pytest.param("sal-evolution", ["sizes=[1000000, 1000000, 10]"], "sizes", marks=pytest.mark.torch),
        ("toy", ["n_steps=1000000000000"], "n_steps"),
        pytest.param("estimator-connection", ["seconds=1.0e+15"], "seconds", marks=pytest.mark.torch),
    ],
)
def test_too_large_for_memory(tmp_path, capsys, kind, overrides, key):
    cfg = _write(tmp_path, f"kind: {kind}\n")
    argv = ["run", cfg, "--out", tmp_path / "o"]
    for o in overrides:
        argv += ["--set", o]
    _fails_cleanly(capsys, argv, (f"'{key}'", "memory", "available"), tmp_path / "o")


def test_memory_check_in_sweep(tmp_path, capsys):
    sw = _write(tmp_path, "name: s\nexperiment: toy\ngrid: {n_steps: [10, 1000000000000]}\n", "sweep.yaml")
    _fails_cleanly(capsys, ["sweep", sw, "--out", tmp_path / "o"], ("'n_steps'", "memory"), tmp_path / "o")


def test_memory_check_uses_available_memory(monkeypatch):
    from spikealign import resources

    monkeypatch.setattr(resources, "available_memory", lambda: 1000)
    resources.check_memory(999, "x", "k")
    with pytest.raises(UserError, match=r"1001 B .* only 1000 B .*'k'"):
        resources.check_memory(1001, "x", "k")
    monkeypatch.setattr(resources, "available_memory", lambda: None)
    resources.check_memory(1e30, "x", "k")  # unknown: never blocks


def test_default_configs_fit_in_memory():
    from spikealign.resources import check_run_memory

    load_all(skip_missing_extras=True)
    for kind, exp in EXPERIMENTS.items():
        config = validate(exp.config_model, yaml.safe_load(config_template(kind)))
        check_run_memory(exp, config)


# --------------------------------------------------------------------------- cross-key checks
def test_cross_key_check_with_defaulted_key(tmp_path, capsys):
    cfg = _write(tmp_path, "kind: theory-stdd\n")
    _fails_cleanly(
        capsys, ["run", cfg, "--out", tmp_path / "o", "--set", "t_ref=50"], ("t_max", "t_ref"), tmp_path / "o"
    )


# --------------------------------------------------------------------------- flags
def test_n_epochs_zero(tmp_path, capsys):
    cfg = _toy(tmp_path)
    _fails_cleanly(capsys, ["run", cfg, "--out", tmp_path / "o", "--n-epochs", "0"], "--n-epochs", tmp_path / "o")


def test_slurm_option_without_value(tmp_path, capsys):
    sw = _write(tmp_path, "name: s\nexperiment: toy\n", "sweep.yaml")
    err = _fails_cleanly(
        capsys,
        ["sweep", sw, "--out", tmp_path / "o", "--executor", "serial", "--slurm-option", "foo"],
        "--slurm-option",
    )
    assert "--set" not in err


def test_huge_grid_refused(tmp_path, capsys):
    values = list(range(1000))
    sw = _write(
        tmp_path, yaml.safe_dump({"name": "s", "experiment": "toy", "grid": {"n_steps": values, "seed": values}})
    )
    _fails_cleanly(capsys, ["sweep", sw, "--out", tmp_path / "o"], ("1,000,000 runs", "at most"), tmp_path / "o")


# --------------------------------------------------------------------------- output folders
@pytest.mark.parametrize("command", ["run", "sweep", "reproduce", "bench", "figure"])
def test_out_is_a_file(tmp_path, capsys, command):
    target = _write(tmp_path, "I am a file", "out")
    argv = {
        "run": ["run", _toy(tmp_path), "--out", target],
        "sweep": ["sweep", _write(tmp_path, "name: s\nexperiment: toy\n", "s.yaml"), "--out", target],
        "reproduce": ["reproduce", "proof", "--out", target],
        "bench": ["bench", "--out", target],
        "figure": ["figure", "proof", target],
    }[command]
    _fails_cleanly(capsys, argv, str(target))
    assert target.read_text() == "I am a file"


@pytest.mark.parametrize("command", ["run", "sweep", "reproduce", "bench"])
def test_out_not_writable(tmp_path, capsys, monkeypatch, command):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:  # root writes anywhere: simulate the permission check
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m, **kw: False if str(p) == str(locked) else real(p, m, **kw))
    argv = {
        "run": ["run", _toy(tmp_path), "--out", locked / "run"],
        "sweep": ["sweep", _write(tmp_path, "name: s\nexperiment: toy\n", "s.yaml"), "--out", locked / "sw"],
        "reproduce": ["reproduce", "proof", "--out", locked / "res"],
        "bench": ["bench", "--out", locked / "b"],
    }[command]
    _fails_cleanly(capsys, argv, ("no permission", str(locked)))
    locked.chmod(0o755)
    assert list(locked.iterdir()) == []


# --------------------------------------------------------------------------- rerun, resume
def test_failed_run_is_replaced_by_a_corrected_rerun(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", str(_toy(tmp_path, kind="toy-faults", fail=True)), "--out", str(out), "--quiet"]) == 1
    assert json.loads((out / "meta.json").read_text())["status"] == "failed"
    capsys.readouterr()
    assert main(["run", str(_toy(tmp_path)), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "held a failed run" in err and "replacing" in err
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "completed" and "error" not in meta


def test_resume_with_other_config_names_the_keys(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", str(_toy(tmp_path)), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    argv = ["run", _toy(tmp_path, sigma=2.0, drift=0.5), "--out", out, "--resume"]
    _fails_cleanly(capsys, argv, ("differs", "drift", "sigma"))


def test_differing_keys():
    assert runs.differing_keys({"a": 1, "b": {"c": 2, "d": 3}}, {"a": 1, "b": {"c": 5}, "e": 0}) == ["b.c", "b.d", "e"]


# --------------------------------------------------------------------------- corrupt state
def _completed_sweep(tmp_path):
    sw = _write(tmp_path, "name: s\nexperiment: toy\ngrid: {seed: [1, 2]}\nbase: {n_steps: 5}\n", "sweep.yaml")
    assert main(["sweep", str(sw), "--out", str(tmp_path / "sw"), "--executor", "serial", "--quiet"]) == 0
    return tmp_path / "sw"


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage\xff\n\x00", b"a,b\n1,2\n"])
def test_corrupt_table(tmp_path, content):
    from spikealign.sweep import SweepResult

    root = _completed_sweep(tmp_path)
    (root / "table.csv").write_bytes(content)
    with pytest.raises(UserError, match=r"table\.csv is corrupt"):
        _ = SweepResult(root).table


def test_corrupt_npz_and_meta(tmp_path, capsys):
    from spikealign.sweep import SweepResult

    root = _completed_sweep(tmp_path)
    res = SweepResult(root)
    run_id = res.table["run_id"][0]
    (res.run_dir(run_id) / "trace.npz").write_bytes(b"not a zip file")
    with pytest.raises(UserError, match=r"trace\.npz is corrupt"):
        res.arrays(run_id, "trace")
    (res.run_dir(run_id) / "meta.json").write_text('{"status": "compl')
    with pytest.raises(UserError, match=r"meta\.json is corrupt"):
        runs.run_status(res.run_dir(run_id))
    # rerunning the sweep names the file instead of a traceback
    _fails_cleanly(capsys, ["sweep", tmp_path / "sweep.yaml", "--out", root, "--executor", "serial"], "meta.json")


def test_broken_checkpoint_offers_restart(tmp_path, capsys):
    out = tmp_path / "o"
    env_key = toy_faults.CRASH_AFTER_ENV
    cfg = _toy(tmp_path, n_steps=50)
    # a run that stopped while running leaves a checkpoint; make it garbage
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "latest.pkl").write_bytes(b"\x80\x05garbage")
    (out / "config.yaml").write_text(
        runs.to_yaml(validate(EXPERIMENTS["toy"].config_model, yaml.safe_load(cfg.read_text())))
    )
    runs.atomic_write_json(out / "meta.json", {"status": "running"})
    assert env_key not in os.environ
    _fails_cleanly(capsys, ["run", cfg, "--out", out, "--resume", "--quiet"], ("latest.pkl", "corrupt", "restart"))


def test_broken_figure_json(tmp_path, capsys):
    fig = tmp_path / "res" / "proof"
    fig.mkdir(parents=True)
    (fig / "figure.json").write_text("{broken")
    _fails_cleanly(capsys, ["figure", "proof", tmp_path / "res"], ("figure.json", "corrupt"))
    (fig / "figure.json").write_text("[1, 2]")
    _fails_cleanly(capsys, ["figure", "proof", tmp_path / "res"], ("figure.json", "corrupt"))


# --------------------------------------------------------------------------- faults
def test_disk_full_during_run(tmp_path, capsys, monkeypatch):
    out = tmp_path / "o"
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] == 4:  # config, meta, first checkpoint ok; then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    _fails_cleanly(capsys, ["run", _toy(tmp_path), "--out", out, "--quiet"], "no space left")
    monkeypatch.undo()
    assert not list(out.rglob("*.tmp")), "no temporary files are left behind"
    assert json.loads((out / "meta.json").read_text())["status"] == "running"
    # once there is space again the run continues
    assert main(["run", str(_toy(tmp_path)), "--out", str(out), "--quiet", "--resume"]) == 0
    assert json.loads((out / "meta.json").read_text())["status"] == "completed"


def test_disk_full_during_sweep(tmp_path, capsys, monkeypatch):
    sw = _write(tmp_path, "name: s\nexperiment: toy\nbase: {n_steps: 5}\ngrid: {seed: [1, 2, 3]}\n", "sweep.yaml")
    argv = ["sweep", sw, "--out", tmp_path / "o", "--executor", "serial", "--quiet"]
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] >= 8:  # the disk fills up during the second run and stays full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    _fails_cleanly(capsys, argv, "no space left")
    monkeypatch.undo()
    assert not list((tmp_path / "o").rglob("*.tmp"))
    assert main([str(a) for a in argv]) == 0  # space again: the sweep completes
    assert "3 of 3 runs completed" in capsys.readouterr().out


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        runs.atomic_write_text(tmp_path / "a.txt", "x")
        os.umask(0o077)
        runs.atomic_write_text(tmp_path / "b.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o600


def test_run_outputs_readable_by_group(tmp_path):
    old = os.umask(0o002)
    try:
        assert main(["run", str(_toy(tmp_path)), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    finally:
        os.umask(old)
    for p in (tmp_path / "o").rglob("*"):
        if p.is_file():
            assert stat.S_IMODE(p.stat().st_mode) == 0o664, p


# --------------------------------------------------------------------------- concurrency
def test_run_directory_is_locked(tmp_path, capsys):
    out = tmp_path / "o"
    with runs.directory_lock(out):
        _fails_cleanly(capsys, ["run", _toy(tmp_path), "--out", out, "--resume"], ("in use by another process", "pid"))
    assert not (out / ".lock").exists()
    assert main(["run", str(_toy(tmp_path)), "--out", str(out), "--quiet"]) == 0


def test_sweep_folder_is_locked(tmp_path, capsys):
    sw = _write(tmp_path, "name: s\nexperiment: toy\n", "sweep.yaml")
    with runs.directory_lock(tmp_path / "sw"):
        _fails_cleanly(capsys, ["sweep", sw, "--out", tmp_path / "sw", "--executor", "serial"], "in use")


def test_progress_lines_in_a_log(monkeypatch):
    from spikealign import progress

    clock = {"t": 0.0}
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock["t"])
    log = io.StringIO()
    bar = progress.Progress(total=100, desc="train", stream=log, unit="epoch")
    for _ in range(100):
        clock["t"] += 1.0  # one epoch per second: a line every 30 s
        bar.update(1)
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines[:3] == [
        "train: 30% (30/100 epoch), 30 s elapsed, about 1 min 10 s left",
        "train: 60% (60/100 epoch), 1 min 0 s elapsed, about 40 s left",
        "train: 90% (90/100 epoch), 1 min 30 s elapsed, about 10 s left",
    ]
    assert lines[3:] == ["train: done 100/100 epoch in 1 min 40 s"]


def test_progress_over_an_iterable_and_quiet(monkeypatch):
    from spikealign.progress import Progress

    log = io.StringIO()
    assert list(Progress(range(3), desc="x", stream=log)) == [0, 1, 2]
    (line,) = log.getvalue().splitlines()
    assert re.fullmatch(r"x: done 3/3 it in \d+\.\d s", line), line
    log = io.StringIO()
    assert list(Progress(range(3), desc="x", stream=log, enabled=False)) == [0, 1, 2]
    assert log.getvalue() == ""


def test_progress_bar_on_a_terminal_leaves_a_summary():
    from spikealign.progress import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    term = Tty()
    with Progress(total=5, desc="sim", stream=term) as bar:
        for _ in range(5):
            bar.update(1)
    text = term.getvalue()
    assert "\r" in text  # the bar was drawn
    assert re.search(r"sim: done 5/5 it in \d+\.\d s$", text.rstrip().splitlines()[-1]), text


def test_run_context_progress_signature(tmp_path):
    ctx = runs.RunContext(tmp_path, 0, show_progress=False)
    bar = ctx.progress(total=4, desc="d", unit="x", leave=True)
    bar.update(4)
    bar.set_postfix(loss=1.0)
    bar.close()
    assert list(ctx.progress(range(2), desc="d")) == [0, 1]
