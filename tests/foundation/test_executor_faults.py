"""Executors under faults: a killed Dask worker, unreachable clusters, a killed sweep process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from spikealign.cli import main

pytestmark = pytest.mark.end_to_end


def _sweep_file(tmp_path, text: str) -> Path:
    p = tmp_path / "sweep.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_dask_killed_worker_is_a_failed_run(tmp_path):
    pytest.importorskip("dask.distributed")
    import dask

    from spikealign.sweep import DaskExecutor, load_sweep_file, run_sweep

    spec = load_sweep_file(
        _sweep_file(tmp_path, "name: s\nexperiment: toy-faults\nbase: {n_steps: 5}\ngrid: {crash: [false, true]}\n")
    )
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        executor = DaskExecutor(workers=2)
        try:
            result = run_sweep(spec, tmp_path / "out", executor=executor, show_progress=False)
        finally:
            executor.close()
    table = result.table.set_index("crash")
    assert table.loc[False, "status"] == "completed"
    assert table.loc[True, "status"] == "failed"
    assert "KilledWorker" in table.loc[True, "error"]
    assert (tmp_path / "out" / "table.csv").is_file()


def _fails_fast(capsys, argv, expected):
    t0 = time.monotonic()
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and expected in err, err
    return time.monotonic() - t0


def test_scheduler_pointing_at_nothing(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    sw = _sweep_file(tmp_path, "name: s\nexperiment: toy\n")
    _fails_fast(capsys, ["sweep", sw, "--out", tmp_path / "o", "--scheduler", "tcp://127.0.0.1:9"], "--scheduler")
    assert not (tmp_path / "o").exists()


def test_slurm_without_sbatch(tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("PATH", str(tmp_path))
    sw = _sweep_file(tmp_path, "name: s\nexperiment: toy\n")
    _fails_fast(capsys, ["sweep", sw, "--out", tmp_path / "o", "--slurm"], "sbatch")
    assert not (tmp_path / "o").exists()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_local_workers_exit_when_the_sweep_is_killed(tmp_path):
    sw = tmp_path / "sweep.yaml"
    base = {"n_steps": 15_000_000, "n_walkers": 1, "checkpoint_every": 10**8}  # about 20 s per run
    sw.write_text(yaml.safe_dump({"name": "s", "experiment": "toy", "base": base, "grid": {"seed": [1, 2]}}))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    argv = [sys.executable, "-m", "spikealign.cli", "sweep", str(sw), "--out", str(tmp_path / "o"), "--workers", "2"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list((tmp_path / "o" / "runs").glob("*/meta.json"))) < 2:
            time.sleep(0.2)
        workers = [c for c in _children(proc.pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert workers, "no worker processes found"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not [w for w in workers if _alive(w)], "orphaned workers still running"
    finally:
        if proc.poll() is None:
            proc.kill()
