"""The theory family's shared setting (SalSetup) and the named SAL steps of the spiking simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikealign.errors import UserError
from spikealign.spiking.stdp import exp_window
from spikealign.theory import SalSetup, SpikingSchedule, sal_batch, sal_weight_evolution
from spikealign.theory import spiking as S
from spikealign.theory.config import PhasePlaneConfig, SpikingSalConfig


def test_a_setup_and_its_keywords_give_the_same_signals():
    w = np.linspace(-1, 1, 4)
    setup = SalSetup(t_ref=10, t_max=25, psp="alpha", t_syn=4.0, a_plus=-0.5, tau=6.0)
    by_setup = sal_batch(w, w[::-1], 0.2, -0.3, setup)
    by_keywords = sal_batch(w, w[::-1], 0.2, -0.3, t_ref=10, t_max=25, psp="alpha", t_syn=4.0, a_plus=-0.5, tau=6.0)
    replaced = sal_batch(w, w[::-1], 0.2, -0.3, SalSetup(t_ref=10, t_max=25, psp="alpha", t_syn=4.0), a_plus=-0.5,
                         tau=6.0)  # fmt: skip
    for a, b in zip(by_setup, by_keywords, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(by_setup, replaced, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.abs(by_setup[0]).max() > 0


def test_setup_defaults_and_window():
    s = SalSetup(t_ref=8, t_max=20)
    assert s.tau_steps == 8.0 and s.t_syn_steps == 8.0 and s.times() == (8, 20)
    assert tuple(s.stdp_window()) == (-1.0, 1.0, 8.0, 8.0)
    dt = np.arange(-3, 4)
    np.testing.assert_array_equal(s.window_kernel(dt), exp_window(dt, -1.0, 1.0, 8.0, 8.0))
    np.testing.assert_array_equal(SalSetup(t_ref=8, window=lambda x: 2 * x).window_kernel(dt), 2.0 * dt)


def test_unknown_or_missing_settings_are_named():
    with pytest.raises(UserError, match="t_rf"):
        sal_batch(0.0, 0.0, 0.0, 0.0, t_rf=10, t_max=20)
    with pytest.raises(UserError, match="t_ref"):
        sal_batch(0.0, 0.0, 0.0, 0.0, t_max=20)
    with pytest.raises(UserError, match="t_max"):
        sal_batch(0.0, 0.0, 0.0, 0.0, SalSetup(t_ref=10))
    with pytest.raises(UserError, match="psp"):
        sal_weight_evolution(0.0, 0.0, 0.0, 0.0, SalSetup(t_ref=5, psp="exp"), seeds=[1], n_epochs=1)


def test_configs_build_the_setup_from_their_fields():
    c = PhasePlaneConfig(t_ref=7, t_max=21, psp="exp", t_syn=3.0, window={"a_plus": -2.0, "tau": 5.0})
    assert c.setup() == SalSetup(7, 21, "exp", 3.0, -2.0, 1.0, 5.0)
    setup, schedule = SpikingSalConfig(t_ref=12, t_syn=6, epoch_steps=300, n_epochs=4, lr=0.1).setup()
    assert setup == SalSetup(12, None, "rect", 6, -1.0, 1.0, None)
    assert schedule == SpikingSchedule(epoch_steps=300, n_epochs=4, lr=0.1, n_last=10)


def test_spiking_setup_and_schedule_equal_the_keywords():
    kw = dict(seeds=[5], n_epochs=3, epoch_steps=200)
    a = sal_weight_evolution(1.0, 0.2, 0.0, 0.0, t_ref=9, tau=4.0, lr=0.1, **kw)
    b = sal_weight_evolution(1.0, 0.2, 0.0, 0.0, SalSetup(t_ref=9, tau=4.0), SpikingSchedule(lr=0.1), **kw)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[0][0, 0], a[0][0, -1])  # the weights moved


def test_sal_pairs_sums_the_window_over_the_partners_spikes():
    window = SalSetup(t_ref=5, a_plus=-1.0, a_minus=0.5, tau=3.0).stdp_window()
    last = np.array([[-np.inf, 2.0, 6.0], [-np.inf, -np.inf, 4.0]])
    stdp = np.array([[0.0, 0.1], [0.2, 0.0]])
    S._sal_pairs(1, 9.0, last, window, stdp)  # neuron 1 (index) fires at 9; neuron 0 spiked at 2 and 6
    k = lambda x: -math.exp(-x / 3.0) if x > 0 else (0.5 * math.exp(x / 3.0) if x < 0 else 0.0)  # noqa: E731
    assert stdp[1, 0] == pytest.approx(0.2 + k(7.0) + k(3.0), rel=1e-15)
    assert stdp[0, 1] == pytest.approx(0.1 + k(-7.0) + k(-3.0), rel=1e-15)
    assert stdp[0, 0] == stdp[1, 1] == 0.0


def test_sal_update_changes_the_plastic_weights_by_lr_stdp_over_t_times_r():
    protocol = S.Protocol(25.0, 25.0, 1500, 0.03, 10, SalSetup(t_ref=25).stdp_window())
    w = np.array([[0.0, 1.5], [0.5, 0.0]])
    stdp = np.array([[0.0, -3.0], [3.0, 0.0]])
    S._sal_update(w, np.array([[False, True], [False, False]]), stdp, protocol)
    assert w[0, 1] == 1.5 + 0.03 * (-3.0 / 1500 * 25.0)
    assert w[1, 0] == 0.5  # frozen
