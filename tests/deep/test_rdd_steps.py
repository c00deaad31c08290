"""The named steps of the RDD kernel (deep.estimators.rdd) against their equations (module docstring)."""

from __future__ import annotations

import numpy as np
import pytest

from spikealign.deep.estimators import rdd as R


def _net(sizes=(3, 2, 2)):
    net = R.RDDNet(list(sizes))
    rng = np.random.default_rng(0)
    for k in range(1, len(sizes)):
        net.set_weight(k, rng.uniform(-1, 1, (sizes[k], sizes[k - 1])))
    return net


def _lags(t):
    cur, prev = np.empty(R.MEM, dtype=np.int64), np.empty(R.MEM, dtype=np.int64)
    R._lag_slots(t, cur, prev)
    return cur, prev


@pytest.mark.parametrize("t", [0, 7, R.MEM - 1, 5 * R.MEM + 3])
def test_lag_slots_name_the_ring_rows_of_the_last_mem_steps(t):
    cur, prev = _lags(t)
    m = np.arange(1, R.MEM + 1)
    np.testing.assert_array_equal(cur, (t - m + 1) % R.MEM)  # lag 1 = this step
    np.testing.assert_array_equal(prev, (t - m) % R.MEM)  # lag 1 = the step before
    assert sorted(cur) == list(range(R.MEM))


def test_record_drive_writes_the_row_and_the_last_nonzero_step():
    net = _net()
    state = net.spiking_state()
    R._record_drive(np.array([0, 2], dtype=np.int64), 33, 3, state)  # layer 1 starts at unit 3
    np.testing.assert_array_equal(net.dhist[33 % R.MEM, 3:5], [0, 2])
    assert net.dlast[3] < 0 and net.dlast[4] == 33


def test_apical_input_is_kappa_dot_the_upper_spikes_before_this_step():
    net = _net()
    t, ou = 40, 3  # layer 0's upper layer (units 3, 4)
    for lag in (1, 4, 9):  # unit 3 spiked 1, 4 and 9 steps ago; unit 4 longer ago than MEM
        net.hist[(t - lag) % R.MEM, 3] = 1
    net.hist[t % R.MEM, 3] = 1  # this row still holds step t - MEM (lag MEM) until this step's spikes overwrite it
    net.last[3], net.last[4] = t - 1, t - R.MEM - 1
    net.hist[(t - 5) % R.MEM, 4] = 1  # stale ring content of a unit silent for > MEM steps: ignored
    _, prev = _lags(t)
    R._apical_input(t, ou, 2, net.layout(), net.spiking_state(), prev)
    kap = R.kappas()
    assert net.qring[t % R.QRING, 3] == pytest.approx(kap[0] + kap[3] + kap[8] + kap[R.MEM - 1], rel=1e-15)
    assert net.qring[t % R.QRING, 4] == 0.0


def test_driven_basal_is_alpha_kappa_dot_the_drive_including_this_step():
    net = _net()
    t = 50
    net.dhist[t % R.MEM, 0], net.dhist[(t - 2) % R.MEM, 0] = 2, 1  # lags 1 and 3
    net.dlast[0] = t
    net.dhist[(t - 3) % R.MEM, 1] = 5  # unit 1: last drive MEM steps ago, out of the kernel
    net.dlast[1] = t - R.MEM
    bas = np.full(3, 9.0)
    cur, _ = _lags(t)
    R._driven_basal(bas, t, 0, 3, net.layout(), net.spiking_state(), cur)
    kap = R.kappas()
    np.testing.assert_allclose(bas, [R.ALPHA * (2 * kap[0] + kap[2]), 0.0, 0.0], rtol=1e-15)


def test_forward_basal_is_the_rescaled_weights_times_the_lower_kappa_products():
    net = _net()
    t = 61
    net.hist[t % R.MEM, 0] = 1  # lower unit 0 spiked now (lag 1) and 6 steps ago (lag 7)
    net.hist[(t - 6) % R.MEM, 0] = 1
    net.hist[(t - 2) % R.MEM, 2] = 1  # lower unit 2: lag 3
    net.last[0], net.last[2], net.last[1] = t, t - 2, -(1 << 40)
    cur, _ = _lags(t)
    bas = np.full(2, 7.0)
    R._forward_basal(bas, t, 1, net.layout(), net.params(), net.spiking_state(), cur)
    kap = R.kappas()
    p = np.array([kap[0] + kap[6], 0.0, kap[2]])
    w_tilde = 0.2 * 3 * net.w_orig[1] / np.std(net.w_orig[1])
    np.testing.assert_allclose(bas, w_tilde @ p, rtol=1e-13)


def test_track_windows_keeps_the_window_maximum_and_counts_down_refractoriness():
    net = _net()
    net.w[:3] = [0, 5, 1]
    net.u[:3] = [3.0, 0.5, 2.0]
    net.max_u[:3] = [0.0, 1.0, 1.0]
    net.r[:3] = [0, 2, 1]
    assert R._track_windows(0, 3, True, net.spiking_state())  # unit 2's window ends
    np.testing.assert_array_equal(net.max_u[:3], [0.0, 1.0, 2.0])  # only open windows, only upwards
    np.testing.assert_array_equal(net.r[:3], [0, 1, 0])
    net.w[:3] = [0, 5, 3]
    assert not R._track_windows(0, 3, True, net.spiking_state())


def test_window_outcome_is_the_mean_of_the_last_30_q():
    qring = np.random.default_rng(1).normal(size=(R.QRING, 5))
    t, y = 100, np.zeros(2)
    R._window_outcome(y, t, 3, 2, qring)
    rows = [(t - b) % R.QRING for b in range(R.RDD_WINDOW)]
    np.testing.assert_allclose(y, qring[rows, 3:5].mean(0), rtol=1e-14)


def test_membrane_is_one_euler_step_and_u_follows_only_with_an_upper_layer():
    net = _net()
    net.v[0], net.u[0], net.v[5], net.u[5] = 0.2, 0.3, 0.2, 0.3
    for g, rdd in ((0, True), (5, False)):
        R._membrane(g, 1.5, rdd, net.spiking_state())
    expected_v = 0.2 + R.DT * (-R.G_L * 0.2 + R.G_D * (1.5 - 0.2))
    assert net.v[0] == net.v[5] == pytest.approx(expected_v, rel=1e-15)
    assert net.u[0] == pytest.approx(0.3 + R.DT * (-R.G_L * 0.3 + R.G_D * (1.5 - 0.3)), rel=1e-15)
    assert net.u[5] == 0.3


def test_spike_needs_threshold_and_no_refractoriness():
    net = _net()
    t = 12
    net.v[:3], net.r[:3] = [1.0, 1.5, 0.99], [0, 1, 0]
    fired = [R._spike(g, t, net.spiking_state()) for g in range(3)]
    assert fired == [True, False, False]
    assert net.v[0] == R.V_RESET and net.r[0] == R.REFRACTORY and net.last[0] == t and net.spike_count[0] == 1
    np.testing.assert_array_equal(net.hist[t % R.MEM, :3], [1, 0, 0])
    assert net.v[1] == 1.5


@pytest.mark.parametrize("above", [True, False])
def test_regression_update_is_one_sgd_step_on_one_line_then_beta(above):
    net = _net()
    rng = np.random.default_rng(2)
    for name in ("a1", "c1", "a0", "c0"):
        getattr(net, name)[:] = rng.normal(size=net.M)
    before = {name: getattr(net, name).copy() for name in ("a1", "c1", "a0", "c0")}
    rpre = rng.normal(size=net.M)
    y, mu, base = np.array([0.3, -0.2]), 1.4, 2
    R._regression_update(net.params(), base, y, rpre, mu, above)
    sl = slice(base, base + 2)
    a, c = ("a1", "c1") if above else ("a0", "c0")
    e = before[a][sl] * mu + before[c][sl] - (y - rpre[sl])
    np.testing.assert_allclose(getattr(net, a)[sl], before[a][sl] - R.ETA * e * mu, rtol=1e-15)
    np.testing.assert_allclose(getattr(net, c)[sl], before[c][sl] - R.ETA * e, rtol=1e-15)
    other = ("a0", "c0") if above else ("a1", "c1")
    for name in other:
        np.testing.assert_array_equal(getattr(net, name), before[name])
    np.testing.assert_allclose(net.beta[sl], (net.a1[sl] + net.c1[sl]) - (net.a0[sl] + net.c0[sl]), rtol=1e-14)
    assert np.all(net.beta[:base] == 0) and np.all(net.beta[base + 2 :] == 0)


def test_advance_window_opens_counts_and_closes():
    net = _net()
    t, ou, nu = 70, 3, 2
    net.qring[t % R.QRING, 3:5] = [0.25, -0.5]
    state = net.spiking_state()
    # unit 0 outside a window with v near threshold: u = v, a window opens and R_pre = q(t)
    net.v[0] = 0.95
    R._advance_window(0, False, False, t, 0, ou, nu, state)
    assert net.w[0] == R.RDD_WINDOW and net.u[0] == 0.95
    np.testing.assert_array_equal(net.rpre[0:2], [0.25, -0.5])
    # a spike inside the window is counted, u is not reset while the window is open
    net.v[0] = -1.0
    R._advance_window(0, True, False, t + 1, 0, ou, nu, state)
    assert net.w[0] == R.RDD_WINDOW - 1 and net.n_spk[0] == 1 and net.u[0] == 0.95
    # the last step of the window: counter and max_u reset, u = v again, no new window far from threshold
    net.w[0], net.max_u[0] = 1, 1.3
    R._advance_window(0, False, True, t + 2, 0, ou, nu, state)
    assert net.w[0] == 0 and net.n_spk[0] == 0 and net.max_u[0] == 0.0 and net.u[0] == -1.0
