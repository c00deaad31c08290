"""Benchmark: the Dale's-law E/I phase plane (docs/sampling.md, "Dale's-law E/I system"), 441 points x 2e6 steps.

Measures the SAL measurement pipeline used by the ``dale-sal`` experiment (event-driven simulator
+ nearest-neighbour STDP, :func:`spikealign.sampling.dale.measure_sal`) on one grid row (21 points)
of the paper grid, and extrapolates to the whole grid on 2 cores (2 worker processes, the grid is
split into independent runs, so the extrapolation assumes ideal parallel scaling and is
optimistic by whatever the machine's other load takes).

Baseline, measured in the same run: the straightforward per-step algorithm of the reference (one
uniform per neuron per step, :func:`spikealign.sampling.simulator.simulate_spikes_stepwise`,
numba-compiled) plus the same NN-STDP, on fewer steps, scaled linearly in steps.
JIT compilation is excluded from both timings (each kernel is called once on a tiny problem first).
"""

from __future__ import annotations

import os
import time

import numba
import numpy as np

from spikealign.sampling import dale
from spikealign.sampling.simulator import simulate_spikes_stepwise

GRID_POINTS = 441
PAPER_STEPS = 2_000_000
CORES = 2


def _row(n_points: int) -> tuple[np.ndarray, np.ndarray]:
    p = dale.noisy_parameters()
    G = np.array(dale.grid_values(21, 0.1))
    return dale.ei_network(np.full(n_points, 1.0), G[:n_points], p)


def _stepwise_sal(W, b, n_steps, seeds) -> np.ndarray:
    st = simulate_spikes_stepwise(W, b, n_steps, t_ref=dale.T_REF, tau_syn=dale.TAU_SYN, seeds=seeds)
    a_plus, a_minus = dale.SAL_AMPLITUDES
    return dale.nn_stdp_csr(st.times, st.neurons, st.offsets, 2, a_plus, a_minus, 25.0, 25.0) * (25 / n_steps)


def run(quick: bool = False) -> dict:
    n_points = 21
    steps = 200_000 if quick else PAPER_STEPS
    base_points, base_steps = (2, 20_000) if quick else (4, 200_000)
    W, b = _row(n_points)
    seeds = np.arange(n_points, dtype=np.uint64) + np.uint64(1)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # one core per measurement, as in a sweep worker

    # warm-up (JIT) on tiny problems
    dale.measure_sal(W[:1], b[:1], 100, seeds[:1])
    _stepwise_sal(W[:1], b[:1], 100, seeds[:1])

    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    S, counts = dale.measure_sal(W, b, steps, seeds)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    _stepwise_sal(W[:base_points], b[:base_points], base_steps, seeds[:base_points])
    base = time.perf_counter() - t0
    load_after = os.getloadavg()[0]
    numba.set_num_threads(threads)

    ours_per_step = ours / (n_points * steps)  # seconds per network-step, one core
    base_per_step = base / (base_points * base_steps)
    grid_steps = GRID_POINTS * PAPER_STEPS
    ours_grid = grid_steps * ours_per_step / CORES
    base_grid = grid_steps * base_per_step / CORES
    spikes = int(counts.sum())
    return {
        "metric": "dale paper grid (441 points x 2e6 steps) wall time on 2 cores, extrapolated",
        "value": ours_grid,
        "unit": "s",
        "baseline": {
            "what": "per-step reference algorithm (numba, one uniform per neuron per step) + same NN-STDP, "
            "extrapolated the same way",
            "value": base_grid,
        },
        "ratio": base_grid / ours_grid,
        "details": {
            "measured_points": n_points,
            "measured_steps_per_point": steps,
            "measured_seconds": ours,
            "ns_per_network_step": ours_per_step * 1e9,
            "spikes_per_second": spikes / ours,
            "baseline_points": base_points,
            "baseline_steps_per_point": base_steps,
            "baseline_seconds": base,
            "baseline_ns_per_network_step": base_per_step * 1e9,
            "reference_documented": "sim_poisson_neurons ~0.8-0.9 us per step for N = 7 (docs/sampling.md, 'Speed'): "
            "the 8.8e8-step E/I grid would take ~700-800 core-seconds of simulation alone, plus the "
            "reference's pure-Python NN-STDP loop",
            "loadavg_before_after": [load_before, load_after],
            "mean_abs_dw_e2_e1": float(np.mean(np.abs(S[:, 1, 0]))),
            "assumption": "ideal scaling over 2 worker processes (independent runs)",
        },
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
