"""Long runs say early how long they will take: the projection in spikealign.progress, and real runs."""

from __future__ import annotations

import io

from spikealign import progress
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
