"""Progress reports that suit where the output goes.

On a terminal a :mod:`tqdm` bar; in a log file (a SLURM job, ``> log``) a plain line at most every
``interval`` seconds with the percentage done and the estimated time left.  Either way a finished
task leaves one summary line (``<desc>: done 1500/1500 in 42.0 s``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

LOG_INTERVAL_S = 30.0


def format_duration(seconds: float) -> str:
    """``'42 s'``, ``'3 min 5 s'``, ``'2 h 4 min'``, ``'3.2 days'``, ``'4.1e+03 years'``."""
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
    return f"{seconds / (365 * 86400):.2g} years"


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
        **tqdm_kw: Any,
    ):
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = 0
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._t0 = time.monotonic()
        self._last_line = self._t0
        self._closed = False
        self._bar = None
        if enabled and _is_tty(self.stream):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, leave=False, file=self.stream, unit=unit, **tqdm_kw)

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
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.enabled:
            now = time.monotonic()
            if now - self._last_line >= self.interval:
                self._last_line = now
                self._write(self.status_line(now))

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
        elapsed = (now if now is not None else time.monotonic()) - self._t0
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            frac = min(1.0, self.n / self.total)
            left = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
            return (
                f"{head}{100 * frac:.0f}% ({_num(self.n)}/{_num(self.total)} {self.unit}), "
                f"{format_duration(elapsed)} elapsed, about {format_duration(left)} left"
            )
        return f"{head}{_num(self.n)} {self.unit}, {format_duration(elapsed)} elapsed"

    def summary_line(self) -> str:
        elapsed = time.monotonic() - self._t0
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
        if self.enabled:
            self._write(self.summary_line())

    def _write(self, line: str) -> None:
        try:
            print(line, file=self.stream, flush=True)
        except (OSError, ValueError):  # a closed or broken log stream never stops a run
            pass

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _num(x: float | None) -> str:
    return "?" if x is None else (f"{x:g}" if isinstance(x, float) and not x.is_integer() else f"{int(x)}")


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
