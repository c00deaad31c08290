"""The fast sampling kernels (event and per-step): the same process as the exact event-driven kernel (rates and
pairwise activity over seeds), refractoriness, reproducible streams."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from spikealign.errors import UserError
from spikealign.sampling import (
    distribution_from_states,
    draw_problem,
    simulate_spikes,
    simulate_spikes_stepwise,
    states_from_spikes,
)
from spikealign.sampling.simulator import seed_states
from spikealign.sampling.simulator_fast import (
    POTENTIAL_MAX,
    SPARSE_MAX_FRACTION,
    ZIGGURAT_R,
    StepWeights,
    _exp_variate,
    _product_of_columns,
    _resync,
    _step_weights,
    simulate_spikes_fast,
)


@numba.njit
def _exp_variates(rng: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(n)
    for k in range(n):
        out[k] = _exp_variate(rng)
    return out


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


N_PERMUTATIONS = 2000


def _permutation_p(a: np.ndarray, b: np.ndarray) -> float:
    """p-value of ``_chi2(a, b)`` under "both sets of replicas come from the same process".

    Under that hypothesis the pooled replicas are exchangeable, so the statistic of random
    relabellings of the pool (fixed seed) is its exact null distribution, whatever the correlations
    of the statistics and the spread of their standard errors (the statistic is not chi-square with
    ``k`` degrees of freedom: 10 seeds per side give t-distributed, correlated terms; for two samples
    of the exact kernel its 99 % quantile is about 3k).  ``p = (1 + #{relabelled >= observed}) /
    (1 + N_PERMUTATIONS)``; a false failure at ``p <= 1e-3`` has probability 1e-3.
    """
    observed = _chi2(a, b)[0]
    pool = np.concatenate([a, b])
    rng = np.random.default_rng(12345)
    beyond = 0
    for _ in range(N_PERMUTATIONS):
        perm = rng.permutation(len(pool))
        beyond += _chi2(pool[perm[: len(a)]], pool[perm[len(a) :]])[0] >= observed
    return (1 + beyond) / (1 + N_PERMUTATIONS)


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


@pytest.mark.parametrize(
    ("N", "T", "kernel"),
    [(7, 200_000, "event"), (7, 200_000, "per_step"), (30, 50_000, "per_step"), (30, 50_000, "event")],
)
def test_fast_kernels_sample_the_exact_kernels_process(N, T, kernel):
    """Every neuron's active fraction and every pair's joint activity, 10 seeds each, against the exact kernel.

    (N = 7: the event kernel with its hazard tables; N = 30: without them.)"""
    W, b = _networks(N, len(SEEDS))
    exact = _statistics(simulate_spikes(W, b, T, t_ref=T_REF, tau_syn=T_REF, seeds=SEEDS), T_REF)
    fast_spikes = simulate_spikes_fast(W, b, T, t_ref=T_REF, tau_syn=T_REF, seeds=SEEDS + 100, kernel=kernel)
    fast = _statistics(fast_spikes, T_REF)
    p = _permutation_p(fast, exact)
    assert p > 1e-3, f"chi2 {_chi2(fast, exact)[0]:.1f} beyond the relabelled pool's (p = {p:.4f})"
    # the same comparison sees a different process: t_ref 45 instead of 50
    other = _statistics(
        simulate_spikes_fast(W, b, T, t_ref=45, tau_syn=45, seeds=SEEDS + 200, kernel=kernel), T_REF
    )  # fmt: skip
    assert _permutation_p(other, exact) <= 1e-3


def test_refractoriness_sparse_weights_and_reproducibility():
    rng = np.random.default_rng(1)
    N = 40
    W = rng.normal(0, 0.5, (2, N, N)) * (rng.random((2, N, N)) < 0.05)  # sparse: the CSR path
    assert np.count_nonzero(W) <= SPARSE_MAX_FRACTION * W.size
    b = rng.normal(0.0, 0.3, (2, N))
    T = 140_000  # eight recomputations of q from the PSPs that are on (RESYNC_STEPS = 16384)
    a = simulate_spikes_fast(W, b, T, t_ref=10, tau_syn=10, seeds=np.array([3, 4], dtype=np.uint64), kernel="per_step")
    again = simulate_spikes_fast(W, b, T, t_ref=10, tau_syn=10, seeds=np.array([3, 4], dtype=np.uint64))
    assert np.array_equal(a.times, again.times) and np.array_equal(a.neurons, again.neurons)
    t0, i0 = a.replica(0)
    t1, _ = a.replica(1)
    assert len(t0) > 1000 and not np.array_equal(t0[:100], t1[:100])
    for i in range(N):  # at least t_ref + 1 steps between two spikes of a neuron
        assert np.all(np.diff(t0[i0 == i]) >= 11)
    # dense and sparse storage of the same weights give the same spikes
    dense = W.copy()
    dense[dense == 0] = 1e-300  # non-zero everywhere: the dense path, numerically the same weights
    d = simulate_spikes_fast(dense, b, T, t_ref=10, tau_syn=10, seeds=np.array([3, 4], dtype=np.uint64))
    assert np.array_equal(d.times, a.times) and np.array_equal(d.neurons, a.neurons)


@pytest.mark.parametrize("density", [1.0, 0.05])
def test_per_step_kernel_products_stay_at_t_ref_exp_minus_u(density):
    """``q = t_ref e^{-u}`` (float32) kept by multiplying / dividing by products of float32 ``e^{-W}`` columns
    (dense and sparse storage give the product of the columns in the order of the spikes, bit for bit):
    its recomputation from the PSPs that are on matches ``t_ref e^{-u}`` to float32 rounding (each factor
    shifts a weight by at most 6e-8), and 10^4 steps of PSPs switching on and off leave it within 1e-4 of
    where it started (the roundings are unbiased: their random walk has a spread of about 1e-5)."""
    rng = np.random.default_rng(4)
    N, t_ref = 60, 50
    W = rng.normal(0, 0.5, (1, N, N)) * (rng.random((1, N, N)) < density)
    b = rng.normal(0, 0.5, N)
    weights = _step_weights(W)
    assert weights.sparse == (density < 1)
    weights = StepWeights(*(a[0] for a in weights[:3]), weights.sparse)
    ring = rng.integers(0, N, (3, N))
    ring_n = np.array([5, 7, 0])
    q = np.empty(N, dtype=np.float32)
    _resync(q, b, ring, ring_n, weights, t_ref)
    u = b + sum(W[0][:, ring[s, m]] for s in range(3) for m in range(ring_n[s]))
    np.testing.assert_allclose(q, t_ref * np.exp(-u), rtol=2e-6)
    expected = q.astype(np.float64)
    products = np.empty((1, N), dtype=np.float32)
    ring = np.empty((1, 8), dtype=np.int64)
    factor = np.exp(-W[0]).astype(np.float32)  # factor[i, j] = f_ij
    for step in range(10_000):
        n = int(rng.integers(1, 9))
        ring[0] = rng.integers(0, N, 8)
        _product_of_columns(products, 0, weights.factor, weights.ptr, weights.idx, weights.sparse, ring, n)
        if step < 20:  # the product of the columns, multiplied in the order of the spikes (float32)
            p = np.ones(N, dtype=np.float32)
            for j in ring[0, :n]:
                p = p * factor[:, j]
            np.testing.assert_array_equal(products[0], p)
        q = q * products[0] / np.float32(1.0)  # n PSPs on (as the kernel's decision pass applies them)
        q = q * np.float32(1.0) / products[0]  # and off again
    np.testing.assert_allclose(q, expected, rtol=1e-4)
    assert not np.array_equal(q, expected)  # the products did round (the tolerance is not idle)


def test_per_step_kernel_needs_potentials_within_float32_range():
    """``t_ref e^{-u}`` in float32: potentials beyond +-POTENTIAL_MAX are refused by ``per_step`` (the bound
    named) and ``auto`` takes the event kernel instead (the same spikes as asking for it)."""
    W = np.zeros((1, 12, 12))
    W[0, 0, 1] = 2 * POTENTIAL_MAX
    b = np.full((1, 12), -1.0)
    seeds = np.array([9], dtype=np.uint64)
    with pytest.raises(UserError, match=r"\|u\| = 161"):
        simulate_spikes_fast(W, b, 1000, t_ref=10, tau_syn=10, seeds=seeds, kernel="per_step")
    auto = simulate_spikes_fast(W, b, 20_000, t_ref=10, tau_syn=10, seeds=seeds)
    event = simulate_spikes_fast(W, b, 20_000, t_ref=10, tau_syn=10, seeds=seeds, kernel="event")
    assert len(auto.times) > 100 and np.array_equal(auto.times, event.times)
    assert np.array_equal(auto.neurons, event.neurons)


@pytest.mark.parametrize("tau_syn", [20, T_REF + 1])
def test_event_kernel_and_stepwise_sample_the_same_state_distribution(tau_syn):
    """PSPs shorter than the refractory period, and as long as it allows (ending when refractoriness ends).

    R = 16 replicas of 2e5 steps each; per state the replica means are compared with a Welch t statistic (the
    spread of independent replicas includes the autocorrelation within a run); 16 states at |t| < 5.5 (30 df,
    p ~ 5e-6 each) give a false-failure rate below 1e-4.
    """
    rng = np.random.default_rng(8)
    n = 4
    W = rng.uniform(-1.5, 1.5, (n, n))
    np.fill_diagonal(W, 0.0)
    b = rng.uniform(-1, 1, n)
    R, T = 16, 200_000
    Wr, br = np.repeat(W[None], R, 0), np.repeat(b[None], R, 0)
    seeds = np.arange(R, dtype=np.uint64)
    runs = (
        simulate_spikes_fast(Wr, br, T, t_ref=T_REF, tau_syn=tau_syn, seeds=seeds, kernel="event"),
        simulate_spikes_stepwise(Wr, br, T, t_ref=T_REF, tau_syn=tau_syn, seeds=seeds + 1000),
    )
    a, c = (
        np.stack([distribution_from_states(states_from_spikes(*st.replica(r), n, T, T_REF)) for r in range(R)])
        for st in runs
    )
    se = np.sqrt(a.var(0, ddof=1) / R + c.var(0, ddof=1) / R)
    assert np.all(np.abs(a.mean(0) - c.mean(0)) < 5.5 * se), np.max(np.abs(a.mean(0) - c.mean(0)) / se)


@pytest.mark.parametrize("kernel", ["event", "per_step"])
def test_psp_acts_from_the_next_step_for_tau_syn_minus_one_steps(kernel):
    """Strong excitation: the driven neuron fires only while the driver's PSP is on, at once when it can."""
    W = np.array([[0.0, 0.0], [40.0, 0.0]])  # neuron 0 drives neuron 1 (post, pre): u_1 = 10 while on
    b = np.array([0.0, -30.0])
    st = simulate_spikes_fast(W, b, 200_000, t_ref=T_REF, tau_syn=10, seeds=np.array([5], dtype=np.uint64),
                              kernel=kernel)  # fmt: skip
    t, i = st.replica(0)
    t0, t1 = t[i == 0], t[i == 1]
    assert t1.size > 100
    lag = t1 - t0[np.searchsorted(t0, t1, side="left") - 1]  # after the last driver spike strictly before
    assert lag.min() >= 1 and lag.max() <= 9
    assert np.mean(lag == 1) > 0.99  # rho = 1/(1 + 50 e^-10) = 0.998 per step while on


def test_event_kernel_refractoriness_reproducibility_and_kernel_choice():
    W, b = _networks(7, 2)
    seeds = np.array([3, 4], dtype=np.uint64)
    a = simulate_spikes_fast(W, b, 50_000, t_ref=10, tau_syn=10, seeds=seeds)  # auto: event kernel for N = 7
    again = simulate_spikes_fast(W, b, 50_000, t_ref=10, tau_syn=10, seeds=seeds, kernel="event")
    assert np.array_equal(a.times, again.times) and np.array_equal(a.neurons, again.neurons)
    per_step = simulate_spikes_fast(W, b, 50_000, t_ref=10, tau_syn=10, seeds=seeds, kernel="per_step")
    assert not np.array_equal(a.times[:100], per_step.times[:100])
    t0, i0 = a.replica(0)
    t1, _ = a.replica(1)
    assert len(t0) > 1000 and not np.array_equal(t0[:100], t1[:100])
    assert np.all(np.diff(t0) >= 0)
    for i in range(7):  # at least t_ref + 1 steps between two spikes of a neuron
        assert np.all(np.diff(t0[i0 == i]) >= 11)
    with pytest.raises(UserError, match="kernel"):
        simulate_spikes_fast(W, b, 100, t_ref=10, tau_syn=10, seeds=seeds, kernel="fastest")


def test_ziggurat_exponential_variates():
    """The event kernel's Exp(1) variates: Kolmogorov-Smirnov over 2e6 draws (p > 1e-4: a false failure has
    probability 1e-4), mean and variance within 5 standard errors, the tail beyond the ziggurat's base strip."""
    from scipy import stats

    n = 2_000_000
    x = _exp_variates(seed_states(np.array([7], dtype=np.uint64))[0], n)
    assert stats.kstest(x, "expon").pvalue > 1e-4
    assert abs(x.mean() - 1) < 5 / math.sqrt(n) and abs(x.var() - 1) < 5 * math.sqrt(8 / n)  # Var(E^2) = 20 - 4
    tail = np.exp(-ZIGGURAT_R)
    assert abs((x > ZIGGURAT_R).mean() - tail) < 5 * math.sqrt(tail / n)
    assert (x > ZIGGURAT_R + 3).sum() > 0 or tail * math.exp(-3) * n < 3  # the tail is not cut off
