"""The package's SAL rule on the theory's escape-noise pair: its drift agrees with the analytic all-pairs signal.

The two neurons are the chain of spikealign.theory.chain; the weight change of each simulated
chain is spikealign.plasticity.sal_from_spike_trains of its spike trains (every pair), the ground
truth every engine is checked against. See docs/simulators.md, "The size of the drift".
"""

import numpy as np
import pytest

from spikealign.plasticity import SALParams, sal_from_spike_trains
from spikealign.theory import sal_batch, stationary_distribution, stdd, transition_matrix
from spikealign.theory.pair_signal import all_pairs_sal_drift, simulate_pair_spike_trains, spike_cross_correlation

CHAIN = dict(t_ref=10, t_max=30)
# a grid of weight settings (w_12 onto neuron 1 from 2), biases equal and unequal, one symmetric point
GRID = [
    dict(w_12=0.5, w_21=1.0, b_1=0.0, b_2=0.0),
    dict(w_12=1.0, w_21=0.5, b_1=0.0, b_2=0.0),
    dict(w_12=-1.0, w_21=1.0, b_1=0.5, b_2=-0.5),
    dict(w_12=2.0, w_21=0.0, b_1=-1.0, b_2=0.0),
    dict(w_12=1.0, w_21=1.0, b_1=0.0, b_2=0.0),
]
WINDOWS = {
    # the theory's SAL window (tau = t_ref, antisymmetric: dW_21 = -dW_12)
    "sal": SALParams(a_plus=-1.0, a_minus=1.0, tau_plus=10.0, tau_minus=10.0, eta=1.0),
    # an asymmetric window: the two synapses drift differently, so post/pre of each is checked
    "asymmetric": SALParams(a_plus=-1.0, a_minus=0.5, tau_plus=10.0, tau_minus=5.0, eta=1.0),
}
N_CHAINS, N_STEPS = 600, 2000


def _measured(trains, params):
    """Per-chain all-pairs totals ``(dW_12, dW_21)``: W_12 is post 1, pre 2."""
    return np.array([[sal_from_spike_trains(t2, t1, params), sal_from_spike_trains(t1, t2, params)]
                     for t1, t2 in trains])  # fmt: skip


@pytest.fixture(scope="module", params=range(len(GRID)), ids=lambda i: "w12={w_12},w21={w_21}".format(**GRID[i]))
def simulated(request):
    case = GRID[request.param]
    trains = simulate_pair_spike_trains(**case, **CHAIN, n_chains=N_CHAINS, n_steps=N_STEPS, seed=100 + request.param)
    return case, {name: _measured(trains, params) for name, params in WINDOWS.items()}


@pytest.mark.parametrize("window", list(WINDOWS))
def test_all_pairs_drift_agrees_with_the_analytic_signal_within_monte_carlo_error(simulated, window):
    case, measured = simulated
    x = measured[window]
    expected = np.array(all_pairs_sal_drift(**case, **CHAIN, params=WINDOWS[window], n_steps=N_STEPS))
    mean = x.mean(0)
    # standard error from the spread over the 600 independent chains (t with 599 dof ~ normal)
    se = x.std(0, ddof=1) / np.sqrt(len(x))
    z = (mean - expected) / se
    # 20 z-scores over the grid: P(any |z| > 4) <= 20 * 6.3e-5 ~ 1e-3 under the null
    assert np.all(np.abs(z) < 4.0), (case, window, mean, expected, se)
    # the check has power: where the signal is not zero, a 20 % error in its size is >= 4 SE away
    nonzero = np.abs(expected) > 1e-9 * N_STEPS
    assert np.all(se[nonzero] < 0.05 * np.abs(expected[nonzero])), (se, expected)
    if window == "sal" and case["w_12"] == case["w_21"]:
        assert np.allclose(expected, 0.0, atol=1e-9)  # symmetric pair, equal biases: no drift


def test_the_comparison_rejects_a_wrong_window_sign_or_scale(simulated):
    case, measured = simulated
    for name, right in WINDOWS.items():
        x = measured[name]
        se = x.std(0, ddof=1) / np.sqrt(len(x))
        exact = np.array(all_pairs_sal_drift(**case, **CHAIN, params=right, n_steps=N_STEPS))
        visible = np.abs(exact) > 1e-9 * N_STEPS  # the SAL window has no drift at the symmetric point
        for wrong in (right._replace(a_plus=-right.a_plus, a_minus=-right.a_minus), right._replace(eta=1.2)):
            expected = np.array(all_pairs_sal_drift(**case, **CHAIN, params=wrong, n_steps=N_STEPS))
            assert np.all(np.abs((x.mean(0) - expected) / se)[visible] > 4.0), (case, name, wrong)


def test_drift_per_step_times_the_window_is_the_window_total_plus_the_edge():
    """The window total is the per-step drift times n, less the pairs cut by the window's edges."""
    case, params = GRID[0], WINDOWS["asymmetric"]
    per_step = np.array(all_pairs_sal_drift(**case, **CHAIN, params=params))
    for n in (2000, 20_000):
        total = np.array(all_pairs_sal_drift(**case, **CHAIN, params=params, n_steps=n))
        edge = n * per_step - total  # independent of n once n exceeds the window's reach
        if n == 2000:
            first_edge = edge
    np.testing.assert_allclose(edge, first_edge, rtol=1e-9)
    assert np.all(np.abs(first_edge) < 0.02 * np.abs(2000 * per_step))


def test_cross_correlation_below_t_ref_is_the_stdd_up_to_one_factor_per_half():
    """Pairs closer than t_ref have no spike in between, so all-pairs and scan pairing count the same pairs."""
    m, r = CHAIN["t_max"], CHAIN["t_ref"]
    for case in GRID[:4]:
        lags, c = spike_cross_correlation(**case, **CHAIN, max_lag=m - 1)
        p = stdd(**case, **CHAIN).p  # on dt = -(M-1) .. M-1, the same lags
        for near, far in (((lags >= 1) & (lags < r), lags > r), ((lags <= -1) & (lags > -r), lags < -r)):
            ratio = c[near] / p[near]
            np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
            # beyond t_ref the all-pairs correlation also counts the pairs the scan skips
            assert np.max(np.abs(c[far] / p[far] / ratio[0] - 1)) > 0.05
        # far apart the trains are independent: C(L) -> r_1 r_2 (the stationary firing probabilities)
        weights = (case["w_12"], case["w_21"], case["b_1"], case["b_2"])
        pi = stationary_distribution(transition_matrix(*weights, **CHAIN)).reshape(m, m)
        _, c_far = spike_cross_correlation(**case, **CHAIN, max_lag=400)
        np.testing.assert_allclose(c_far[[0, -1]], pi[0, :].sum() * pi[:, 0].sum(), rtol=1e-9)


def test_all_pairs_drift_and_the_theory_signal_have_the_sign_of_w21_minus_w12_on_a_grid():
    values = np.linspace(-2.0, 2.0, 5)
    w_12, w_21 = np.meshgrid(values, values, indexing="ij")
    params = WINDOWS["sal"]
    all_pairs = np.array([all_pairs_sal_drift(a, b, 0.0, 0.0, **CHAIN, params=params)[0] for a, b in
                          zip(w_12.ravel(), w_21.ravel(), strict=True)]).reshape(w_12.shape)  # fmt: skip
    theory, _ = sal_batch(w_12, w_21, 0.0, 0.0, **CHAIN)
    off = w_12 != w_21
    np.testing.assert_array_equal(np.sign(all_pairs[off]), np.sign((w_21 - w_12)[off]))
    np.testing.assert_array_equal(np.sign(theory[off]), np.sign((w_21 - w_12)[off]))


def test_the_chain_is_given_as_a_setup_or_as_its_fields():
    from spikealign.errors import UserError
    from spikealign.theory import SalSetup

    weights = dict(w_12=0.5, w_21=1.0, b_1=0.0, b_2=0.0)
    as_setup = simulate_pair_spike_trains(**weights, setup=SalSetup(**CHAIN), n_chains=3, n_steps=300, seed=1)
    as_fields = simulate_pair_spike_trains(**weights, **CHAIN, n_chains=3, n_steps=300, seed=1)
    for pair_a, pair_b in zip(as_setup, as_fields, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(pair_a, pair_b, strict=True))
    assert sum(len(t1) + len(t2) for t1, t2 in as_setup) > 0
    # a field given as a keyword replaces the setup's: another PSP, other spikes
    alpha = simulate_pair_spike_trains(**weights, setup=SalSetup(**CHAIN), psp="alpha", n_chains=3, n_steps=300, seed=1)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(alpha, as_setup, strict=True))
    with pytest.raises(UserError, match="t_ref"):
        simulate_pair_spike_trains(**weights, n_chains=1, n_steps=10)
