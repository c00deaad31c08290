"""The theory's escape-noise neuron in NESTML: its rate, its pair dynamics and its SAL drift.

models/escape_noise_neuron.nestml runs the neuron of spikealign.spiking.neuron in steps of the
NEST resolution; with a delay of one step two of them are the two-neuron chain of
spikealign.theory.chain. Checked here: the firing rate under a constant potential against the
neuron's analytic rate, the all-pairs SAL sum of the spike trains of simulated pairs against the
chain's analytic all-pairs drift (spikealign.theory.pair_signal), and the SAL synapse paired with
this neuron: its weight change is the pair sum of the spikes it saw and has the sign of W_21 - W_12.
"""

import numpy as np
import pytest

from spikealign.errors import UserError
from spikealign.plasticity import SALParams, sal_from_spike_trains, sal_window
from spikealign.theory.pair_signal import all_pairs_sal_drift

from .conftest import needs_nest
from .test_crosscheck import _seen_by_synapse

pytestmark = needs_nest

T_REF = 10  # steps of h = 1 ms, the chain's R; the PSP lasts the lags 1 .. R - 1 (t_psp = t_ref)


def _steps(times_ms, start):
    """Spike times (stamped (k + 1) h, h = 1 ms) as step indices k, relative to the step ``start``."""
    return np.asarray(times_ms) - 1.0 - start


def _spike_trains(nest, recorder, neurons):
    events = recorder.get("events")
    senders, times = np.asarray(events["senders"]), np.asarray(events["times"])
    return [np.sort(times[senders == i]) for i in neurons.tolist()]


def test_rate_under_a_constant_potential_is_the_analytic_rate(nest):
    """Renewal process: ISI = R - 1 + G, G geometric with p = rho, so the rate is 1 / (R - 1 + 1/rho)."""
    from spikealign.nest import create_escape_noise_neurons

    nest.set(resolution=1.0, rng_seed=7)
    biases = [-2.0, 0.0, 1.5]
    per_bias, burn_in, n = 400, 200, 4000
    neurons = create_escape_noise_neurons(per_bias * len(biases), bias=np.repeat(biases, per_bias), t_ref=T_REF)
    recorder = nest.Create("spike_recorder", params={"start": float(burn_in)})
    nest.Connect(neurons, recorder)
    nest.Simulate(float(burn_in + n))
    counts = np.array([len(t) for t in _spike_trains(nest, recorder, neurons)]).reshape(len(biases), per_bias)
    for b, c in zip(biases, counts, strict=True):
        rho = 1.0 / (1.0 + T_REF * np.exp(-b))
        mean_isi, var_isi = T_REF - 1 + 1 / rho, (1 - rho) / rho**2
        expected = n / mean_isi
        # count variance of a stationary renewal process over n steps: n var / mean^3 (per neuron)
        se = np.sqrt(n * var_isi / mean_isi**3 / per_bias)
        z = (c.mean() - expected) / se
        print(f"b = {b}: {c.mean() / n:.5f} spikes per step, analytic {expected / n:.5f}, z = {z:.2f}")
        assert abs(z) < 4.0, (b, c.mean(), expected, se)
        assert se < 0.02 * expected  # sharp enough: a 10 % error in the rate is 5 SE away


def test_refractoriness_and_the_bias_of_each_neuron(nest):
    """A neuron whose potential is far above threshold fires exactly every R steps; biases are per neuron."""
    from spikealign.nest import create_escape_noise_neurons

    nest.set(resolution=1.0, rng_seed=1)
    neurons = create_escape_noise_neurons(3, bias=[40.0, 40.0, -40.0], t_ref=T_REF)
    assert list(neurons.get("b")) == [40.0, 40.0, -40.0]
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    nest.Simulate(1000.0)
    fast, _, silent = _spike_trains(nest, recorder, neurons)
    np.testing.assert_array_equal(fast, np.arange(1.0, 1001.0, T_REF))  # steps 0, R, 2R, ... stamped k + 1
    assert len(silent) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [(dict(t_ref=2.5), "multiple of the resolution"), (dict(t_psp=1.0), ">= 2 steps"),
     (dict(t_psp=500.0), "at most 201 steps"), (dict(bias=float("nan")), "bias must be finite")],
)  # fmt: skip
def test_bad_escape_noise_parameters_name_the_key(nest, kwargs, message):
    from spikealign.nest import create_escape_noise_neurons

    nest.set(resolution=1.0)
    with pytest.raises(UserError, match=message):
        create_escape_noise_neurons(2, **kwargs)


GRID = [(0.5, 1.0), (1.0, 0.5), (-1.0, 1.0), (1.0, -1.0)]  # (W_12 onto neuron 1 from 2, W_21)
REPLICAS, BURN_IN, N_STEPS = 150, 300, 4000
SAL = SALParams(a_plus=-1.0, a_minus=1.0, tau_plus=float(T_REF), tau_minus=float(T_REF), eta=1e-5)


@pytest.fixture(scope="module")
def pairs(sal_module):
    """REPLICAS independent pairs per grid point, SAL synapses with a delay of one step; spikes and weights."""
    from spikealign.nest import (
        ESCAPE_NOISE_SYNAPSE_MODEL,
        connect_sal_pairs,
        create_escape_noise_neurons,
        reset_kernel,
        weight_matrix,
    )

    nest = reset_kernel()
    nest.set(resolution=1.0, rng_seed=2024)
    n_pairs = len(GRID) * REPLICAS
    neurons = create_escape_noise_neurons(2 * n_pairs, bias=0.0, t_ref=T_REF)
    w = np.full((2 * n_pairs, 2 * n_pairs), np.nan)
    points = np.repeat(np.array(GRID), REPLICAS, axis=0)
    k = np.arange(n_pairs)
    w[2 * k, 2 * k + 1], w[2 * k + 1, 2 * k] = points[:, 0], points[:, 1]
    connect_sal_pairs(neurons, weights=w, params=SAL, delay=1.0, synapse_model=ESCAPE_NOISE_SYNAPSE_MODEL)
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    nest.Simulate(float(BURN_IN + N_STEPS))
    w_end = weight_matrix(neurons, neurons, synapse_model=ESCAPE_NOISE_SYNAPSE_MODEL)
    return points, w, w_end, _spike_trains(nest, recorder, neurons)


def test_pair_spike_trains_have_the_chains_all_pairs_drift(pairs):
    """The all-pairs SAL sum of the recorded trains agrees with the chain's analytic value within MC error."""
    _, _, _, trains = pairs
    for g, (w_12, w_21) in enumerate(GRID):
        sums = []
        for k in range(g * REPLICAS, (g + 1) * REPLICAS):
            t1, t2 = (_steps(trains[i], BURN_IN) for i in (2 * k, 2 * k + 1))
            t1, t2 = t1[t1 >= 0], t2[t2 >= 0]  # the stationary window of N_STEPS steps after the burn-in
            sums.append(sal_from_spike_trains(t2, t1, SAL._replace(eta=1.0)))  # dW_12: post 1, pre 2
        sums = np.array(sums)
        expected, _ = all_pairs_sal_drift(w_12, w_21, 0.0, 0.0, t_ref=T_REF, t_max=3 * T_REF,
                                          params=SAL._replace(eta=1.0), n_steps=N_STEPS)  # fmt: skip
        se = sums.std(ddof=1) / np.sqrt(REPLICAS)
        z = (sums.mean() - expected) / se
        print(f"W = ({w_12}, {w_21}): dW_12 over {N_STEPS} steps {sums.mean():.2f} +- {se:.2f}, chain {expected:.2f}")
        assert abs(z) < 4.0, (w_12, w_21, sums.mean(), expected, se)
        assert se < 0.1 * abs(expected)  # a wrong sign, or a size off by 40 %, is more than 4 SE away


def test_sal_synapse_on_escape_noise_neurons_sums_all_pairs_and_removes_asymmetry(pairs):
    points, w0, w_end, trains = pairs
    n_pairs = len(points)
    k = np.arange(n_pairs)
    dw_12 = w_end[2 * k, 2 * k + 1] - w0[2 * k, 2 * k + 1]
    dw_21 = w_end[2 * k + 1, 2 * k] - w0[2 * k + 1, 2 * k]
    # exactly the pair sum of the spikes each synapse saw (NEST: the whole delay dendritic)
    t_read, worst = float(BURN_IN + N_STEPS), 0.0
    for i, j, got in ((2 * k[:20], 2 * k[:20] + 1, dw_12[:20]), (2 * k[:20] + 1, 2 * k[:20], dw_21[:20])):
        for post, pre, change in zip(i, j, got, strict=True):
            seen_pre, seen_post = _seen_by_synapse(trains[pre], trains[post], t_read, 1.0, 1.0)
            expected = sal_from_spike_trains(seen_pre, seen_post, SAL, delay=-1.0)
            # float rounding: relative to the sum of |eta K| over all pairs
            scale = float(np.sum(np.abs(sal_window(seen_post[:, None] - (seen_pre[None, :] - 1.0), SAL))))
            assert abs(change - expected) <= 1e-12 * max(scale, 1e-300), (post, pre, change, expected)
            worst = max(worst, abs(change - expected) / max(scale, 1e-300))
    print(f"largest residual / sum |terms|: {worst:.1e}")
    # the asymmetry W_12 - W_21 shrinks: its drift has the sign of W_21 - W_12 at every grid point
    drift = (dw_12 - dw_21).reshape(len(GRID), REPLICAS)
    mean, se = drift.mean(1), drift.std(1, ddof=1) / np.sqrt(REPLICAS)
    np.testing.assert_array_equal(np.sign(mean), np.sign([w_21 - w_12 for w_12, w_21 in GRID]))
    assert np.all(np.abs(mean) > 4 * se), (mean, se)
