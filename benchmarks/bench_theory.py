"""Benchmark ``theory``: analytic STDDs with their SAL signal.

Measured (JIT warm-up excluded, median of repeats):

- one STDD + SAL signal at t_ref = 50, t_max = 102 (Fig. 2c);
- the 17 x 17 phase-plane grid of Fig. 2e (t_ref = 15, t_max = 30, 289 STDDs).

Baselines:

- the reference implementation's documented timings on this kind of machine (docs/theory.md,
  "Performance"): ~5 s for one STDD at t_ref = 50 and ~0.3 s per grid point at t_ref = 15
  (~90 s for the grid);
- measured in the same run: a straightforward dense implementation of the same computation
  (dense transition matrix, dense linear solve for the stationary distribution, M + 1 dense
  mat-vecs for each half).  For the grid it is timed on a subset of grid points and scaled
  linearly; the single t_max = 102 STDD (a 10404 x 10404 dense solve, ~1.7 GB) is timed only when
  ``quick`` is false.  The dense baseline runs with single-threaded BLAS (our kernels use one core).
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from spikealign.theory import sal_batch, sal_signal, stdd
from spikealign.theory.chain import fire_tables, transition_entries
from spikealign.theory.kernels import exp_window, kernel_table

REF_STDD_S = 5.0
REF_GRID_S = 90.0


def _dense_half(kappa, t_ref, t_max, w_f, w_s, b_f, b_s):
    m, n = t_max, t_max * t_max
    rows, cols, vals = transition_entries(t_ref, t_max, fire_tables(kappa, t_ref, [w_f], [b_f]),
                                          fire_tables(kappa, t_ref, [w_s], [b_s]))  # fmt: skip
    t = np.zeros((n, n))
    np.add.at(t, (rows, cols), vals)
    a = t - np.eye(n)
    a[0, :] = 1.0
    rhs = np.zeros(n)
    rhs[0] = 1.0
    pi = np.linalg.solve(a, rhs)
    q = np.zeros(n)
    q[:m] = pi[:m] / pi[:m].sum()
    killed = t.copy()
    killed[np.arange(1, m), :] = 0.0  # (0, c >= 1): S fired alone
    killed[np.arange(1, m) * m, :] = 0.0  # (a >= 1, 0): O fired alone
    aa = np.repeat(np.arange(m), m)
    cc = np.tile(np.arange(m), m)
    s_o = fire_tables(kappa, t_ref, [w_s], [b_s])[0]
    h = np.where((aa <= m - 2) & (np.minimum(cc + 1, m - 1) >= t_ref), s_o[np.minimum(aa + 1, m - 1)], 0.0)
    f = np.zeros(m - 1)
    read = aa <= m - 2
    for n_step in range(m + 1):  # readouts at n = 0..M, M propagation steps
        np.add.at(f, aa[read], (q * h)[read])
        if n_step < m:
            q = killed @ q
    return f / (2 * f.sum())


def _dense_sal(w12, w21, b1, b2, t_ref, t_max):
    kappa = kernel_table("rect", t_ref, t_max)
    right = _dense_half(kappa, t_ref, t_max, w21, w12, b2, b1)
    left = _dense_half(kappa, t_ref, t_max, w12, w21, b1, b2)
    p = np.concatenate([left[::-1], [0.0], right])
    dt = np.arange(-t_max + 1, t_max)
    return float(np.sum(p * exp_window(dt, -1.0, 1.0, t_ref)))


def _one_blas_thread():
    """Single-threaded BLAS for the dense baseline (our kernels run on one core as well)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn (via mlxtend)
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def run(quick: bool = False) -> dict:
    # warm-up: load or compile the numba kernels
    sal_signal(stdd(0.8, 0.4, -0.5, -0.5, t_ref=5, t_max=12))

    def one_stdd():
        return sal_signal(stdd(0.8, 0.4, -0.5, -0.5, t_ref=50, t_max=102, fill_middle="nan"))

    t_stdd = _median_time(one_stdd, 3 if quick else 7)
    w = np.arange(-2, 2.1, 0.25)
    w12, w21 = np.meshgrid(w, w, indexing="ij")

    def grid():
        return sal_batch(w12, w21, 0.0, 0.0, t_ref=15, t_max=30)

    t_grid = _median_time(grid, 3 if quick else 7)

    # dense baseline, same computation; checked against ours
    n_sub = 6 if quick else 20
    idx = np.random.default_rng(0).choice(w12.size, n_sub, replace=False)
    d12, _ = grid()
    with _one_blas_thread():
        t0 = time.perf_counter()
        dense_vals = [_dense_sal(w12.flat[i], w21.flat[i], 0.0, 0.0, 15, 30) for i in idx]
        t_dense_grid = (time.perf_counter() - t0) / n_sub * w12.size
    dense_err = float(np.max(np.abs(np.array(dense_vals) - d12.flat[idx])))
    details = {
        "stdd_t_ref50_s": t_stdd,
        "stdd_ratio_vs_reference_5s": REF_STDD_S / t_stdd,
        "grid17_t_ref15_s": t_grid,
        "grid17_ratio_vs_reference_90s": REF_GRID_S / t_grid,
        "grid17_dense_baseline_s": t_dense_grid,
        "grid17_dense_baseline_how": f"{n_sub} grid points timed, scaled to {w12.size}",
        "grid17_ratio_vs_dense": t_dense_grid / t_grid,
        "dense_vs_ours_max_abs_diff": dense_err,
    }
    if not quick:
        with _one_blas_thread():
            t0 = time.perf_counter()
            dense_one = _dense_sal(0.8, 0.4, -0.5, -0.5, 50, 102)
            t_dense_one = time.perf_counter() - t0
        details.update(stdd_dense_baseline_s=t_dense_one, stdd_ratio_vs_dense=t_dense_one / t_stdd,
                       stdd_dense_vs_ours_abs_diff=abs(dense_one - one_stdd()[0]))  # fmt: skip
    return {
        "metric": "one STDD + SAL signal at t_ref=50, t_max=102 (Fig. 2c)",
        "value": t_stdd,
        "unit": "s",
        "baseline": {"what": "reference implementation, documented ~5 s per STDD at t_ref=50", "value": REF_STDD_S},
        "ratio": REF_STDD_S / t_stdd,
        "details": details,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
