"""The prepared GPU check (``make gpu-check``): CUDA tests and GPU timings, one results file.

On a machine with a CUDA device (at most about 5 minutes):

1. the tests marked ``cuda`` (tests/deep/test_cuda.py: every method's layers against the CPU,
   the SAL/RDD/STDWI estimators with the torch engine on the GPU, a shortened Fig. 8 run of every
   method with ``device=cuda``), with a time limit;
2. ``bench deep`` on the GPU: ConvNet training images per second for each method (batch 128,
   MNIST size, SGD step included), interleaved rounds, median;
3. ``bench estimators`` on the GPU: the SAL phase at [1600, 384, 192, 10] with 32 replicas, torch
   engine on CUDA, against the fast engine on the CPU measured in the same run.

Writes ``benchmarks/results/gpu-check.json`` (or ``--out``).  Without a CUDA device (or without
torch) it prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEST_LIMIT_S = 180
SAL_SIZES = [1600, 384, 192, 10]
DEEP_METHODS = ("bp", "fa", "kp", "scfa", "dfa", "usf", "brsf", "frsf")


def cuda_tests(limit_s: int = TEST_LIMIT_S) -> dict:
    """Run ``pytest -m cuda``; counts of passed/failed/skipped tests and the failures' names."""
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "cuda.xml"
        cmd = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:randomly", f"--junitxml={xml}"]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=HERE.parent, timeout=limit_s, capture_output=True, text=True)
            rc, timed_out = proc.returncode, False
        except subprocess.TimeoutExpired:
            rc, timed_out = None, True
        out = {"returncode": rc, "timed_out": timed_out, "wall_s": time.perf_counter() - t0}
        if xml.is_file():
            cases = ET.parse(xml).getroot().iter("testcase")
            failed, skipped, passed = [], 0, 0
            for c in cases:
                name = f"{c.get('classname')}::{c.get('name')}"
                if c.find("failure") is not None or c.find("error") is not None:
                    failed.append(name)
                elif c.find("skipped") is not None:
                    skipped += 1
                else:
                    passed += 1
            out.update(passed=passed, failed=failed, skipped=skipped)
    return out


def deep_throughput(rounds: int = 10, steps: int = 5, batch: int = 128) -> dict:
    """Training images per second on the GPU for each method (median over interleaved rounds)."""
    import torch

    from spikealign.deep.config import DeepConfig
    from spikealign.deep.methods import get_method
    from spikealign.deep.model import ConvNet
    from spikealign.deep.train import build_optimizer

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(batch, 1, 28, 28, device="cuda"), torch.randint(0, 10, (batch,), device="cuda")
    steppers = {}
    for m in DEEP_METHODS:
        net = ConvNet(1, 28, get_method(m), generator=g, feedback_generator=g).cuda()
        opt = build_optimizer(net, DeepConfig(method=m))

        def step(net=net, opt=opt):
            opt.zero_grad(set_to_none=True)
            net.loss(net(x), y).backward()
            opt.step()

        steppers[m] = step
    rates: dict[str, list[float]] = {m: [] for m in steppers}
    for _ in range(rounds + 1):  # the first round is the warm-up
        for m, step in steppers.items():
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            torch.cuda.synchronize()
            rates[m].append(batch * steps / (time.perf_counter() - t0))
    return {m: statistics.median(r[1:]) for m, r in rates.items()}


def sal_per_tick(ticks: int = 500) -> dict:
    """SAL ms per tick: torch engine on CUDA and fast engine on the CPU (all cores), same run."""
    import torch

    from spikealign.deep.estimators.sal import SALNet

    out = {}
    for name, kw in (
        ("torch_cuda", {"engine": "torch", "device": "cuda"}),
        ("fast_cpu", {"engine": "fast", "threads": 0}),
    ):
        net = SALNet(SAL_SIZES, batch_size=32, seed=0, **kw)
        net.run(100)  # warm-up (JIT, kernels, caches)
        if name == "torch_cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        net.run(ticks)
        if name == "torch_cuda":
            torch.cuda.synchronize()
        out[f"sal_{name}_ms_per_tick_32_replicas"] = (time.perf_counter() - t0) / ticks * 1e3
        out[f"sal_{name}_rates"] = net.rates()
    out["sal_torch_cuda_speedup_vs_fast_cpu"] = (
        out["sal_fast_cpu_ms_per_tick_32_replicas"] / out["sal_torch_cuda_ms_per_tick_32_replicas"]
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=HERE / "results" / "gpu-check.json")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("gpu-check: torch is not installed (the [deep] extra); nothing to check")
        return 0
    if not torch.cuda.is_available():
        print("gpu-check: no CUDA device (torch.cuda.is_available() is False); nothing to check")
        return 0
    from spikealign.bench import machine_info
    from spikealign.runs import _now, atomic_write_json, git_sha, library_versions

    t0 = time.perf_counter()
    result: dict = {"name": "gpu-check", "load_average_1min_before": os.getloadavg()[0]}
    result["tests"] = cuda_tests()
    result["deep_images_per_s_gpu"] = deep_throughput()
    result["estimators"] = sal_per_tick()
    result["load_average_1min_after"] = os.getloadavg()[0]
    result.update(wall_s=time.perf_counter() - t0, machine=machine_info(), versions=library_versions())
    result.update(git_sha=git_sha(), time=_now())
    atomic_write_json(args.out, result)
    t = result["tests"]
    ok = not t["timed_out"] and not t.get("failed") and t["returncode"] == 0
    print(f"gpu-check: tests {'passed' if ok else 'FAILED'} ({t}); results in {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
