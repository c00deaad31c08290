"""Brian2 SAL synapses: the weight change equals the pair sum of the recorded spikes (delay on the pre pathway)."""

from __future__ import annotations

import numpy as np
import pytest

from spikealign._optional import MissingExtraError
from spikealign.plasticity import SALParams, sal_from_spike_trains
from spikealign.salnet.spec import SALNetworkSpec, expected_weight_change

try:
    import spikealign.brian2 as sb
except MissingExtraError as exc:  # brian2 absent, or not importable with this numpy
    pytest.skip(f"Brian2 engine unavailable: {exc}", allow_module_level=True)


def test_one_synapse_with_given_spike_times_matches_the_pair_sum():
    import brian2 as b2

    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = 0.1 * b2.ms
    # a post spike in the step of a pre arrival (12.0 + 0.3): a simultaneous pair, K(0) = 0
    pre_t, post_t = np.array([5.0, 12.0, 30.0, 31.0]), np.array([6.0, 12.3, 13.1, 29.0, 40.0])
    pre = b2.SpikeGeneratorGroup(1, np.zeros(4, dtype=int), pre_t * b2.ms)
    post = b2.SpikeGeneratorGroup(1, np.zeros(5, dtype=int), post_t * b2.ms)
    params = SALParams(a_plus=-1.5, a_minus=0.7, tau_plus=8.0, tau_minus=5.0, eta=2.0)
    syn = b2.Synapses(pre, post, model=sb.SAL_MODEL, on_pre=sb.SAL_ON_PRE, on_post=sb.SAL_ON_POST,
                      namespace=sb.sal_namespace(params))  # fmt: skip
    syn.connect(i=0, j=0)
    syn.w, syn.delay, syn.tpre, syn.tpost = 10 * b2.pA, 0.3 * b2.ms, -1 * b2.second, -1 * b2.second
    b2.Network(pre, post, syn).run(45 * b2.ms)
    expected = 10.0 + sal_from_spike_trains(pre_t, post_t, params, delay=0.3)
    assert float(syn.w[0] / b2.pA) == pytest.approx(expected, rel=1e-12)


def test_network_weight_change_equals_the_pair_sum_of_its_spikes():
    spec = SALNetworkSpec(n_neurons=20, p_connect=0.3, duration_ms=400.0, record_interval_ms=200.0, seed=3)
    record = sb.simulate_sal_network(spec)
    assert sum(len(t) for t in record.spike_times_ms) > 100
    exact = expected_weight_change(spec, record)
    present = ~np.isnan(exact)
    change = (record.weights[-1] - record.weights[0])[present]
    scale = np.abs(exact[present]).max()
    assert scale > 1.0
    np.testing.assert_allclose(change, exact[present], rtol=0, atol=1e-9 * scale)
    np.testing.assert_array_equal(np.isnan(record.weights[-1]), np.isnan(spec.initial_weights()))


def test_weight_matrix_is_post_pre_with_nan_for_missing():
    import brian2 as b2

    b2.start_scope()
    group = b2.NeuronGroup(3, "I : amp", threshold="False")
    w = np.array([[np.nan, 1.0, 2.0], [3.0, np.nan, np.nan], [np.nan, 4.0, np.nan]])
    syn = sb.connect_sal_pairs(group, group, w, SALParams(), delay_ms=1.0)
    np.testing.assert_array_equal(sb.weight_matrix(syn, 3, 3), w)
