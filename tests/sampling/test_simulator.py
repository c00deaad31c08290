"""The neuron model: event-driven kernel, stepwise ground truth, fused kernel.

See docs/sampling.md, "Neurons that sample".
"""

import numpy as np
import pytest

from spikealign.errors import UserError
from spikealign.sampling import (
    distribution_from_states,
    pairbased_stdp,
    sal_ruler,
    simulate_spikes,
    simulate_spikes_stepwise,
    states_from_spikes,
    ws_ruler,
)
from spikealign.sampling.trainer import phase_statistics

T_REF = 50


def on_fraction_sd(rho: float, t_ref: int, T: int) -> float:
    """Standard deviation of the on-fraction estimate n t_ref / T of an isolated neuron.

    Inter-spike intervals are t_ref + 1 + G with G ~ Geometric0(rho): mean mu = t_ref + 1/rho,
    variance s2 = (1 - rho)/rho^2.  For a renewal process Var(n) ~ T s2 / mu^3 (T >> mu), hence
    sd(n t_ref / T) = t_ref sqrt(s2 / (T mu^3)).
    """
    mu = t_ref + 1.0 / rho
    s2 = (1.0 - rho) / rho**2
    return t_ref * np.sqrt(s2 / (T * mu**3))


@pytest.mark.parametrize("sim", [simulate_spikes, simulate_spikes_stepwise])
def test_isolated_neuron_on_fraction(sim):
    biases = np.array([-1.0, 0.0, 1.0, 2.0])
    T = 2_000_000
    W = np.zeros((4, 1, 1))
    st = sim(W, biases[:, None], T, t_ref=T_REF, tau_syn=T_REF, seeds=np.arange(4, dtype=np.uint64) + 11)
    measured = st.counts()[:, 0] * T_REF / T
    rho = 1.0 / (1.0 + T_REF * np.exp(-biases))
    expected = T_REF * rho / (1.0 + T_REF * rho)
    sd = np.array([on_fraction_sd(r, T_REF, T) for r in rho])
    # 5 sd: a false failure has probability < 3e-6 per bias
    assert np.all(np.abs(measured - expected) < 5 * sd), (measured, expected, sd)
    # the reference's measured values (docs/sampling.md table, one run of the same length each): the difference of
    # two independent estimates has sd sqrt(2) sd
    reference = np.array([0.2655, 0.4948, 0.7192, 0.8653])
    assert np.all(np.abs(measured - reference) < 5 * np.sqrt(2) * sd + 5e-5)
    # strict refractoriness: consecutive spikes at least t_ref + 1 apart
    for r in range(4):
        t, _ = st.replica(r)
        assert np.min(np.diff(t)) >= T_REF + 1


def _net(n, seed):
    rng = np.random.default_rng(seed)
    W = rng.uniform(-1.5, 1.5, (n, n))  # asymmetric on purpose: the sampler does not need symmetry
    np.fill_diagonal(W, 0.0)
    return W, rng.uniform(-1, 1, n)


@pytest.mark.parametrize("n", [4, 5])
def test_event_driven_and_stepwise_sample_the_same_distribution(n):
    """Two independent long runs (event-driven vs step-by-step) give the same state distribution.

    Each simulator runs R = 16 independent replicas of 2e5 steps (8000 samples each).  Per state the
    replica means are compared with a Welch t statistic whose standard error comes from the spread of
    the replicas (independent, so this includes the autocorrelation of samples within a run).  With
    2^n <= 32 states and |t| < 5.5 (30 df, p ~ 5e-6 each) a false failure has probability < 2e-4.
    """
    W, b = _net(n, 3 + n)
    R, T = 16, 200_000
    Wr, br = np.repeat(W[None], R, 0), np.repeat(b[None], R, 0)
    dists = []
    for sim, off in ((simulate_spikes, 0), (simulate_spikes_stepwise, 1000)):
        st = sim(Wr, br, T, t_ref=T_REF, tau_syn=T_REF, seeds=np.arange(R, dtype=np.uint64) + off)
        q = np.stack([distribution_from_states(states_from_spikes(*st.replica(r), n, T, T_REF)) for r in range(R)])
        dists.append(q)
    a, c = dists
    se = np.sqrt(a.var(0, ddof=1) / R + c.var(0, ddof=1) / R)
    diff = a.mean(0) - c.mean(0)
    mask = se > 0
    assert np.all(np.abs(diff[mask]) < 5.5 * se[mask]), np.max(np.abs(diff[mask]) / se[mask])
    assert np.all(diff[~mask] == 0)
    # and the pooled distributions are close in D_KL terms
    p, q = a.mean(0), c.mean(0)
    m = (p > 0) & (q > 0)
    assert np.sum(p[m] * np.log(p[m] / q[m])) < 5e-3


def test_event_driven_without_lookup_table_matches_stepwise():
    """N = 11 > TABLE_MAX_N: the kernel computes rho from the running potential instead of a table.

    Marginals and pairwise coactivations of the states (replica means, R = 12 each) are compared with Welch t
    statistics; 11 + 55 comparisons at |t| < 5.5 (22 df, p < 2e-5 each) give a false-failure rate < 2e-3.
    """
    from spikealign.sampling.simulator import TABLE_MAX_N

    n = TABLE_MAX_N + 1
    W, b = _net(n, 21)
    W *= 0.5
    R, T = 12, 100_000
    Wr, br = np.repeat(W[None], R, 0), np.repeat(b[None], R, 0)
    out = []
    for sim, off in ((simulate_spikes, 0), (simulate_spikes_stepwise, 1000)):
        st = sim(Wr, br, T, t_ref=T_REF, tau_syn=T_REF, seeds=np.arange(R, dtype=np.uint64) + off)
        feats = []
        for r in range(R):
            z = states_from_spikes(*st.replica(r), n, T, T_REF).astype(float)
            C = z.T @ z / z.shape[0]
            feats.append(C[np.triu_indices(n)])
        out.append(np.array(feats))
    a, c = out
    se = np.sqrt(a.var(0, ddof=1) / R + c.var(0, ddof=1) / R)
    assert np.all(np.abs(a.mean(0) - c.mean(0)) < 5.5 * se), np.max(np.abs(a.mean(0) - c.mean(0)) / se)


def test_psp_acts_from_next_step_and_lasts_tau_syn_minus_one_steps():
    """Strong excitation: the driven neuron can only fire while the driver's PSP is on."""
    W = np.array([[0.0, 0.0], [40.0, 0.0]])  # neuron 0 drives neuron 1 (post, pre): u_1 = 10 while on
    b = np.array([0.0, -30.0])
    T = 200_000
    st = simulate_spikes(W, b, T, t_ref=T_REF, tau_syn=10, seeds=np.array([5], dtype=np.uint64))
    t, i = st.replica(0)
    t0 = t[i == 0]
    t1 = t[i == 1]
    assert t1.size > 100
    # every spike of neuron 1 falls 1 .. 9 steps after a spike of neuron 0
    k = np.searchsorted(t0, t1, side="left") - 1  # last driver spike strictly before
    lag = t1 - t0[k]
    assert lag.min() >= 1 and lag.max() <= 9
    # rho = 1/(1 + 50 e^-10) = 0.998 per step: when eligible it fires at lag 1 almost always
    assert np.mean(lag == 1) > 0.99


def test_fused_kernel_equals_simulator_plus_standalone_statistics():
    """The trainer's fused kernel samples the same spikes (same seed) and accumulates the same statistics."""
    n, T, R = 5, 300_000, 3
    W, b = _net(n, 1)
    Wr, br = np.repeat(W[None], R, 0), np.repeat(b[None], R, 0)
    seeds = np.array([7, 8, 9], dtype=np.uint64)
    rng = np.random.default_rng(0)
    gains = 1.0 + rng.uniform(-0.1, 0.1, (n, n))
    rulers = [ws_ruler(gains), sal_ruler(gains[::-1].copy())]
    stats = phase_statistics(Wr, br, T, t_ref=T_REF, tau_syn=T_REF, seeds=seeds, rulers=rulers)
    st = simulate_spikes(Wr, br, T, t_ref=T_REF, tau_syn=T_REF, seeds=seeds)
    np.testing.assert_array_equal(stats["counts"], st.counts())
    for r in range(R):
        t, i = st.replica(r)
        for k, ru in enumerate(rulers):
            np.testing.assert_allclose(stats["S"][r, k], pairbased_stdp(t, i, n, ru, depth=1), rtol=1e-12, atol=1e-9)
            # depth 10 (the reference default) changes nothing for a triangle of width <= t_ref + 1
            np.testing.assert_allclose(pairbased_stdp(t, i, n, ru, depth=10), pairbased_stdp(t, i, n, ru), atol=1e-9)
        hist = np.bincount(states_from_spikes(t, i, n, T, T_REF) @ (1 << np.arange(n - 1, -1, -1)), minlength=2**n)
        np.testing.assert_array_equal(stats["hist"][r], hist)


def test_same_seed_same_spikes_and_replicas_independent_of_batching():
    W, b = _net(4, 2)
    Wr, br = np.repeat(W[None], 3, 0), np.repeat(b[None], 3, 0)
    seeds = np.array([1, 2, 3], dtype=np.uint64)
    a = simulate_spikes(Wr, br, 50_000, t_ref=T_REF, tau_syn=T_REF, seeds=seeds)
    c = simulate_spikes(Wr[1:], br[1:], 50_000, t_ref=T_REF, tau_syn=T_REF, seeds=seeds[1:], chunk=1)
    for r in (1, 2):
        np.testing.assert_array_equal(a.replica(r)[0], c.replica(r - 1)[0])
        np.testing.assert_array_equal(a.replica(r)[1], c.replica(r - 1)[1])
    assert not np.array_equal(a.replica(0)[0][:50], a.replica(1)[0][:50])
    sl = a.spike_list(0)
    assert sl.shape[1] == 2 and sl[:, 1].min() >= 1  # 1-based ids, reference format


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"W": np.zeros((2, 3))}, "square"),
        ({"n_steps": 0}, "n_steps"),
        ({"tau_syn": 60}, "tau_syn"),
        ({"seeds": np.zeros(3, dtype=np.uint64)}, "seeds"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"W": np.zeros((2, 2)), "b": np.zeros(2), "n_steps": 100, "t_ref": 50, "tau_syn": 50,
            "seeds": np.zeros(1, dtype=np.uint64)}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(UserError, match=match):
        simulate_spikes(args.pop("W"), args.pop("b"), args.pop("n_steps"), **args)
