"""Measure a run's peak memory: ``python peak_memory.py KIND WARMUP_JSON RUN_JSON`` prints JSON.

The warm-up config runs first (it compiles the kernels and fills the caches), then the peak
resident size is reset (``/proc/self/clear_refs``) and the measured config runs; the peak
increase over the resident size before it is what the run allocated.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from spikealign.config import validate
from spikealign.registry import get_experiment
from spikealign.resources import run_estimate
from spikealign.runs import execute_run


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def measure(kind: str, warmup: dict, sized: dict) -> dict:
    experiment = get_experiment(kind)
    with tempfile.TemporaryDirectory() as tmp:
        if warmup is not None:
            config = validate(experiment.config_model, {"kind": kind, **warmup})
            execute_run(experiment, config, Path(tmp) / "warm", show_progress=False)
        config = validate(experiment.config_model, {"kind": kind, **sized})
        estimate = sum(part.nbytes for part in run_estimate(experiment, config))
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident size
        base = _status("VmRSS")
        execute_run(experiment, config, Path(tmp) / "run", show_progress=False)
        peak = _status("VmHWM") - base
    return {"kind": kind, "config": sized, "estimate": estimate, "peak": peak, "ratio": estimate / peak}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]))))
