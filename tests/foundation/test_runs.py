"""Run directories, atomic writes, resuming killed runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import toy_faults
from spikealign import runs
from spikealign.cli import main
from user_errors import assert_user_error


def _toy(tmp_path, **kw):
    cfg = {"kind": "toy", "seed": 11, "n_steps": 60, "n_walkers": 3, "checkpoint_every": 10, **kw}
    p = tmp_path / "toy.yaml"
    p.write_text(yaml.safe_dump(cfg))
    return p


def test_run_directory_contents(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(_toy(tmp_path)), "--out", str(out), "--quiet"]) == 0
    assert str(out) in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {"config.yaml", "meta.json", "metrics.json", "trace.npz", "figures", "checkpoints"} <= names
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "completed" and meta["seed"] == 11 and meta["experiment"] == "toy"
    for key in ("versions", "git_sha", "host", "start_time", "end_time", "wall_time_s"):
        assert key in meta
    assert meta["versions"]["numpy"] == np.__version__
    metrics = json.loads((out / "metrics.json").read_text())
    trace = np.load(out / "trace.npz")["trace"]
    assert trace.shape == (60, 3)
    assert metrics["summary"]["mean_final"] == pytest.approx(trace[-1].mean())
    assert not [p for p in out.rglob("*.tmp")]


def test_same_seed_same_bits(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    cfg = _toy(tmp_path)
    assert main(["run", str(cfg), "--out", str(a), "--quiet"]) == 0
    assert main(["run", str(cfg), "--out", str(b), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(a / "trace.npz")["trace"], np.load(b / "trace.npz")["trace"])
    c = tmp_path / "c"
    assert main(["run", str(cfg), "--out", str(c), "--quiet", "--set", "seed=12"]) == 0
    assert not np.array_equal(np.load(a / "trace.npz")["trace"], np.load(c / "trace.npz")["trace"])


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "data.json"
    runs.atomic_write_json(target, {"old": True})

    real_fdopen = os.fdopen

    class Exploding:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()
            return False

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            raise KeyboardInterrupt  # killed in the middle of the write

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Exploding(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        runs.atomic_write_json(target, {"new": list(range(1000))})
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


def test_resume_killed_run_equals_uninterrupted(tmp_path, capsys):
    cfg = _toy(tmp_path, kind="toy-faults")
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert main(["run", str(cfg), "--out", str(full), "--quiet"]) == 0

    env = dict(os.environ, **{toy_faults.CRASH_AFTER_ENV: "35"})
    cmd = [sys.executable, str(toy_faults.CLI), "run", str(cfg), "--out", str(killed), "--quiet"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 17, proc.stderr
    assert runs.run_status(killed) == "running"
    assert not (killed / "trace.npz").exists()
    # the last checkpoint is at step 30: the run continues from there
    assert main(["run", str(cfg), "--out", str(killed), "--quiet"]) == 2  # refuses without --resume
    assert_user_error(capsys.readouterr().err, key="--resume", category="interrupted run")
    assert main(["run", str(cfg), "--out", str(killed), "--quiet", "--resume"]) == 0
    np.testing.assert_array_equal(np.load(full / "trace.npz")["trace"], np.load(killed / "trace.npz")["trace"])
    meta = json.loads((killed / "meta.json").read_text())
    assert meta["status"] == "completed" and meta["attempts"] == 2


def test_resume_refuses_changed_config(tmp_path, capsys):
    out = tmp_path / "r"
    cfg = _toy(tmp_path)
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["run", str(cfg), "--out", str(out), "--quiet", "--resume", "--set", "drift=1"]) == 2
    assert_user_error(capsys.readouterr().err, key="drift", category="changed config")


def test_seed_streams_are_stable_across_processes():
    from spikealign import seeding

    code = "from spikealign import seeding; print(seeding.rng(5, 'walk').integers(0, 2**62, 3).tolist())"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env=dict(os.environ, PYTHONHASHSEED=h),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for h in ("1", "2")
    }
    assert len(outs) == 1
    assert outs.pop().strip() == str(seeding.rng(5, "walk").integers(0, 2**62, 3).tolist())
    a = seeding.rng(5, "walk").standard_normal(20000)
    b = seeding.rng(5, "noise").standard_normal(20000)
    # independent streams: |corr| below 5 standard errors (1/sqrt(n))
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(20000)
    seeds = seeding.replica_seeds(5, 64, "replicas")
    assert len(set(seeds.tolist())) == 64


def test_the_package_ships_no_fault_injection():
    """Faults (raise, crash, kill after N steps) are the test-only kind toy-faults, not part of toy."""
    import spikealign
    from spikealign import families
    from spikealign.experiments.toy import ToyConfig

    assert not {"fail", "crash"} & set(ToyConfig.model_fields)
    assert toy_faults.KIND not in families.EXPERIMENT_KINDS
    package = Path(spikealign.__file__).parent
    hooks = [p.relative_to(package) for p in package.rglob("*.py") if "CRASH_AFTER" in p.read_text()]
    assert hooks == []
