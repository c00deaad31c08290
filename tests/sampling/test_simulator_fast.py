"""The per-step sampling kernel: the same process as the exact event-driven kernel (rates and
pairwise activity over seeds), refractoriness, reproducible streams."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikealign.sampling import draw_problem, simulate_spikes
from spikealign.sampling.simulator_fast import simulate_spikes_fast

SEEDS = np.arange(10, dtype=np.uint64)
T_REF = 50


def _statistics(st, t_ref: int, every: int = 10) -> np.ndarray:
    """Per replica: each neuron's active fraction ``P(z_i = 1)`` and each pair's ``P(z_i z_j = 1)``
    (``z_k(t) = 1`` iff k spiked in ``[t - t_ref, t - 1]``), sampled every ``every`` steps."""
    N, T = st.n_neurons, st.n_steps
    samples = np.arange(0, T, every)
    out = []
    for r in range(st.n_replicas):
        times, ids = st.replica(r)
        z = np.zeros((samples.size, N), dtype=bool)
        for i in range(N):
            ti = times[ids == i]
            # the last spike before each sample step, at most t_ref steps before it
            k = np.searchsorted(ti, samples, side="left") - 1
            z[:, i] = (k >= 0) & (samples - ti[np.maximum(k, 0)] <= t_ref)
        iu = np.triu_indices(N, 1)
        pair = (z[:, :, None] & z[:, None, :]).mean(axis=0)[iu]
        out.append(np.concatenate([z.mean(axis=0), pair]))
    return np.array(out)


def _chi2(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Sum over the statistics of the squared difference of the seed means in units of its standard error."""
    se2 = a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b)
    keep = se2 > 0
    z2 = (a.mean(axis=0) - b.mean(axis=0))[keep] ** 2 / se2[keep]
    return float(z2.sum()), int(keep.sum())


def _networks(N: int, R: int) -> tuple[np.ndarray, np.ndarray]:
    if N == 7:
        p = draw_problem(7, 4242, 4343, init_noise=0.2)
        W, b = p.W_init * 4, p.b_init - 0.5  # stronger coupling than at initialisation: pairs matter
    else:
        rng = np.random.default_rng(N)
        W = rng.normal(0, 1.0 / math.sqrt(N), (N, N))
        W = (W + W.T) / 2
        np.fill_diagonal(W, 0)
        b = rng.normal(-0.5, 0.2, N)
    return np.repeat(W[None], R, 0), np.repeat(b[None], R, 0)


@pytest.mark.parametrize(("N", "T"), [(7, 200_000), (30, 50_000)])
def test_per_step_kernel_samples_the_exact_kernels_process(N, T):
    W, b = _networks(N, len(SEEDS))
    exact = _statistics(simulate_spikes(W, b, T, t_ref=T_REF, tau_syn=T_REF, seeds=SEEDS), T_REF)
    fast = _statistics(simulate_spikes_fast(W, b, T, t_ref=T_REF, tau_syn=T_REF, seeds=SEEDS + 100), T_REF)
    chi2, k = _chi2(fast, exact)
    bound = k + 4 * math.sqrt(2 * k)  # chi-square with k degrees of freedom: mean k, sd sqrt(2k)
    assert chi2 < bound, f"{chi2:.1f} over {k} statistics (bound {bound:.1f})"
    # the same comparison sees a different process: t_ref 45 instead of 50
    other = _statistics(simulate_spikes_fast(W, b, T, t_ref=45, tau_syn=45, seeds=SEEDS + 200), T_REF)
    assert _chi2(other, exact)[0] > 4 * bound


def test_refractoriness_sparse_weights_and_reproducibility():
    rng = np.random.default_rng(1)
    N = 40
    W = rng.normal(0, 0.5, (2, N, N)) * (rng.random((2, N, N)) < 0.1)  # sparse: the CSR path
    b = rng.normal(0.0, 0.3, (2, N))
    a = simulate_spikes_fast(W, b, 20_000, t_ref=10, tau_syn=10, seeds=np.array([3, 4], dtype=np.uint64))
    again = simulate_spikes_fast(W, b, 20_000, t_ref=10, tau_syn=10, seeds=np.array([3, 4], dtype=np.uint64))
    assert np.array_equal(a.times, again.times) and np.array_equal(a.neurons, again.neurons)
    t0, i0 = a.replica(0)
    t1, _ = a.replica(1)
    assert len(t0) > 1000 and not np.array_equal(t0[:100], t1[:100])
    for i in range(N):  # at least t_ref + 1 steps between two spikes of a neuron
        assert np.all(np.diff(t0[i0 == i]) >= 11)
    # dense and sparse storage of the same weights give the same spikes
    dense = W.copy()
    dense[dense == 0] = 1e-300  # non-zero everywhere: the dense path, numerically the same weights
    d = simulate_spikes_fast(dense, b, 20_000, t_ref=10, tau_syn=10, seeds=np.array([3, 4], dtype=np.uint64))
    assert np.array_equal(d.times, a.times) and np.array_equal(d.neurons, a.neurons)
