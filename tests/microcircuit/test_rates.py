"""Rate identity of the escape-noise neuron with absolute refractoriness.

See docs/microcircuits.md, "Time, spikes and PSPs".

For a clamped potential u the inter-spike interval is ``(t_ref - 1) + G`` with ``G`` geometric
(success probability ``p = 1 / (1 + t_ref e^{-u})``), so the mean ISI is
``mu = t_ref (1 + e^{-u})`` and the rate is ``sigma(u)`` spikes per ``t_ref``.

Tolerance (derived, not tuned): ``Var(ISI) = (1 - p) / p^2``.  For a renewal process the spike
count over ``T`` steps has ``Var(N) ~ T Var(ISI) / mu^3``, hence the rate per t_ref,
``r = N t_ref / T``, has standard deviation ``t_ref sqrt(Var(ISI) / (T mu^3))``.  We allow 4.5
standard deviations plus ``t_ref / T`` for the one-spike boundary effect (start of the window);
with 6 independent neurons a false failure has probability below 1e-4.
"""

import numpy as np
import pytest

from spikealign.microcircuit.model import Network, NetworkParams, spike_probability

U = np.array([-3.0, -2.0, -0.5, 0.0, 0.8, 2.5])


def test_input_rates_equal_sigmoid_of_clamped_potential():
    params = NetworkParams(dims=(len(U), 1, 1), learning_lag=10, size_moving_average=10)
    t_pattern = 20000
    net = Network(params, 12345, record_len=1000, n_steps_total=t_pattern * params.t_ref)
    res = net.run_pattern(U, t_pattern)
    rate = res.rates["input"]
    t_ref, steps = params.t_ref, t_pattern * params.t_ref
    p = spike_probability(U, t_ref)
    mu = t_ref * (1.0 + np.exp(-U))
    np.testing.assert_allclose(mu, (t_ref - 1) + 1.0 / p, rtol=1e-12)  # the identity itself
    sd = t_ref * np.sqrt(((1 - p) / p**2) / (steps * mu**3))
    sigma = 1.0 / (1.0 + np.exp(-U))
    assert np.all(np.abs(rate - sigma) < 4.5 * sd + t_ref / steps), (rate, sigma, sd)


def test_spike_probability_formula():
    assert spike_probability(0.0, 10) == pytest.approx(1.0 / 11.0)
    assert spike_probability(np.log(10.0), 10) == pytest.approx(0.5)
