"""Benchmark: the sampling simulator's cost per network step and per spike as N grows.

Side by side in one run, on one core (one replica; CPU time of this process, which other load on
the machine distorts less than wall time): the exact event-driven kernel (``simulate_spikes``,
the default), and the two kernels of ``simulate_spikes_fast``: the budget event kernel (one
exponential variate per spike) and the per-step kernel (a survival product per neuron, vectorised
float32 decision, one random number per spike; a step's spikes scale ``q = t_ref e^{-u}`` by the
product of their weight columns), for N = 7 (the paper's
minimal example network and a random one), 50, 200 and 1000 neurons with dense and 10 %-sparse
weights; t_ref = tau_syn = 50.  Each point: the number of steps grows until one run uses
``cpu_s`` seconds (JIT compilation excluded), then the median of ``REPEATS`` runs of that length.

Headline: ``simulate_spikes_fast``'s (its automatic choice: event kernel for N <= 10, per-step
above) ns per spike at N = 1000 (dense) relative to its own figure at N = 7.
"""

from __future__ import annotations

import os
import time
from functools import partial

import numpy as np

from spikealign.sampling import draw_problem, simulate_spikes
from spikealign.sampling.simulator_fast import EVENT_MAX_N, simulate_spikes_fast

KERNELS = {
    "exact": simulate_spikes,
    "fast_event": partial(simulate_spikes_fast, kernel="event"),
    "fast_per_step": partial(simulate_spikes_fast, kernel="per_step"),
}
REPEATS = 3


def scaling_network(N: int, density: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random symmetric network: a fraction ``density`` of the weights non-zero, ``W_ij ~
    N(0, 0.125 / (N density))`` (the input's spread does not grow with N), ``b ~ N(-0.5, 0.2^2)``;
    one replica, shapes (1, N, N) and (1, N)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, 0.5 / np.sqrt(N * density), (N, N))
    W = (W + W.T) / 2
    if density < 1:
        upper = np.triu(rng.random((N, N)) < density, 1)
        W *= upper | upper.T  # a symmetric mask: a fraction ``density`` of the pairs connected
    np.fill_diagonal(W, 0.0)
    return W[None], rng.normal(-0.5, 0.2, N)[None]


def _measure(kernel, W, b, cpu_s: float) -> dict:
    """Grow the number of steps until one run takes ``cpu_s`` CPU seconds; the median rates of ``REPEATS``
    runs of that length (seeds 0, 1, ...)."""
    T = max(200, int(20_000 / b.shape[1]))
    while True:
        c0 = time.process_time()
        kernel(W, b, T, t_ref=50, tau_syn=50, seeds=np.arange(1, dtype=np.uint64))
        dc = time.process_time() - c0
        if dc >= cpu_s:
            break
        T = int(T * min(8.0, 1.2 * cpu_s / max(dc, 1e-3)))
    per_step, per_spike, rate = [], [], []
    for k in range(REPEATS):
        c0 = time.process_time()
        st = kernel(W, b, T, t_ref=50, tau_syn=50, seeds=np.array([k], dtype=np.uint64))
        dc = time.process_time() - c0
        n = len(st.times)
        per_step.append(dc / T * 1e9)
        per_spike.append(dc / max(n, 1) * 1e9)
        rate.append(n / T)
    return {
        "steps": T,
        "spikes_per_step": float(np.median(rate)),
        "ns_per_step": float(np.median(per_step)),
        "ns_per_spike": float(np.median(per_spike)),
    }


def run(quick: bool = False) -> dict:
    cpu_s = 0.1 if quick else 0.5
    p = draw_problem(7, 4242, 4343, init_noise=0.2, stdp_noise=0.05)
    cases = [("N7_paper_minimal_example", p.W_init[None], p.b_init[None], 7, 1.0)]
    for N in (7, 50, 200, 1000):
        for density in (1.0, 0.1):
            if N > 7 or density == 1.0:
                cases.append(
                    (f"N{N}_{'dense' if density == 1 else 'sparse10'}", *scaling_network(N, density), N, density)
                )
    for kernel in KERNELS.values():  # JIT warm-up
        kernel(*scaling_network(7, 1.0), 100, t_ref=50, tau_syn=50, seeds=np.arange(1, dtype=np.uint64))
        kernel(*scaling_network(50, 0.1), 100, t_ref=50, tau_syn=50, seeds=np.arange(1, dtype=np.uint64))
    load_before = os.getloadavg()[0]
    rows = {}
    for name, W, b, N, density in cases:
        rows[name] = {"N": N, "density": density}
        for k, kernel in KERNELS.items():
            rows[name][k] = _measure(kernel, W, b, cpu_s)
    for r in rows.values():
        r["fast_auto"] = "fast_event" if r["N"] <= EVENT_MAX_N else "fast_per_step"
    ref = rows["N7_dense"][rows["N7_dense"]["fast_auto"]]["ns_per_spike"]
    for r in rows.values():
        auto = r[r["fast_auto"]]
        r["fast_auto_ns_per_spike_vs_fast_N7"] = auto["ns_per_spike"] / ref
        r["fast_auto_speedup_vs_exact"] = r["exact"]["ns_per_step"] / auto["ns_per_step"]
    head_row = rows["N1000_dense"]
    head = head_row[head_row["fast_auto"]]["ns_per_spike"]
    return {
        "metric": "simulate_spikes_fast ns per spike at N = 1000 (dense weights), one core",
        "value": head,
        "unit": "ns/spike",
        "baseline": {"what": "simulate_spikes_fast ns per spike at N = 7 (random network), same run", "value": ref},
        "ratio": head / ref,
        "details": {
            "rows": rows,
            "load_average_1min_before_after": [load_before, os.getloadavg()[0]],
            "clock": "time.process_time of this process, one replica, median of REPEATS runs",
            "repeats": REPEATS,
            "cpu_s_per_point": cpu_s,
            "target (issue 20)": "ns per spike within 2x of the N = 7 figure up to N = 1000",
        },
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=True), indent=2))
