"""An interrupt inside a long compiled call is answered within seconds, and the run resumes to the same numbers.

A signal reaches Python only between compiled calls; the kinds whose single calls grew with the
config (theory-spiking-sal: 50 epochs a call; sal-network: one call per record interval) now call
their kernels in pieces of about a second (:func:`spikealign.pieces.pieces`).  The configs below
take about 10 s of CPU; before the pieces each was one compiled call of that length.  SIGINT takes
the same path as SIGTERM (both end in ``KeyboardInterrupt``): its cases are marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from spikealign import runs
from spikealign.cli import main
from spikealign.pieces import pieces

SRC = Path(__file__).resolve().parents[2] / "src"

LONG_CALLS = {
    "theory-spiking-sal": ({"n_epochs": 40, "epoch_steps": 3_500_000}, "trajectory.npz", ("w", "rates")),
    "sal-network": (
        {"n_neurons": 60, "duration_ms": 1_000_000.0, "record_interval_ms": 1_000_000.0, "figures": False},
        "asymmetry.npz",
        None,
    ),
}
ANSWER_S = 5.0
"""An interrupt is answered within this many seconds (a piece takes at most about 2 s)."""


class _Clock:
    """A stand-in for ``time.perf_counter`` whose readings the test sets."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_pieces_cover_the_range_and_follow_the_time_a_piece_takes(monkeypatch):
    from spikealign import pieces as module

    clock = _Clock()
    monkeypatch.setattr(module.time, "perf_counter", clock)
    sizes, covered = [], []
    durations = iter([0.1, 0.1, 0.1, 0.5, 1.5, 5.0, 5.0, 0.1] + [0.1] * 100)
    for a, b in pieces(3, 200, most=16, first=1, piece_s=1.0):
        covered.extend(range(a, b))
        sizes.append(b - a)
        clock.now += next(durations)
    assert covered == list(range(3, 200))
    # doubling while under 1 s (capped at 16), kept between 1 and 4 s, halved above 4 s
    assert sizes[:9] == [1, 2, 4, 8, 16, 16, 8, 4, 8]
    assert list(pieces(5, 5)) == [] and list(pieces(0, 3, most=10, first=50)) == [(0, 3)]


def _data_of(path: Path) -> dict[str, np.ndarray]:
    return dict(runs.load_npz(path))


@pytest.mark.end_to_end
@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
@pytest.mark.parametrize("kind", sorted(LONG_CALLS))
def test_an_interrupt_inside_a_long_call_is_answered_within_seconds(tmp_path, kind, sig):
    sets, result, keys = LONG_CALLS[kind]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"kind": kind, **sets}))
    out = tmp_path / "o"
    argv = [sys.executable, "-m", "spikealign.cli", "run", str(cfg), "--out", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "meta.json").is_file():
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it started"
        time.sleep(0.05)
    time.sleep(2.0)  # well inside the simulation (about 10 s)
    assert proc.poll() is None, "the run ended before the signal"
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    answered = time.monotonic() - sent
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), err
    assert answered < ANSWER_S, f"{kind}: the interrupt took {answered:.1f} s"
    assert json.loads((out / "meta.json").read_text())["status"] == "interrupted"
    assert "--resume" in err and not (out / result).exists()
    # --resume finishes it with the numbers of an uninterrupted run
    assert main(["run", str(cfg), "--out", str(out), "--quiet", "--resume"]) == 0
    assert main(["run", str(cfg), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    got, want = _data_of(out / result), _data_of(tmp_path / "whole" / result)
    assert sorted(got) == sorted(want)
    for key in keys or sorted(want):
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped exception
def test_a_sigterm_whose_exception_is_dropped_stops_the_run_at_its_next_progress_report():
    """The JIT compiler runs Python callbacks through ctypes, which print and drop an exception raised
    in them: a SIGTERM that lands there must still stop the run (it once ran on to 'completed')."""
    import ctypes

    from spikealign.cli import _sigterm_as_interrupt
    from spikealign.errors import Terminated
    from spikealign.progress import Progress

    def callback() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)  # the handler runs here, inside the callback: ctypes drops its exception

    bar = Progress(total=3, enabled=False)
    with pytest.raises(Terminated), _sigterm_as_interrupt():
        ctypes.CFUNCTYPE(None)(callback)()  # prints "Exception ignored on calling ctypes callback"
        bar.update(1)
    assert bar.n == 0
    bar.update(1)  # outside the command the request is forgotten
    assert bar.n == 1
