"""Memory checks before a run allocates: refuse at once what cannot fit, naming the key to reduce.

Every experiment kind may give a memory estimate of a validated config (a *lower bound* of what
the run allocates: a refused config would surely fail, an accepted one may still be large).  The
estimate is compared with the memory available now (``MemAvailable``, and the cgroup limit of a
container or SLURM job when there is one) before anything is written.

Estimates live in one registry, :data:`ESTIMATES`: each family registers those of its kinds with
:func:`register_estimate` when it is imported (next to the kinds, in its ``experiments`` module), as
your own kinds do.  The core knows no family's config fields.  A test measures the peak memory of
every built-in kind at two sizes and checks that its estimate stays within a factor 2 of it.

The memory available is the least of ``MemAvailable``, the cgroup's free memory and, under
``ulimit -v``, the address space left below ``RLIMIT_AS``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

F64 = 8
F32 = 4
PY_FLOAT_IN_LIST = 32  # a float object (24 B) plus its list slot (8 B)
PY_TUPLE2_IN_LIST = 64  # a pair (56 B) plus its list slot
NP_ARRAY_IN_LIST = 104  # a small numpy array's header (at least 96 B) plus its list slot


@dataclass(frozen=True)
class MemoryEstimate:
    """At least ``nbytes`` are needed for ``what``; ``keys`` are the config keys that make it large."""

    nbytes: float
    what: str
    keys: tuple[str, ...]


Estimator = Callable[[Any], list[MemoryEstimate]]
ESTIMATES: dict[str, Estimator] = {}


def register_estimate(kind: str) -> Callable[[Estimator], Estimator]:
    def deco(fn: Estimator) -> Estimator:
        ESTIMATES[kind] = fn
        return fn

    return deco


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def available_memory() -> int | None:
    """Bytes of memory this process can still use (``None`` if unknown)."""
    candidates = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                candidates.append(int(line.split()[1]) * 1024)
                break
    except (OSError, ValueError, IndexError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    cgroup = _cgroup_free()
    if cgroup is not None:
        candidates.append(cgroup)
    address_space = _address_space_free()
    if address_space is not None:
        candidates.append(address_space)
    return min(candidates) if candidates else None


def _address_space_free() -> int | None:
    """Address space left under ``ulimit -v`` (``RLIMIT_AS``): its limit less this process's size."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY or limit < 0:
            return None
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return max(0, limit - int(line.split()[1]) * 1024)
        return limit
    except (ImportError, OSError, ValueError, IndexError):
        return None


def _cgroup_free() -> int | None:
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int((base / "memory.current").read_text().strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None


def check_memory(nbytes: float, what: str, keys: tuple[str, ...] | str, source: str = "config") -> None:
    """Raise :class:`UserError` when ``nbytes`` exceed the memory available now."""
    available = available_memory()
    if available is None or nbytes <= available:
        return
    keys = (keys,) if isinstance(keys, str) else keys
    names = ", ".join(f"'{k}'" for k in keys)
    raise UserError(
        f"{source}: {what} would take at least {format_bytes(nbytes)} of memory, but only {format_bytes(available)} "
        f"is available (the size is set by {names})"
    )


def run_estimate(experiment: Any, config: Any) -> list[MemoryEstimate]:
    """The memory estimate of ``config`` from :data:`ESTIMATES` (the one registry of estimates).

    Raises
    ------
    KeyError
        When the experiment's kind has no registered estimate.
    """
    return ESTIMATES[experiment.kind](config)


def check_run_memory(experiment: Any, config: Any, source: str = "config") -> None:
    """Check the memory estimate of ``config`` against the memory available.

    A kind without an estimate is not checked; an estimate that fails is a bug and propagates.
    """
    if getattr(experiment, "kind", None) not in ESTIMATES:
        return
    for part in run_estimate(experiment, config):
        check_memory(part.nbytes, part.what, part.keys, source)
