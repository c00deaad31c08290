"""Benchmark ``startup``: how long the command line takes before and around the work it does.

Measured as whole processes (median of repeats, wall clock), each a fresh interpreter:

- ``spikealign --help`` and ``spikealign info`` (target: under 1 s each);
- the fixed per-run overhead of ``spikealign run examples/microcircuit.yaml``: process wall time
  minus the run's own wall time recorded in its ``meta.json`` (simulation and figures);
  target: under 0.5 s.  The same for ``examples/toy.yaml``;
- when the reference implementation's ``example.yaml`` is in ``tests/fixtures/reference/`` (a
  checkout of the repository), the whole process ``spikealign run`` on it (with its two
  diagnostic figures, and once more with ``--set figures=false`` to show what the figures cost),
  compared with the reference's ~108 s on the same kind of machine (the target is at least
  100x, i.e. about 1.08 s).  Whoever timed the reference on their own machine sets
  ``SPIKEALIGN_REFERENCE_EXAMPLE_S`` to that number of seconds;
- the floor of the software stack such a run stands on: a process that imports numpy, pydantic
  and yaml, calls one cached numba function (which loads numba's runtime) and saves one small
  matplotlib figure as PNG.  No run that simulates with numba and draws a figure can be faster,
  so ``reference / floor`` is the largest ratio this machine allows.

Every process is timed in wall and CPU seconds (user + system): on a busy machine wall times grow
with the load, CPU times much less; on an idle machine the wall time of these single-threaded
processes is close to their CPU time.  The 1-minute load average is recorded with each number.

Baselines measured in the same run: the interpreter's own start (``python -c pass``) and the
eager path every command took before families were loaded on demand (importing every family,
torch included: ``spikealign.registry.load_all()``).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import spikealign
from spikealign.errors import UserError

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
REFERENCE_EXAMPLE = REPO / "tests" / "fixtures" / "reference" / "microcircuits" / "example.yaml"
#: the reference implementation on example.yaml, whole process, 2-core VM (the issue's number)
REFERENCE_EXAMPLE_S = 108.0
MAX_REFERENCE_S = 1e6  # 11.6 days: longer is a typo (and 1.7e308 would make every ratio infinite)
REFERENCE_ENV = "SPIKEALIGN_REFERENCE_EXAMPLE_S"  # the reference as timed on this machine, in seconds
#: the stack floor: what every simulating, figure-drawing run imports and does at least once
STACK_FLOOR_SCRIPT = """
import numpy as np, pydantic, yaml
import numba

@numba.njit(cache=True)
def total(x):
    return x.sum()

total(np.ones(3))
import matplotlib
matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

fig = Figure(figsize=(4, 3))
FigureCanvasAgg(fig)
fig.add_subplot().plot([1, 2, 3])
fig.savefig("floor.png", dpi=200)
import os

os._exit(0)  # as the spikealign program ends: without the interpreter's teardown
"""
TARGETS = {"help_s": 1.0, "info_s": 1.0, "microcircuit_overhead_s": 0.5}
TARGET_REFERENCE_RATIO = 100.0  # example.yaml: whole process at least 100x faster than the reference


def _env() -> dict[str, str]:
    src = str(Path(spikealign.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


def _process(args: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one fresh interpreter running ``args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, *args], cwd=cwd, env=_env(), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _median_process(args: list[str], cwd: Path, repeats: int) -> dict[str, float]:
    """Median wall and CPU seconds (CPU time shows the cost on a busy machine, where wall time grows)."""
    times = [_process(args, cwd) for _ in range(repeats)]
    return {"wall_s": statistics.median(t[0] for t in times), "cpu_s": statistics.median(t[1] for t in times)}


def _load() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _run_overhead(config: Path, cwd: Path, repeats: int, extra: tuple[str, ...] = ()) -> dict[str, float]:
    """Median process wall, run wall (meta.json) and their difference for ``spikealign run config``."""
    walls, cpus, inner = [], [], []
    load = _load()
    for i in range(repeats):
        out = cwd / f"{config.stem}-{len(list(cwd.iterdir()))}-{i}"
        args = ["-m", "spikealign.cli", "run", str(config), "--out", str(out), "--quiet", *extra]
        wall, cpu = _process(args, cwd)
        walls.append(wall)
        cpus.append(cpu)
        inner.append(json.loads((out / "meta.json").read_text())["wall_time_s"])
    overheads = [w - r for w, r in zip(walls, inner, strict=True)]
    return {
        "process_s": statistics.median(walls),
        "process_cpu_s": statistics.median(cpus),
        "run_s": statistics.median(inner),
        "overhead_s": statistics.median(overheads),
        "repeats": repeats,
        "load_average_1min": [load, _load()],
    }


def _stack_floor(cwd: Path, repeats: int) -> dict[str, float]:
    """Median wall and CPU seconds of :data:`STACK_FLOOR_SCRIPT` (its numba cache warmed first)."""
    script = cwd / "stack_floor.py"
    script.write_text(STACK_FLOOR_SCRIPT)
    _process([str(script)], cwd)  # compiles into the numba cache
    return _median_process([str(script)], cwd, repeats)


def _reference_seconds() -> float:
    """``$SPIKEALIGN_REFERENCE_EXAMPLE_S`` when set (a positive number), else :data:`REFERENCE_EXAMPLE_S`."""
    text = os.environ.get(REFERENCE_ENV, "").strip()
    if not text:
        return REFERENCE_EXAMPLE_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= MAX_REFERENCE_S:
        raise UserError(f"{REFERENCE_ENV}={text!r} is not a number of seconds in (0, {MAX_REFERENCE_S:g}]")
    return seconds


def _reference_example(cwd: Path, repeats: int, reference_s: float) -> dict:
    """``spikealign run example.yaml`` as a whole process, with and without its figures, vs the reference."""
    with_figures = _run_overhead(REFERENCE_EXAMPLE, cwd, repeats)
    without = _run_overhead(REFERENCE_EXAMPLE, cwd, repeats, ("--set", "figures=false"))
    floor = _stack_floor(cwd, repeats)
    return {
        **with_figures,
        "without_figures": without,
        "figures_s": with_figures["process_s"] - without["process_s"],
        "reference_implementation_s": reference_s,
        "ratio_vs_reference": reference_s / with_figures["process_s"],
        "ratio_vs_reference_cpu": reference_s / with_figures["process_cpu_s"],
        "ratio_vs_reference_without_figures": reference_s / without["process_s"],
        "target_ratio": TARGET_REFERENCE_RATIO,
        "stack_floor": floor,
        "largest_ratio_the_stack_allows": reference_s / floor["wall_s"],
        "above_floor_s": with_figures["process_s"] - floor["wall_s"],
    }


def run(quick: bool = False) -> dict:
    repeats = 2 if quick else 5
    reference_s = _reference_seconds()  # a bad value is an error before anything is measured
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        python_start = _median_process(["-c", "pass"], cwd, repeats)
        eager = _median_process(["-c", "from spikealign.registry import load_all; load_all()"], cwd, repeats)
        help_s = _median_process(["-m", "spikealign.cli", "--help"], cwd, repeats)
        info_s = _median_process(["-m", "spikealign.cli", "info"], cwd, repeats)
        _run_overhead(EXAMPLES / "microcircuit.yaml", cwd, 1)  # warm-up: numba cache, page cache
        micro = _run_overhead(EXAMPLES / "microcircuit.yaml", cwd, repeats)
        toy = _run_overhead(EXAMPLES / "toy.yaml", cwd, repeats)
        details: dict = {
            "python_start": python_start,
            "eager_import_all_families": eager,
            "help": help_s,
            "info": info_s,
            "microcircuit_example": micro,
            "toy_example": toy,
            "targets_s": TARGETS,
            "load_average_1min": {"before": load_before, "after": _load()},
            "cpu_count": os.cpu_count(),
        }
        if REFERENCE_EXAMPLE.is_file():
            details["reference_example_yaml"] = _reference_example(cwd, repeats, reference_s)
    details["targets_met"] = {
        "help_s": help_s["wall_s"] < TARGETS["help_s"],
        "info_s": info_s["wall_s"] < TARGETS["info_s"],
        "microcircuit_overhead_s": micro["overhead_s"] < TARGETS["microcircuit_overhead_s"],
    }
    if "reference_example_yaml" in details:
        ratio = details["reference_example_yaml"]["ratio_vs_reference"]
        details["targets_met"]["reference_example_ratio"] = ratio >= TARGET_REFERENCE_RATIO
    return {
        "metric": "fixed per-run overhead of `spikealign run examples/microcircuit.yaml` (process wall - run wall)",
        "value": micro["overhead_s"],
        "unit": "s",
        "baseline": {"what": "eager import of every family (the old start of every command)", "value": eager["wall_s"]},
        "ratio": eager["wall_s"] / micro["overhead_s"],
        "details": details,
    }
