"""Long runs say early how long they will take: the projection in spikealign.progress, and real runs."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spikealign import progress, runs
from spikealign.progress import Progress


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _lines(log: io.StringIO) -> list[str]:
    return log.getvalue().splitlines()


def test_projection_is_written_once_after_the_first_seconds_of_a_long_task():
    clock, log = FakeClock(), io.StringIO()
    bar = Progress(total=10_000, desc="train", stream=log, unit="epoch", clock=clock)
    clock.t += 1.0
    bar.update(4)  # 4 epochs/s, but too early to project
    assert _lines(log) == []
    clock.t += 4.0
    bar.update(16)  # 20 epochs in 5 s: 9980 left at 4/s = 2495 s
    assert _lines(log) == ["train: projected duration about 41 min 35 s (9980/10000 epoch left at 4 epoch/s)"]
    clock.t += 5.0
    bar.update(20)
    assert len(_lines(log)) == 1  # only once


def test_no_projection_for_a_short_task_or_without_a_total():
    for total in (1000, None):  # 1000 epochs at 4/s: 245 s left, under the threshold of 300 s
        clock, log = FakeClock(), io.StringIO()
        bar = Progress(total=total, desc="t", stream=log, unit="epoch", clock=clock, interval=1e9)
        clock.t += progress.PROJECT_AFTER_S
        bar.update(20)
        clock.t += 10.0
        bar.update(40)
        assert _lines(log) == []


def test_projection_of_a_resumed_task_counts_only_this_session():
    clock, log = FakeClock(), io.StringIO()
    bar = Progress(total=10**12, desc="ssn", stream=log, unit="cycle", clock=clock, initial=500, interval=1e9)
    clock.t += 10.0
    bar.update(20)  # 2 cycles/s since the restart; 500 were done before
    (line,) = _lines(log)
    assert line == "ssn: projected duration about 15855 years (1e+12/1e+12 cycle left at 2 cycle/s)"
    assert bar.seconds_left(clock.t) == (10**12 - 520) / 2.0


def test_fractional_updates_finish_with_done():
    clock, log = FakeClock(), io.StringIO()
    bar = Progress(total=2, desc="deep", stream=log, unit="epoch", clock=clock)
    for epoch in range(2):
        for b in range(3):
            bar.update_to(epoch + (b + 1) / 3)
        bar.update_to(epoch + 1)
    clock.t += 2.0
    bar.close()
    assert _lines(log) == ["deep: done 2/2 epoch in 2.0 s"]


def test_projection_on_a_terminal_is_written_above_the_bar():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    clock, term = FakeClock(), Tty()
    with Progress(total=10**6, desc="sim", stream=term, clock=clock) as bar:
        clock.t += 6.0
        bar.update(6)
    text = term.getvalue()
    assert "sim: projected duration about 11.6 days (999994/1000000 it left at 1 it/s)" in text
    assert text.rstrip().splitlines()[-1].endswith("sim: stopped at 6/1000000 it in 6.0 s")


# --------------------------------------------------------------------------- real runs, killed after the projection
SRC = Path(__file__).resolve().parents[2] / "src"
WAIT_S = 120.0  # bound on start-up (imports, numba cache) plus the first PROJECT_AFTER_S seconds


def _start_until_projection(tmp_path: Path, kind: str, sets: list[str]) -> tuple[str, Path]:
    """Run ``kind`` in a subprocess with stderr to a file (not a terminal) until it projects its duration,
    then kill it (-9); the projection line and the run folder."""
    (tmp_path / "c.yaml").write_text(f"kind: {kind}\n")
    out, err_path = tmp_path / "run", tmp_path / "stderr.log"
    argv = [sys.executable, "-m", "spikealign.cli", "run", "c.yaml", "--out", str(out)]
    for s in sets:
        argv += ["--set", s]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    with open(err_path, "w") as err:
        proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and proc.poll() is None:
            lines = [x for x in err_path.read_text().splitlines() if "projected duration" in x]
            if lines:
                return lines[0], out
            time.sleep(0.5)
        raise AssertionError(f"no projection within {WAIT_S} s (exit {proc.poll()}): {err_path.read_text()[-2000:]}")
    finally:
        proc.kill()
        proc.wait()


def _assert_consistent_killed_run(out: Path) -> None:
    assert runs.run_status(out) == "running"  # what a killed run leaves
    for path in out.rglob("*.json"):
        json.loads(path.read_text())  # every finished file is whole (writes are atomic)


LONG_RUNS = [
    # records every 1e11 cycles: with validations every 100 cycles the records alone would not fit in memory
    pytest.param("ssn", ["schedule.num_epochs=1000000000000", "schedule.val_step=100000000000"], "years", id="ssn"),
    pytest.param("ssn", ["schedule.dur=1000000000"], "h|days|years", id="ssn-one-long-cycle"),
    pytest.param("microcircuit", ["student.num_epochs=20000"], "min|h|days", id="microcircuit"),
]


@pytest.mark.parametrize("kind, sets, scale", LONG_RUNS)
def test_long_run_starts_and_projects_its_duration(tmp_path, kind, sets, scale):
    line, out = _start_until_projection(tmp_path, kind, sets)
    pattern = rf"projected duration about [0-9.e+]+ (\S+ )?(?:{scale})\b.* left at [0-9.e+]+ \w+/s\)"
    assert re.search(pattern, line), line
    _assert_consistent_killed_run(out)


def test_deep_run_of_1e12_epochs_starts_and_projects_its_duration(tmp_path):
    pytest.importorskip("torch")
    from spikealign.deep.data import missing_dataset_message

    if missing_dataset_message("mnist5k", None):
        pytest.skip("the mnist5k dataset is not available")
    sets = ["n_epochs=1000000000000", "max_train=256", "max_test=64", "batch_size=32", "threads=1"]
    line, out = _start_until_projection(tmp_path, "deep", sets)
    assert re.search(r"^deep bp: projected duration about [0-9.e+]+ years \(1e\+12/1e\+12 epoch left", line), line
    _assert_consistent_killed_run(out)


def test_microcircuit_of_1e12_epochs_is_refused_naming_the_key(tmp_path, capsys):
    # every pattern's outputs and weights are recorded: such a run could never finish, so it is refused up front
    from spikealign.cli import main

    (tmp_path / "c.yaml").write_text("kind: microcircuit\n")
    argv = ["run", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o"), "--set", "student.num_epochs=1000000000000"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'student.num_epochs'" in err and "2.6e+13 patterns" in err, err
    assert not (tmp_path / "o").exists()
