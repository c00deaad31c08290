"""Deep-network benchmark: ConvNet training throughput on CPU for BP and FA (and KP, SCFA, DFA, uSF, frSF).

``value`` is FA's training throughput in images per CPU-second with one torch thread (MNIST-sized
28 x 28 inputs, batch 128, SGD step included, augmentation excluded; ``time.process_time``, which
other processes competing for the cores do not distort) and ``baseline`` is exact backprop measured
the same way in the same run; ``ratio`` = FA / BP (FA's overhead = 1 / ratio; target < 1.3x).  The
methods are timed in short interleaved rounds (2 steps each) and the median round is kept.  Wall
clock throughput with 2 threads (median and best round) is recorded in ``details`` as well; it is
only meaningful on an otherwise idle machine.  Warm-up steps are excluded.

Unless ``quick``, the Fig. 8 quick profile (every method marked for Fig. 8, on the bundled MNIST 5k
subset) is also run with the local executor, and its wall time and final test accuracies are recorded.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import torch

from spikealign.deep.config import DeepConfig
from spikealign.deep.data import load_dataset, normalise
from spikealign.deep.methods import get_method
from spikealign.deep.model import ConvNet
from spikealign.deep.train import build_optimizer

METHODS = ("bp", "fa", "kp", "scfa", "dfa", "usf", "frsf")


def _setup(method: str, x: torch.Tensor, y: torch.Tensor):
    g = torch.Generator().manual_seed(0)
    net = ConvNet(1, 28, get_method(method), generator=g, feedback_generator=g)
    opt = build_optimizer(net, DeepConfig(method=method))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = net.loss(net(x), y)
        loss.backward()
        opt.step()

    return step


def throughput(
    n_rounds: int = 12, steps_per_round: int = 2, batch: int = 128, threads: int = 2, clock=time.perf_counter
) -> dict[str, dict]:
    """Training images per second of ``clock`` for each method: median over interleaved rounds.

    ``clock=time.process_time`` with one thread gives images per CPU-second, which is insensitive to
    other processes competing for the cores.
    """
    torch.set_num_threads(threads)
    ds = load_dataset("mnist5k")
    x = normalise(ds.train_x[:batch], ds.mean, ds.std)
    y = ds.train_y[:batch]
    steps = {m: _setup(m, x, y) for m in METHODS}
    for fn in steps.values():  # warm-up
        for _ in range(2):
            fn()
    rates: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(n_rounds):
        for m, fn in steps.items():
            t0 = clock()
            for _ in range(steps_per_round):
                fn()
            rates[m].append(batch * steps_per_round / (clock() - t0))
    return {m: {"median": statistics.median(r), "rounds": r} for m, r in rates.items()}


def quick_profile() -> dict:
    """Run Fig. 8's quick profile (all registered methods) and report wall time and accuracies."""
    from spikealign.deep.figures import fig8_sweeps
    from spikealign.sweep import LocalExecutor, run_sweep

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in fig8_sweeps("quick"):
            t0 = time.perf_counter()
            result = run_sweep(spec, Path(tmp) / spec.name, executor=LocalExecutor(2), show_progress=False)
            wall = time.perf_counter() - t0
            table = result.table
            out[spec.name] = {
                "wall_s": wall,
                "n_epochs": int(spec.base["n_epochs"]),
                "runs": {
                    str(r["method"]): {
                        "status": r["status"],
                        "final_test_accuracy": r.get("final_test_accuracy"),
                        "fc1_angle": r.get("fc1/angle"),
                        "fc3_angle": r.get("fc3/angle"),
                        "wall_time_s": r.get("wall_time_s"),
                    }
                    for _, r in table.iterrows()
                },
            }
    return out


def run(quick: bool = False) -> dict:
    n_rounds = 6 if quick else 12
    cpu = throughput(n_rounds=n_rounds, threads=1, clock=time.process_time)
    wall = throughput(n_rounds=n_rounds, threads=2)
    bp_cpu, fa_cpu = cpu["bp"]["median"], cpu["fa"]["median"]
    details: dict = {
        "images_per_cpu_s_1_thread": {m: r["median"] for m, r in cpu.items()},
        "fa_overhead_vs_bp": bp_cpu / fa_cpu,
        "fa_overhead_below_1.3": bp_cpu / fa_cpu < 1.3,
        "overhead_vs_bp": {m: bp_cpu / r["median"] for m, r in cpu.items()},
        "wall_images_per_s_2_threads_median": {m: r["median"] for m, r in wall.items()},
        "wall_images_per_s_2_threads_best": {m: max(r["rounds"]) for m, r in wall.items()},
        "wall_rounds_2_threads": {m: r["rounds"] for m, r in wall.items()},
        "setup": "ConvNet (docs/deep.md, 'The ConvNet') on 1x28x28, batch 128, faithful mode, SGD step, CPU. "
        "Primary: images per CPU-second with 1 torch thread (time.process_time; robust to other load on the "
        "machine). Wall clock with 2 threads is recorded too but is only meaningful on an otherwise idle machine.",
    }
    if not quick:
        details["fig8_quick_profile"] = quick_profile()
    return {
        "metric": "FA ConvNet training throughput (CPU, 1 thread, MNIST size, batch 128)",
        "value": fa_cpu,
        "unit": "images per CPU-second",
        "baseline": {"what": "exact backprop (autograd), same model, same run, same clock", "value": bp_cpu},
        "ratio": fa_cpu / bp_cpu,
        "details": details,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, default=str))
