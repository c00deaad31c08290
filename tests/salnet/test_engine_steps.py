"""The named steps of the numba SAL network kernel (salnet.engine) against their equations."""

from __future__ import annotations

import math

import numpy as np

from spikealign.plasticity import SALParams, sal_step
from spikealign.salnet import engine
from spikealign.salnet.spec import SALNetworkSpec, checked_spec


def _state(n, w, has_syn, d=2):
    return engine.NetState(np.full(n, -70.0), np.zeros(n), np.zeros(n, dtype=np.int64),
                           np.zeros((d + 1, n), dtype=np.bool_), np.zeros(n), np.zeros(n), w, has_syn,
                           np.zeros(n, dtype=np.bool_))  # fmt: skip


def test_kernel_constants_come_from_the_spec():
    spec = checked_spec(SALNetworkSpec(dt_ms=0.5, delay_ms=1.0, sal=SALParams(eta=2.0, tau_plus=10.0, tau_minus=5.0)))
    lif, sal = engine.kernel_constants(spec)
    assert (lif.p11, lif.p21, lif.p22) == engine.propagators(spec)
    assert lif.ref_steps == 4 and lif.w_drive == spec.drive_weight_pa and lif.v_th == spec.lif.v_th_mv
    assert sal.delay == 2 and sal.decay_pre == math.exp(-0.05) and sal.decay_post == math.exp(-0.1)
    assert sal.eta_plus == -2.0 and sal.eta_minus == 2.0


def test_sal_update_follows_the_plasticity_rule_step_by_step():
    rng = np.random.default_rng(0)
    n, dt = 5, 0.25
    params = SALParams(a_plus=-1.0, a_minus=0.7, tau_plus=3.0, tau_minus=2.0, eta=0.5)
    has_syn = rng.random((n, n)) < 0.6
    state = _state(n, np.zeros((n, n)), has_syn)
    sal = engine.SalStep(1, math.exp(-dt / params.tau_plus), math.exp(-dt / params.tau_minus),
                         params.eta * params.a_plus, params.eta * params.a_minus)  # fmt: skip
    expected, traces = np.zeros((n, n)), None
    for _ in range(40):
        post = rng.random(n) < 0.3
        state.arriving[:] = rng.random(n) < 0.3
        engine._sal_update(post, state, sal)
        dw, traces = sal_step(state.arriving.astype(float), post.astype(float), traces, params, dt)
        expected += np.where(has_syn, dw, 0.0)
    assert np.abs(expected).max() > 0.5
    np.testing.assert_allclose(state.w, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(state.x_pre, traces.pre_trace, rtol=1e-13)
    np.testing.assert_allclose(state.y_post, traces.post_trace, rtol=1e-13)


def test_membrane_threshold_arrivals_and_current():
    n = 3
    lif = engine.LifStep(-70.0, -55.0, -75.0, 2, 0.8, 0.01, 0.9, 10.0)
    w = np.array([[0.0, 2.0, 3.0], [4.0, 0.0, 5.0], [6.0, 7.0, 0.0]])
    state = _state(n, w, ~np.eye(n, dtype=bool), d=1)
    state.v[:] = [-60.0, -50.0, -60.0]
    state.cur[:] = [100.0, 0.0, 50.0]
    state.refr[:] = [0, 0, 1]
    engine._membrane(state, lif)
    np.testing.assert_allclose(state.v, [-70 + 10 * 0.9 + 100 * 0.01, -70 + 20 * 0.9, -60.0])
    np.testing.assert_array_equal(state.refr, [0, 0, 0])
    state.v[1] = -54.0
    ev_step, ev_neuron = np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64)
    assert engine._threshold(7, state, lif, ev_step, ev_neuron, 1) == 2  # one event was there before
    assert (ev_step[1], ev_neuron[1]) == (7, 1) and state.v[1] == -75.0 and state.refr[1] == 2
    np.testing.assert_array_equal(state.hist[7 % 2], [False, True, False])
    engine._arrivals(8, state, 1)  # neuron 1's spike of step 7 arrives one step later
    np.testing.assert_array_equal(state.arriving, [False, True, False])
    engine._arrivals(0, state, 1)  # nothing arrives before the delay has passed
    assert not state.arriving.any()
    state.arriving[1] = True
    engine._synaptic_current(np.array([1, 0, 2], dtype=np.int32), state, lif)
    np.testing.assert_allclose(state.cur, [100 * 0.8 + 10 + 2.0, 0.0, 50 * 0.8 + 20 + 7.0])
