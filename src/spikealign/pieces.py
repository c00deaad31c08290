"""Long compiled calls cut into pieces of about a second, so that Ctrl-C and SIGTERM stop a run within seconds.

A signal reaches Python only between bytecodes: a numba call that simulates for an hour keeps the
interrupt waiting for that hour.  Loops that advance a compiled kernel whose state lives in arrays
(so that two calls of n steps give the bits of one call of 2n steps) iterate over :func:`pieces`
instead of calling the kernel once: the pieces start small and double while a piece takes less than
``PIECE_S`` seconds, so a run of any length answers an interrupt after about ``2 * PIECE_S``
seconds, and short runs still end up in a few large calls.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

PIECE_S = 1.0
"""Pieces grow (doubling) while one takes less than this many seconds."""


def pieces(
    start: int, stop: int, *, most: int | None = None, first: int = 1, piece_s: float = PIECE_S
) -> Iterator[tuple[int, int]]:
    """Consecutive ranges ``(a, b)`` covering ``start..stop``, sized by how long the caller takes for each.

    Parameters
    ----------
    start, stop : the range to cover (``stop <= start`` yields nothing).
    most : the largest piece (default: no limit), e.g. a bound on the buffers a piece fills.
    first : the first piece's size.
    piece_s : a piece that took less than this many seconds (the time between two yields) is
        followed by one twice as large (up to ``most``); one that took more than four times as long
        by one half as large.
    """
    size = max(1, int(first) if most is None else min(int(first), int(most)))
    a = int(start)
    while a < stop:
        b = min(int(stop), a + size)
        t0 = time.perf_counter()
        yield a, b
        took = time.perf_counter() - t0
        if took < piece_s:
            size = 2 * size if most is None else min(int(most), 2 * size)
        elif took > 4 * piece_s:
            size = max(1, size // 2)
        a = b
