"""The NEST SAL synapse changes its weights by exactly the all-pairs sum of the spikes it saw.

NEST treats the whole synaptic delay ``d`` as dendritic: the synapse sees a presynaptic spike at
its emission time and a postsynaptic spike ``d`` later, so the reference is
``sal_from_spike_trains(pre, post, delay=-d)`` (the pre spike at ``t_pre - d`` relative to the post
spike). It applies a postsynaptic spike's causal pairs when the next presynaptic spike passes, so a
weight read at time ``T`` holds the pre spikes delivered by then (``t_pre < T``: the one emitted in
the last time step is still in flight) and the post spikes with ``t_post + d`` up to the last of
those. A post spike with ``t_post + d == t_pre`` pairs with ``K(0) = 0``.
"""

import numpy as np
import pytest

from spikealign.plasticity import SALParams, sal_from_spike_trains, sal_window
from spikealign.salnet.spec import LIFParams, SALNetworkSpec

from .conftest import needs_nest

pytestmark = needs_nest

PARAMS = SALParams(a_plus=-1.0, a_minus=0.7, tau_plus=15.0, tau_minus=25.0, eta=0.01)


def _seen_by_synapse(pre, post, t_read, delay, dt):
    """The pre and post spikes whose pairs a weight read at ``t_read`` holds (see the module docstring)."""
    pre = pre[pre < t_read - dt / 2]
    last = pre[-1] if len(pre) else -np.inf
    return pre, post[post + delay <= last + dt / 2]


def _max_pair_sum(pre, post, delay):
    """Sum of |eta K| over all pairs: the scale of the float rounding of a weight change."""
    return float(np.sum(np.abs(sal_window(post[:, None] - (pre[None, :] + delay), PARAMS))))


@pytest.mark.parametrize("delay", [1.0, 2.5])
def test_network_weight_changes_equal_all_pairs_sum(sal_module, delay):
    from spikealign.nest import simulate_sal_network

    spec = SALNetworkSpec(
        n_neurons=8, p_connect=0.6, w_mean_pa=60.0, w_std_pa=30.0, delay_ms=delay,
        drive_rate_hz=6000.0, drive_weight_pa=45.0, lif=LIFParams(), sal=PARAMS,
        dt_ms=0.1, duration_ms=1500.0, record_interval_ms=500.0, seed=3,
    )  # fmt: skip
    rec = simulate_sal_network(spec)
    assert np.array_equal(rec.times_ms, [0.0, 500.0, 1000.0, 1500.0])
    w0 = spec.initial_weights()
    assert np.array_equal(np.isnan(rec.weights[0]), np.isnan(w0))
    np.testing.assert_allclose(rec.weights[0], w0, rtol=1e-15)  # NaN at the same places
    rates = [len(s) / 1.5 for s in rec.spike_times_ms]
    assert 10 < np.mean(rates) < 200, rates  # every neuron spikes, the traces see many pairs

    post_idx, pre_idx = np.nonzero(~np.isnan(w0))
    n_coincident, worst = 0, 0.0
    for k, t_read in enumerate(rec.times_ms[1:], start=1):
        for i, j in zip(post_idx, pre_idx, strict=True):
            pre, post = _seen_by_synapse(rec.spike_times_ms[j], rec.spike_times_ms[i], t_read, delay, spec.dt_ms)
            expected = sal_from_spike_trains(pre, post, PARAMS, delay=-delay)
            got = rec.weights[k, i, j] - w0[i, j]
            scale = _max_pair_sum(pre, post, -delay)
            assert abs(got - expected) <= 1e-12 * max(scale, 1e-300), (k, i, j, got, expected)
            worst = max(worst, abs(got - expected) / max(scale, 1e-300))
            n_coincident += int(np.sum(np.isclose(post[:, None] + delay, pre[None, :], rtol=0, atol=1e-9)))
    assert n_coincident > 0  # the K(0) = 0 case was exercised (fixed seed)
    print(f"delay {delay} ms: largest residual / sum|terms| = {worst:.2e}; coincident pairs {n_coincident}")


def test_other_delay_conventions_do_not_match(sal_module):
    """The check above can fail: the pre spike delayed instead (delay=+d) gives other numbers."""
    from spikealign.nest import simulate_sal_network

    spec = SALNetworkSpec(
        n_neurons=4, p_connect=1.0, w_mean_pa=60.0, w_std_pa=30.0, drive_rate_hz=6000.0,
        drive_weight_pa=45.0, sal=PARAMS, duration_ms=1000.0, record_interval_ms=1000.0, seed=1,
    )  # fmt: skip
    rec = simulate_sal_network(spec)
    d = spec.delay_ms
    pre, post = _seen_by_synapse(rec.spike_times_ms[0], rec.spike_times_ms[1], 1000.0, d, spec.dt_ms)
    got = rec.weights[-1, 1, 0] - rec.weights[0, 1, 0]
    assert got == pytest.approx(sal_from_spike_trains(pre, post, PARAMS, delay=-d), rel=1e-12)
    assert abs(got - sal_from_spike_trains(pre, post, PARAMS, delay=+d)) > 1e-3 * abs(got)


def test_drift_reduces_asymmetry_of_a_pair(nest):
    """Two-neuron reciprocal pairs on a grid: d(W_10 - W_01)/dt has the sign of W_01 - W_10.

    Many independent pairs run side by side (own Poisson drive each); with a small learning rate
    the weights stay near their grid point. The mean drift over the replicas of a grid point must
    have the predicted sign and exceed 3 standard errors.
    """
    from spikealign.nest import PAIRED_NEURON_MODEL, connect_sal_pairs, weight_matrix

    grid = [(200.0, 50.0), (50.0, 200.0), (150.0, 100.0), (100.0, 150.0)]  # (W_10: 0 -> 1, W_01: 1 -> 0)
    replicas, params = 12, SALParams(eta=1e-4)
    nest.set(resolution=0.1, rng_seed=11)
    drive = nest.Create("poisson_generator", params={"rate": 6000.0})
    drifts = np.zeros((len(grid), replicas))
    pairs = []
    for w10, w01 in grid:
        for _ in range(replicas):
            pop = nest.Create(PAIRED_NEURON_MODEL, 2)
            nest.Connect(drive, pop, "all_to_all", {"weight": 45.0, "delay": 0.1})
            connect_sal_pairs(pop, weights=np.array([[np.nan, w01], [w10, np.nan]]), params=params, delay=1.0)
            pairs.append(pop)
    nest.Simulate(20000.0)
    for n, pop in enumerate(pairs):
        w = weight_matrix(pop, pop)
        w10, w01 = grid[n // replicas]
        drifts[n // replicas, n % replicas] = (w[1, 0] - w[0, 1]) - (w10 - w01)
    mean, se = drifts.mean(axis=1), drifts.std(axis=1, ddof=1) / np.sqrt(replicas)
    expected_sign = np.sign([w01 - w10 for w10, w01 in grid])
    print("drift of W_10 - W_01 per grid point:", mean, "+-", se)
    assert np.all(np.sign(mean) == expected_sign), (mean, se)
    assert np.all(np.abs(mean) > 3 * se), (mean, se)
