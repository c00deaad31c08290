"""Progress reports that suit where the output goes.

On a terminal a :mod:`tqdm` bar; in a log file (a SLURM job, ``> log``) a plain line at most every
``interval`` seconds with the percentage done and the estimated time left.  Either way a finished
task leaves one summary line (``<desc>: done 1500/1500 in 42.0 s``).

A long task also says early how long it will take: once ``PROJECT_AFTER_S`` seconds have passed,
the first update projects the time left from the rate so far, and if that exceeds ``PROJECT_MIN_S``
one line ``<desc>: projected duration about 3 h 5 min (1200/1500 epoch left at 0.11 epoch/s)`` is
written (on a terminal above the bar), so a run of days or years never starts silently.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from .errors import raise_if_stop_requested

LOG_INTERVAL_S = 30.0
PROJECT_AFTER_S = 5.0  # measure the rate over this long before projecting the duration
PROJECT_MIN_S = 300.0  # announce the projected duration of tasks with more time left than this


def format_duration(seconds: float) -> str:
    """``'42 s'``, ``'3 min 5 s'``, ``'2 h 4 min'``, ``'3.2 days'``, ``'4100 years'``, ``'2.1e+07 years'``."""
    if seconds != seconds or seconds < 0:  # NaN
        return "?"
    if seconds < 60:
        return f"{seconds:.1f} s" if round(seconds, 1) < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    if seconds < 365 * 86400:
        return f"{seconds / 86400:.1f} days"
    years = seconds / (365 * 86400)
    return f"{years:.1f} years" if years < 10 else (f"{years:.0f} years" if years < 1e5 else f"{years:.2g} years")


class Progress:
    """A progress report over ``iterable`` or ``total`` steps: iterate it or call :meth:`update`."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: float | None = None,
        desc: str = "",
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float = LOG_INTERVAL_S,
        unit: str = "it",
        initial: float = 0,
        clock: Callable[[], float] | None = None,
        **tqdm_kw: Any,
    ):
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total = total
        self.desc = desc
        self.unit = unit
        self.initial = initial  # done before this task started (a resumed run): not counted in the rate
        self.n = initial
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._clock = clock if clock is not None else time.monotonic
        self._t0 = self._clock()
        self._last_line = self._t0
        self._projected = False
        self._closed = False
        self._bar = None
        if enabled and _is_tty(self.stream):
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total, desc=desc, leave=False, file=self.stream, unit=unit, initial=initial, **tqdm_kw
            )

    # iteration and counting
    def __iter__(self) -> Iterator:
        if self.iterable is None:
            raise TypeError("this progress report has no iterable; call update(n) instead")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        return int(self.total or 0)

    def update(self, n: float = 1) -> None:
        raise_if_stop_requested()  # a SIGTERM whose exception was dropped inside a compiled call's callback
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        if not self.enabled or (self._bar is not None and self._projected):
            return
        now = self._clock()
        if not self._projected and now - self._t0 >= PROJECT_AFTER_S:
            self._projected = True
            line = self.projection_line(now)
            if line:
                self._write(line)
        if self._bar is None and now - self._last_line >= self.interval:
            self._last_line = now
            self._write(self.status_line(now))

    def update_to(self, n: float) -> None:
        """Set the count to ``n`` (e.g. fractional epochs)."""
        self.update(n - self.n)

    def seconds_left(self, now: float | None = None) -> float:
        """The time left at the rate so far (NaN before any progress or without a total)."""
        elapsed = (now if now is not None else self._clock()) - self._t0
        done = self.n - self.initial
        if not self.total or done <= 0 or elapsed <= 0:
            return float("nan")
        return max(0.0, self.total - self.n) * elapsed / done

    def projection_line(self, now: float | None = None) -> str | None:
        """``'<desc>: projected duration about 3 h 5 min (1200/1500 epoch left at 0.11 epoch/s)'``, or ``None``
        when the time left is unknown or under ``PROJECT_MIN_S``."""
        at = now if now is not None else self._clock()
        left = self.seconds_left(at)
        if self.total is None or not left >= PROJECT_MIN_S:  # also NaN (an unknown total gives NaN)
            return None
        rate = (self.n - self.initial) / (at - self._t0)
        head = f"{self.desc}: " if self.desc else ""
        todo = f"{_num(self.total - self.n)}/{_num(self.total - self.initial)}"
        return (
            f"{head}projected duration about {format_duration(left)} "
            f"({todo} {self.unit} left at {rate:.3g} {self.unit}/s)"
        )

    def set_postfix(self, *args: Any, **kw: Any) -> None:
        if self._bar is not None:
            self._bar.set_postfix(*args, **kw)

    def set_description(self, desc: str) -> None:
        self.desc = desc
        if self._bar is not None:
            self._bar.set_description(desc)

    def refresh(self) -> None:
        if self._bar is not None:
            self._bar.refresh()

    # lines
    def status_line(self, now: float | None = None) -> str:
        """``'<desc>: 42% (420/1000 it), 1 min 10 s elapsed, about 1 min 36 s left'``."""
        now = now if now is not None else self._clock()
        elapsed = now - self._t0
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            frac = min(1.0, self.n / self.total)
            left = self.seconds_left(now)
            return (
                f"{head}{100 * frac:.0f}% ({_num(self.n)}/{_num(self.total)} {self.unit}), "
                f"{format_duration(elapsed)} elapsed, about {format_duration(left)} left"
            )
        return f"{head}{_num(self.n)} {self.unit}, {format_duration(elapsed)} elapsed"

    def summary_line(self) -> str:
        elapsed = self._clock() - self._t0
        head = f"{self.desc}: " if self.desc else ""
        count = f"{_num(self.n)}/{_num(self.total)}" if self.total else _num(self.n)
        state = "done" if not self.total or self.n >= self.total else "stopped at"
        return f"{head}{state} {count} {self.unit} in {format_duration(elapsed)}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.enabled:
            self._write(self.summary_line())

    def announce(self, seconds_left: float, detail: str) -> None:
        """Say now that the task will take about ``seconds_left`` (for tasks whose first update comes late:
        one compiled call per step); no line for tasks shorter than ``PROJECT_MIN_S``."""
        if not self.enabled or self._projected or seconds_left <= PROJECT_MIN_S:
            return
        self._projected = True
        head = f"{self.desc}: " if self.desc else ""
        self._write(f"{head}projected duration about {format_duration(seconds_left)} ({detail})")

    def _write(self, line: str) -> None:
        try:
            if self._bar is not None:
                self._bar.write(line, file=self.stream)
                self.stream.flush()
                return
            print(line, file=self.stream, flush=True)
        except (OSError, ValueError):  # a closed or broken log stream never stops a run
            pass

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _num(x: float | None) -> str:
    """``'420'``, ``'3.5'``, ``'1e+12'`` (counts of ten million and more in three digits)."""
    if x is None:
        return "?"
    if abs(x) >= 1e7:
        return f"{x:.3g}"
    return f"{x:.3g}" if isinstance(x, float) and not x.is_integer() else f"{int(x)}"


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
