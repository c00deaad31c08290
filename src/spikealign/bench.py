"""Benchmark runner: executes ``benchmarks/bench_<name>.py`` modules and writes JSON results.

Each benchmark module defines ``run(quick: bool = False) -> dict`` returning at least
``metric``, ``value``, ``unit``, ``baseline`` ({"what", "value"}) and ``ratio``.  The runner adds
machine information and writes ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import time
from pathlib import Path
from typing import Any

from .errors import UserError
from .runs import _now, atomic_write_json, git_sha, library_versions


def benchmarks_dir() -> Path:
    """The repository's ``benchmarks/`` folder (next to ``src/``), else ``./benchmarks``."""
    here = Path(__file__).resolve().parents[2] / "benchmarks"
    if here.is_dir():
        return here
    cwd = Path.cwd() / "benchmarks"
    if cwd.is_dir():
        return cwd
    raise UserError("benchmarks/ folder not found: run from a checkout of the spikealign repository")


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in benchmarks_dir().glob("bench_*.py"))


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "host": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    try:
        import torch

        info["cuda"] = torch.cuda.is_available()
        if info["cuda"]:
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        info["cuda"] = False
    return info


def run_benchmark(name: str, *, quick: bool = False, out_dir: Path | None = None) -> dict[str, Any]:
    path = benchmarks_dir() / f"bench_{name}.py"
    if not path.is_file():
        raise UserError(f"unknown benchmark {name!r} (available: {', '.join(available()) or 'none'})")
    spec = importlib.util.spec_from_file_location(f"spikealign_bench_{name}", path)
    assert spec is not None and spec.loader is not None  # a .py file always has a spec and a loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    t0 = time.perf_counter()
    result = dict(module.run(quick=quick))
    for key in ("metric", "value", "unit"):
        if key not in result:
            raise RuntimeError(f"benchmark {name} returned no {key!r}")
    result = {
        "name": name,
        **result,
        "quick": quick,
        "bench_wall_time_s": round(time.perf_counter() - t0, 2),
        "machine": machine_info(),
        "versions": library_versions(),
        "git_sha": git_sha(),
        "time": _now(),
    }
    out = (out_dir or benchmarks_dir() / "results") / f"{name}.json"
    atomic_write_json(out, result)
    result["path"] = str(out)
    return result
