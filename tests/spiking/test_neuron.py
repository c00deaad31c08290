"""The escape-noise neuron (spikealign.spiking.neuron): its forms agree, and it samples sigma(u)."""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import pytest

from spikealign.microcircuit.model import spike_probability as microcircuit_spike_probability
from spikealign.spiking.neuron import (
    EscapeNoise,
    escape_rate,
    fires,
    spike_probabilities,
    spike_probability,
    spike_probability_rate_form,
)
from spikealign.theory.chain import firing_probability

U = np.linspace(-30.0, 30.0, 601)
ULP = np.finfo(float).eps


@pytest.mark.parametrize("t_ref", [1, 10, 50])
def test_the_forms_of_rho_agree(t_ref):
    log_r = math.log(t_ref)
    main = np.array([spike_probability(u, log_r) for u in U])
    exact = 1.0 / (1.0 + t_ref * np.exp(-U.astype(np.longdouble)))
    np.testing.assert_allclose(main, exact.astype(float), rtol=8 * ULP * max(1.0, log_r), atol=0)
    rate_form = np.array([spike_probability_rate_form(u, float(t_ref)) for u in U])
    np.testing.assert_allclose(rate_form, main, rtol=8 * ULP * max(1.0, log_r), atol=0)
    # the numpy form is the compiled one's expression; the families' functions are that one
    np.testing.assert_allclose(spike_probabilities(U, t_ref), main, rtol=2 * ULP, atol=0)
    np.testing.assert_array_equal(firing_probability(U, t_ref), spike_probabilities(U, t_ref))
    np.testing.assert_array_equal(microcircuit_spike_probability(U, t_ref), spike_probabilities(U, t_ref))


def test_rho_at_landmarks():
    assert spike_probability(0.0, math.log(10)) == pytest.approx(1 / 11, rel=1e-15)
    assert spike_probability(math.log(10), math.log(10)) == 0.5
    assert spike_probability(800.0, 0.0) == 1.0 and spike_probability(-800.0, 0.0) == 0.0


@pytest.mark.parametrize("t_ref", [1, 10])
def test_the_hazard_is_minus_log_of_not_spiking(t_ref):
    u = U[U < 25]
    lam = np.array([escape_rate(x, float(t_ref)) for x in u])
    not_spiking = 1.0 / (1.0 + np.exp(u.astype(np.longdouble)) / t_ref)  # 1 - rho, without cancellation
    np.testing.assert_allclose(np.exp(-lam), not_spiking.astype(float), rtol=1e-13, atol=0)


def test_parameters_from_the_refractory_period():
    neuron = EscapeNoise.with_refractory_period(10)
    assert neuron == (10, math.log(10)) and isinstance(neuron.t_ref, int)


def test_fires_needs_eligibility_and_a_uniform_below_rho():
    neuron = EscapeNoise.with_refractory_period(4)
    rho = spike_probability(0.5, neuron.log_t_ref)
    assert fires(np.nextafter(rho, 0.0), 0.5, 4, neuron)
    assert not fires(rho, 0.5, 4, neuron)  # xi < rho, strictly
    assert not fires(0.0, 0.5, 3, neuron)  # refractory: a < R
    assert fires(0.0, 0.5, 100, neuron)


@nb.njit
def _on_fraction(u, neuron, n_steps, seed):
    np.random.seed(seed)  # noqa: NPY002 (numba's own generator)
    since = neuron.t_ref
    on = 0
    spikes = 0
    for _ in range(n_steps):
        xi = np.random.random()  # noqa: NPY002
        if fires(xi, u, since, neuron):
            since = 0
            spikes += 1
        since += 1
        on += since <= neuron.t_ref  # the spike step and the R - 1 steps after it
    return on / n_steps, spikes


@pytest.mark.parametrize("u", [-1.5, 0.3, 2.0])
def test_the_neuron_is_on_a_fraction_sigma_u_of_the_time(u):
    """Cycle: R on-steps (the spike and R - 1 refractory steps), then a geometric wait for the next spike.

    Mean cycle ``R - 1 + 1/rho``, so the on-fraction is ``R rho / (1 + (R - 1) rho) = sigma(u)``.
    Tolerance: 5 standard errors of a renewal count (cycle variance ``(1 - rho) / rho^2``).
    """
    neuron = EscapeNoise.with_refractory_period(10)
    n_steps = 400_000
    fraction, spikes = _on_fraction(u, neuron, n_steps, 7)
    rho = spike_probability(u, neuron.log_t_ref)
    mean_cycle = neuron.t_ref - 1 + 1 / rho
    se_spikes = math.sqrt(n_steps * (1 - rho) / rho**2 / mean_cycle**3)
    se = neuron.t_ref * se_spikes / n_steps
    assert fraction == pytest.approx(1 / (1 + math.exp(-u)), abs=5 * se)
    assert spikes == pytest.approx(n_steps / mean_cycle, abs=5 * se_spikes)


@pytest.mark.torch
def test_the_deep_estimators_float32_forms_agree_with_rho():
    pytest.importorskip("torch")
    from spikealign.deep.estimators.sal import _margins, _sigmoid_exact

    log_r = math.log(10)
    u = np.linspace(-20, 20, 401)
    n = u.size
    c = u.astype(np.float32)
    ur = np.zeros(2 * n, dtype=np.float32)  # W z = B z = 0: u = c
    main = np.array([spike_probability(float(x), log_r) for x in c])
    exact32 = np.array([_sigmoid_exact(q, ur, c, log_r) for q in range(n)])
    np.testing.assert_allclose(exact32, main, rtol=4 * np.finfo(np.float32).eps, atol=1e-30)
    margin = np.empty(n, dtype=np.float32)
    _margins(np.zeros(n, dtype=np.float32), ur, c, log_r, margin)
    np.testing.assert_allclose(-margin, main, rtol=0, atol=1e-6)
