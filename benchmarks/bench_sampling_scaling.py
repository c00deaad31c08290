"""Benchmark: the sampling simulator's cost per network step and per spike as N grows.

Side by side in one run, on one core (one replica; CPU time of this process, which other load on
the machine distorts less than wall time): the exact event-driven kernel (``simulate_spikes``,
the default) and the per-step kernel (``simulate_spikes_fast``: counter-based uniforms, vectorised
decision, spikes add their weight column), for N = 7 (the paper's minimal example network and a
random one), 50, 200 and 1000 neurons with dense and 10 %-sparse weights; t_ref = tau_syn = 50.
Each point runs until it has used ``cpu_s`` seconds (JIT compilation excluded).

Headline: the per-step kernel's ns per spike at N = 1000 (dense) relative to the event kernel's
at N = 7 (the figure the event cost should stay near as N grows).
"""

from __future__ import annotations

import os
import time

import numpy as np

from spikealign.sampling import draw_problem, simulate_spikes
from spikealign.sampling.simulator_fast import simulate_spikes_fast

KERNELS = {"event": simulate_spikes, "per_step": simulate_spikes_fast}


def scaling_network(N: int, density: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random symmetric network: a fraction ``density`` of the weights non-zero, ``W_ij ~
    N(0, 0.25 / (N density))`` (the input's spread does not grow with N), ``b ~ N(-0.5, 0.2^2)``;
    one replica, shapes (1, N, N) and (1, N)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, 0.5 / np.sqrt(N * density), (N, N))
    if density < 1:
        W *= rng.random((N, N)) < density
    W = (W + W.T) / 2
    np.fill_diagonal(W, 0.0)
    return W[None], rng.normal(-0.5, 0.2, N)[None]


def _measure(kernel, W, b, cpu_s: float) -> dict:
    """Grow the number of steps until one run takes ``cpu_s`` CPU seconds; that run's rates."""
    T = max(200, int(20_000 / b.shape[1]))
    while True:
        c0 = time.process_time()
        st = kernel(W, b, T, t_ref=50, tau_syn=50, seeds=np.arange(1, dtype=np.uint64))
        dc = time.process_time() - c0
        if dc >= cpu_s:
            break
        T = int(T * min(8.0, 1.2 * cpu_s / max(dc, 1e-3)))
    n = len(st.times)
    return {"steps": T, "spikes_per_step": n / T, "ns_per_step": dc / T * 1e9, "ns_per_spike": dc / max(n, 1) * 1e9}


def run(quick: bool = False) -> dict:
    cpu_s = 0.2 if quick else 1.0
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
    ref = rows["N7_dense"]["event"]["ns_per_spike"]
    for r in rows.values():
        r["per_step_ns_per_spike_vs_event_N7"] = r["per_step"]["ns_per_spike"] / ref
        r["event_ns_per_spike_vs_event_N7"] = r["event"]["ns_per_spike"] / ref
        r["per_step_speedup_vs_event"] = r["event"]["ns_per_step"] / r["per_step"]["ns_per_step"]
    head = rows["N1000_dense"]["per_step"]["ns_per_spike"]
    return {
        "metric": "per-step kernel ns per spike at N = 1000 (dense weights), one core",
        "value": head,
        "unit": "ns/spike",
        "baseline": {"what": "exact event kernel ns per spike at N = 7 (random network), same run", "value": ref},
        "ratio": head / ref,
        "details": {
            "rows": rows,
            "load_average_1min_before_after": [load_before, os.getloadavg()[0]],
            "clock": "time.process_time of this process, one replica, numba threads as set (one replica: one core)",
            "cpu_s_per_point": cpu_s,
        },
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=True), indent=2))
