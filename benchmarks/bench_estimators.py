"""Benchmark: the spiking feedback estimators (SAL, RDD) at the deep net's FC sizes.

Headline: RDD wall time per simulated 1-ms step on [1600, 384, 192, 10] while layer 0 is driven
(the costliest third of a phase), against a straightforward per-step NumPy implementation of the
same computation (full ``R``/``R_pre`` matrices with masked row updates, float64, as the
reference computes it; see docs/deep.md, "RDD estimator"), measured in the same run on fewer
steps.  The reference itself takes 3-18 ms per step on a 2-core CPU (same section).

Also reported: SAL's time per tick and per reference SAL phase (5 iterations x 2000 ticks, 32
replicas) at the same sizes, side by side for the numba engine (the CPU default: compiled
kernels per block of ticks, incremental inputs) on one thread (the default) and on all cores
(``threads=0``), the fast engine (``engine="fast"``, on one thread and on all cores: its own
counter-based random stream, float32 input sums; statistically equivalent), and the torch engine (the previous
implementation: a per-tick loop of torch operations, dense GEMMs; one thread, its default); the
headline ``fast_speedup_vs_torch`` is the fast engine on all cores against the torch engine's
default (one thread), all
measured in the same run on the same ticks (a fifth of a phase; ``--quick``: a fiftieth) in
alternating rounds after a warm-up (the median round; wall and CPU time), with a check that the
exact engines produced the same spikes and pair terms; against a per-replica outer-product baseline (the reference's
accumulation) measured on a few ticks; SAL's phase cost relative to one training epoch of the
ConvNet on the MNIST 5k subset (4,000 training images), the epoch time measured with method
``fa`` on a 512-image subset and scaled; the SAL phase on conv and FC feedback (``sal_conv``) on
the ConvNet's maps (1x12x12 -> 64x8x8 -> 64x4x4 -> 384 -> 192 -> 10).  JIT compilation and warm-up
are excluded.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import torch

from spikealign.deep.estimators.rdd import (
    ALPHA,
    DT,
    G_D,
    G_L,
    INIT_WINDOW,
    MEM,
    RDD_WINDOW,
    REFRACTORY,
    THRESHOLD,
    U_WINDOW,
    V_RESET,
    RDDNet,
    kappas,
)
from spikealign.deep.estimators.sal import SALNet
from spikealign.deep.estimators.sal_conv import SALConvNet
from spikealign.deep.layers import FeedbackConv2d, FeedbackLinear

SIZES = [1600, 384, 192, 10]
SAL_PHASE_TICKS = 5 * 2000
MNIST5K_TRAIN = 4000


def _weights(seed: int = 0):
    r = np.random.default_rng(seed)
    W = {k: r.uniform(-1, 1, (SIZES[k], SIZES[k - 1])) / math.sqrt(SIZES[k - 1]) for k in range(1, 4)}
    F = {k: r.uniform(-1, 1, (SIZES[k], SIZES[k + 1])) / math.sqrt(SIZES[k + 1]) for k in range(3)}
    return W, F


# --------------------------------------------------------------------------- RDD baseline (NumPy, per step)
class _NumpyLayer:
    def __init__(self, n, n_in, n_up, W=None):
        self.n, self.n_up = n, n_up
        self.W = None if W is None else 0.2 * n_in * W / W.std()
        self.v = np.full(n, V_RESET)
        self.u = np.full(n, V_RESET)
        self.r = np.zeros(n)
        self.w = np.zeros(n)
        self.max_u = np.zeros(n)
        self.n_spk = np.zeros(n)
        self.hist = np.zeros((n, MEM))
        if n_up:
            self.R = np.zeros((n, n_up))
            self.R_pre = np.zeros((n, n_up))
            self.p = np.zeros((n, 4, n_up))
            self.beta = np.zeros((n, n_up))

    def step(self, kap, lower=None, upper=None, drive=None):
        rdd = self.n_up > 0
        if rdd:
            ending = self.w == 1
            m = (self.w > 0) & (self.u > self.max_u)
            self.max_u[m] = self.u[m]
        self.r[self.r > 0] -= 1
        if drive is not None:
            bas = ALPHA * drive @ kap
        elif lower is not None:
            bas = self.W @ (lower @ kap)
        else:
            bas = np.zeros(self.n)
        self.v += DT * (-G_L * self.v + G_D * (bas - self.v))
        if rdd:
            q = upper @ kap
            self.u += DT * (-G_L * self.u + G_D * (bas - self.u))
            self.R[self.w > 0] += q
            self.R_pre[self.w == 0] = q
        fire = (self.v >= THRESHOLD) & (self.r == 0)
        self.v[fire] = V_RESET
        self.r[fire] = REFRACTORY
        if rdd:
            if drive is not None:
                ok = ending & (np.abs(self.max_u - THRESHOLD) <= U_WINDOW)
                for above, (ia, ic) in ((True, (2, 0)), (False, (3, 1))):
                    mk = ok & ((self.n_spk >= 1) == above)
                    if mk.any():
                        y = self.R[mk] / RDD_WINDOW - self.R_pre[mk]
                        mu = self.max_u[mk][:, None]
                        e = self.p[mk, ia] * mu + self.p[mk, ic] - y
                        self.p[mk, ia] -= 0.001 * e * mu
                        self.p[mk, ic] -= 0.001 * e
                self.beta[ok] = self.p[ok, 2] + self.p[ok, 0] - self.p[ok, 3] - self.p[ok, 1]
            self.w[self.w > 0] -= 1
            self.u[self.w == 0] = self.v[self.w == 0]
            self.w[(np.abs(THRESHOLD - self.u) <= INIT_WINDOW) & (self.w == 0)] = RDD_WINDOW
            self.n_spk[(self.w > 0) & fire] += 1
            self.n_spk[ending] = 0
            self.R[ending] = 0
            self.max_u[ending] = 0
        self.hist = np.concatenate([self.hist[:, 1:], fire[:, None].astype(float)], axis=1)


def _rdd_numpy_ms_per_step(steps: int) -> float:
    W, _ = _weights()
    kap = np.flipud(kappas())
    layers = [_NumpyLayer(SIZES[0], 0, SIZES[1])]
    layers += [_NumpyLayer(SIZES[k], SIZES[k - 1], SIZES[k + 1] if k < 3 else 0, W[k]) for k in range(1, 4)]
    rng = np.random.default_rng(1)
    dhist = np.zeros((SIZES[0], MEM))
    idx = rng.choice(SIZES[0], SIZES[0] // 5, replace=False)
    t0 = time.perf_counter()
    for _ in range(steps):
        d = np.zeros(SIZES[0])
        d[idx] = rng.poisson(0.2, idx.size)
        dhist = np.concatenate([dhist[:, 1:], d[:, None]], axis=1)
        layers[0].step(kap, upper=layers[1].hist, drive=dhist)
        layers[1].step(kap, lower=layers[0].hist, upper=layers[2].hist)
        layers[2].step(kap, lower=layers[1].hist, upper=layers[3].hist)
        layers[3].step(kap, lower=layers[2].hist)
    return (time.perf_counter() - t0) / steps * 1e3


def _rdd_ms_per_step(seconds: float) -> tuple[float, list[float]]:
    W, F = _weights()
    net = RDDNet(SIZES, seed=1)
    for k in range(1, 4):
        net.set_weight(k, W[k])
    for k in range(3):
        net.set_feedback(k, F[k])
    net.run_phase(0.05, parts=[0])  # JIT warm-up
    net.reset()
    t0 = time.perf_counter()
    net.run_phase(seconds, parts=[0])
    dt = time.perf_counter() - t0
    per_part = []
    for part in (1, 2):
        net.reset()
        t1 = time.perf_counter()
        net.run_phase(seconds, parts=[part])
        per_part.append((time.perf_counter() - t1) / (seconds / DT) * 1e3)
    return dt / (seconds / DT) * 1e3, per_part


# --------------------------------------------------------------------------- SAL
def _sal_ms_per_tick(batch: int, ticks: int, sizes=SIZES, engine: str | None = None) -> float:
    net = SALNet(sizes, batch_size=batch, seed=0, chunk=50, engine=engine)
    net.run(100)  # warm-up
    t0 = time.perf_counter()
    net.run(ticks)
    return (time.perf_counter() - t0) / ticks * 1e3


SAL_VARIANTS = {  # name: (engine, threads); threads 1 is every engine's default
    "numba": ("numba", 1),
    "numba_all_cores": ("numba", 0),
    "torch": ("torch", 1),
    # its own random stream: statistically equivalent, not the same bits
    "fast": ("fast", 1),
    "fast_all_cores": ("fast", 0),
}
#: the variants that must end in the same state as the torch engine
EXACT_VARIANTS = ("numba", "numba_all_cores", "torch")


def _sal_engines_side_by_side(batch: int, ticks: int) -> dict:
    """The SAL engines on the same seed and ticks, alternating in rounds of one chunk-aligned block.

    Alternating spreads the load of a shared machine over all variants.  Returns, per variant, the
    median over the rounds of the wall and CPU (process) ms per tick (the median ignores a round
    hit by a burst of load on a shared machine) and the mean over all ticks; the 1-minute load
    average before and after; and whether all nets ended in the same state (same spikes and pair terms).
    """
    nets = {
        v: SALNet(SIZES, batch_size=batch, seed=0, chunk=50, engine=e, threads=th)
        for v, (e, th) in SAL_VARIANTS.items()
    }
    for net in nets.values():
        net.run(100)  # warm-up (JIT compilation, caches)
    wall, cpu = {v: [] for v in nets}, {v: [] for v in nets}
    block = 250  # an eighth of a reference SAL iteration (run() is called once per iteration of 2000 ticks)
    rounds = max(1, ticks // block)
    load_before = os.getloadavg()[0]
    for _ in range(rounds):
        for v, net in nets.items():
            t0, c0 = time.perf_counter(), time.process_time()
            net.run(block)
            wall[v].append((time.perf_counter() - t0) / block * 1e3)
            cpu[v].append((time.process_time() - c0) / block * 1e3)
    a = nets["torch"]
    same = all(
        torch.equal(a.counter, b.counter) and all(torch.equal(x, y) for x, y in zip(a.delta, b.delta, strict=True))
        for v, b in nets.items()
        if v in EXACT_VARIANTS
    )
    out = {"ticks": rounds * block, "rounds": rounds, "same": same}
    out.update({f"{v}_rates": net.rates() for v, net in nets.items()})
    out.update(load_before=load_before, load_after=os.getloadavg()[0])
    for v in nets:
        out[f"{v}_ms"], out[f"{v}_cpu_ms"] = float(np.median(wall[v])), float(np.median(cpu[v]))
        out[f"{v}_mean_ms"] = float(np.mean(wall[v]))
    return out


def _uniform_stream_ms_per_tick(batch: int, ticks: int) -> float:
    """Drawing one tick's uniforms (``batch`` x all neurons) from torch's CPU generator, as both engines do.

    Exact equality with the torch engine fixes this stream, so every engine pays it (serially).
    """
    buf = torch.empty((10, batch, sum(SIZES)))
    gen = torch.Generator().manual_seed(0)
    buf.uniform_(generator=gen)
    t0 = time.perf_counter()
    for _ in range(ticks // 10):
        buf.uniform_(generator=gen)
    return (time.perf_counter() - t0) / (ticks // 10 * 10) * 1e3


def _sal_conv_ms_per_tick(batch: int, ticks: int) -> float:
    """SAL on conv and FC feedback on the ConvNet's spiking maps (``sal_conv``)."""
    g = torch.Generator().manual_seed(0)
    layers = [
        FeedbackConv2d(1, 64, 5, generator=g, feedback_generator=g),
        FeedbackConv2d(64, 64, 5, generator=g, feedback_generator=g),
        FeedbackLinear(1024, 384, generator=g, feedback_generator=g),
        FeedbackLinear(384, 192, generator=g, feedback_generator=g),
        FeedbackLinear(192, 10, generator=g, feedback_generator=g),
    ]
    net = SALConvNet(layers, batch_size=batch, seed=0)
    net.run(50)
    t0 = time.perf_counter()
    net.run(ticks)
    return (time.perf_counter() - t0) / ticks * 1e3


def _sal_naive_ms_per_tick(batch: int, ticks: int) -> float:
    """Per-replica outer products into a (batch, n_low, n_up) buffer and windowed traces (reference style)."""
    net = SALNet(SIZES, batch_size=batch, seed=0)
    K, t_ref = net.K, net.t_ref
    kern = torch.exp(-torch.arange(K, dtype=torch.float32) / t_ref)
    bufs = [torch.zeros(batch, n, K) for n in SIZES]
    deltas = [torch.zeros(batch, SIZES[l], SIZES[l + 1]) for l in range(3)]
    counters = [torch.full((batch, n), 1e9) for n in SIZES]
    t0 = time.perf_counter()
    for _ in range(ticks):
        z = [b[:, :, :t_ref].sum(-1) for b in bufs]
        new = []
        for l in range(4):
            u = net.c[l].expand(batch, -1).clone()
            if l >= 1:
                u += z[l - 1] @ net.W[l].T
            if l <= 2:
                u += z[l + 1] @ net.B[l].T
            new.append((torch.rand(batch, SIZES[l]) < torch.sigmoid(u - math.log(t_ref))) & (counters[l] > t_ref))
        for l in range(4):
            counters[l] = torch.where(new[l], torch.ones_like(counters[l]), counters[l] + 1)
            bufs[l] = torch.roll(bufs[l], 1, dims=2)
            bufs[l][:, :, 0] = new[l].float()
        x = [b @ kern for b in bufs]
        for l in range(3):
            deltas[l] += torch.einsum("bi,bj->bij", bufs[l][:, :, 0], -x[l + 1])
            deltas[l] += torch.einsum("bi,bj->bij", x[l], bufs[l + 1][:, :, 0])
    return (time.perf_counter() - t0) / ticks * 1e3


def _fa_epoch_seconds(n_images: int) -> float | None:
    """Wall time of one FA training epoch on ``n_images`` MNIST-subset images (None if unavailable)."""
    try:
        import tempfile
        from pathlib import Path

        from spikealign.deep.config import DeepConfig
        from spikealign.deep.train import run
        from spikealign.runs import RunContext
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        ctx = RunContext(Path(tmp) / "fa", 0, show_progress=False)
        ctx.out_dir.mkdir(parents=True)
        summary = run(DeepConfig(method="fa", n_epochs=2, max_train=n_images, max_test=64, batch_size=128), ctx)
    rate = summary.get("train_images_per_s")
    return None if not rate else n_images / float(rate)


def run(quick: bool = False) -> dict:
    rdd_seconds = 0.5 if quick else 3.0
    base_steps = 20 if quick else 100
    sal_ticks = 200 if quick else 1000
    naive_ticks = 3 if quick else 10

    rdd_ms, rdd_other = _rdd_ms_per_step(rdd_seconds)
    rdd_base_ms = _rdd_numpy_ms_per_step(base_steps)
    engines = _sal_engines_side_by_side(32, SAL_PHASE_TICKS // (50 if quick else 5))
    sal_ms = engines["numba_ms"]
    sal_naive_ms = _sal_naive_ms_per_tick(32, naive_ticks)
    uniforms_ms = _uniform_stream_ms_per_tick(32, sal_ticks)
    sal_small_ms = _sal_ms_per_tick(8, sal_ticks, sizes=[50, 50])
    sal_conv_ms = _sal_conv_ms_per_tick(32, 100 if quick else 400)
    phase_s = sal_ms * SAL_PHASE_TICKS / 1e3
    epoch_s = _fa_epoch_seconds(256 if quick else 1024)
    epoch_4000 = None if epoch_s is None else epoch_s * MNIST5K_TRAIN / (256 if quick else 1024)
    details = {
        "sizes": SIZES,
        "sal_threads": "numba engine 1 (the default threads=1); numba_all_cores: threads=0",
        "torch_threads": "torch engine 1 during the SAL phase (its default threads=1; on two cores shared with "
        "other jobs, threads=0 measured 10x slower than threads=1: its threads wait for each other every tick)",
        "cpu_cores": os.cpu_count(),
        "rdd_ms_per_step_layer0_driven": rdd_ms,
        "rdd_ms_per_step_layer1_driven": rdd_other[0],
        "rdd_ms_per_step_layer2_driven": rdd_other[1],
        "rdd_numpy_baseline_ms_per_step": rdd_base_ms,
        "rdd_reference_documented_ms_per_step": [3.0, 18.0],
        "rdd_phase_90s_estimated_s": 30.0 * (rdd_ms + sum(rdd_other)),
        "sal_ms_per_tick_32_replicas": sal_ms,
        "sal_torch_engine_ms_per_tick_32_replicas": engines["torch_ms"],
        "sal_engine_speedup_numba_vs_torch": engines["torch_ms"] / sal_ms,
        "sal_engine_speedup_numba_vs_torch_cpu_time": engines["torch_cpu_ms"] / engines["numba_cpu_ms"],
        "sal_cpu_ms_per_tick_32_replicas": engines["numba_cpu_ms"],
        "sal_torch_engine_cpu_ms_per_tick_32_replicas": engines["torch_cpu_ms"],
        "sal_all_cores_ms_per_tick_32_replicas": engines["numba_all_cores_ms"],
        "sal_all_cores_cpu_ms_per_tick_32_replicas": engines["numba_all_cores_cpu_ms"],
        "sal_engine_speedup_numba_all_cores_vs_torch": engines["torch_ms"] / engines["numba_all_cores_ms"],
        # the headline: the fast engine on all cores (threads=0) against the torch engine as it
        # runs by default (threads=1), wall time, same run
        "fast_speedup_vs_torch": engines["torch_ms"] / engines["fast_all_cores_ms"],
        "fast_speedup_vs_torch_cpu_time": engines["torch_cpu_ms"] / engines["fast_all_cores_cpu_ms"],
        "fast_speedup_vs_numba_all_cores": engines["numba_all_cores_ms"] / engines["fast_all_cores_ms"],
        "sal_fast_engine_ms_per_tick_32_replicas": engines["fast_ms"],
        "sal_fast_engine_cpu_ms_per_tick_32_replicas": engines["fast_cpu_ms"],
        "fast_one_thread_speedup_vs_torch": engines["torch_ms"] / engines["fast_ms"],
        "fast_one_thread_speedup_vs_torch_cpu_time": engines["torch_cpu_ms"] / engines["fast_cpu_ms"],
        "fast_one_thread_speedup_vs_numba": engines["numba_ms"] / engines["fast_ms"],
        "sal_fast_engine_all_cores_ms_per_tick_32_replicas": engines["fast_all_cores_ms"],
        "sal_fast_engine_all_cores_cpu_ms_per_tick_32_replicas": engines["fast_all_cores_cpu_ms"],
        "sal_fast_engine_rates": engines["fast_rates"],
        "sal_torch_engine_rates": engines["torch_rates"],
        "sal_engines_load_average_1min_before_after": [engines["load_before"], engines["load_after"]],
        "sal_engines_ticks_measured": engines["ticks"],
        "sal_engines_timing": f"median of {engines['rounds']} alternating rounds of 250 ticks (wall; cpu: process)",
        "sal_engines_mean_ms_per_tick": {v: engines[f"{v}_mean_ms"] for v in SAL_VARIANTS},
        "sal_engines_same_spikes_and_delta": engines["same"],
        "sal_fast_engine": "engine='fast', threads=1 (the default) and all cores (threads=0, the headline "
        "fast_speedup_vs_torch against the torch engine's default threads=1): counter-based stream, float32 "
        "inputs, replica groups in parallel without synchronisation; statistically equivalent "
        "(tests/deep/test_sal_fast_engine.py), so not in the same-state check",
        "sal_uniform_stream_ms_per_tick_32_replicas": uniforms_ms,
        "sal_torch_engine_phase_s_10000_ticks_32_replicas": engines["torch_ms"] * SAL_PHASE_TICKS / 1e3,
        "sal_naive_outer_product_ms_per_tick_32_replicas": sal_naive_ms,
        "sal_speedup_vs_naive": sal_naive_ms / sal_ms,
        "sal_phase_s_10000_ticks_32_replicas": phase_s,
        "sal_wall_s_per_simulated_s_32_replicas": sal_ms * (1000 * 10 / 32) / 1e3,
        "sal_fig7_ms_per_tick_50x50_8_replicas": sal_small_ms,
        "sal_fig7_wall_s_per_simulated_s": sal_small_ms * 1250 / 1e3,
        "fa_epoch_s_mnist5k_4000_images": epoch_4000,
        "sal_phase_fraction_of_epoch": None if epoch_4000 is None else phase_s / epoch_4000,
        "sal_conv_ms_per_tick_convnet_maps_32_replicas": sal_conv_ms,
        "sal_conv_phase_s_10000_ticks_32_replicas": sal_conv_ms * SAL_PHASE_TICKS / 1e3,
        "note": "SAL simulated second = 1000 t_ref / replicas ticks (the Fig. 7 notebook's convention)",
    }
    return {
        "metric": "RDD wall time per simulated 1-ms step, [1600, 384, 192, 10], layer 0 driven",
        "value": rdd_ms,
        "unit": "ms/step",
        "baseline": {
            "what": f"straightforward per-step NumPy RDD (full R matrices), same sizes, {base_steps} steps, same run",
            "value": rdd_base_ms,
        },
        "ratio": rdd_base_ms / rdd_ms,
        "details": details,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
