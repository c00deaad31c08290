"""Measure the peak memory of runs: ``python peak_memory.py KIND WARMUP_JSON SIZED_JSON...`` prints JSON lines.

The warm-up config runs first (it compiles the kernels and fills the caches); then, for each
sized config, the peak resident size is reset (``/proc/self/clear_refs``) and the run's peak
increase over the resident size before it is compared with its memory estimate.
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


def measure(kind: str, warmup: dict, sized: list[dict]) -> list[dict]:
    experiment = get_experiment(kind)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        config = validate(experiment.config_model, {"kind": kind, **warmup})
        execute_run(experiment, config, Path(tmp) / "warm", show_progress=False)
        for i, data in enumerate(sized):
            config = validate(experiment.config_model, {"kind": kind, **data})
            estimate = sum(part.nbytes for part in run_estimate(experiment, config))
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident size
            base = _status("VmRSS")
            execute_run(experiment, config, Path(tmp) / f"run{i}", show_progress=False)
            peak = _status("VmHWM") - base
            out.append({"kind": kind, "config": data, "estimate": estimate, "peak": peak, "ratio": estimate / peak})
    return out


if __name__ == "__main__":
    for record in measure(sys.argv[1], json.loads(sys.argv[2]), [json.loads(a) for a in sys.argv[3:]]):
        print(json.dumps(record))
