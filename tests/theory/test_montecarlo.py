"""The Monte-Carlo chain with the STDD's pairing agrees with the analytic STDD.

See docs/theory.md, "Checks by simulation".
"""

import numpy as np
import pytest
from scipy import stats

from spikealign.theory import simulate_stdd, stdd
from spikealign.theory.kernels import exp_window

CASES = {
    "A-rect": dict(w_12=0.5, w_21=1.0, b_1=0.0, b_2=0.0, t_ref=10, t_max=30),
    "alpha-unequal-biases": dict(w_12=0.8, w_21=-0.3, b_1=-0.5, b_2=0.7, t_ref=10, t_max=20, psp="alpha", t_syn=5.0),
}
N_CHAINS, N_STEPS = 64, 40_000


def _z(mc, p):
    """Per-bin z-scores (dt != 0) of the simulated STDD against ``p``.

    The standard errors come from the spread of the per-chain counts across the 64 independent
    chains (ratio estimator, delta method; MonteCarloSTDD.standard_error), so the serial correlation
    of pairs inside a chain is accounted for.  Under the null each z is approximately N(0, 1) (the
    t-distribution with 63 degrees of freedom is within a few percent of it at these quantiles).
    """
    q, se = mc.p(), mc.standard_error()
    keep = mc.dt != 0
    return (q[keep] - p[keep]) / se[keep]


@pytest.fixture(scope="module", params=list(CASES))
def simulated(request):
    args = CASES[request.param]
    return args, simulate_stdd(**args, n_chains=N_CHAINS, n_steps=N_STEPS, seed=2024)


def test_simulated_stdd_matches_analytic_per_bin(simulated):
    args, mc = simulated
    # enough pairs for a sharp test (docs/theory.md, "Checks by simulation": ~1.7e5 pairs per half)
    assert mc.counts_right.sum() > 5e4 and mc.counts_left.sum() > 5e4
    z = _z(mc, stdd(**args).p)
    n_bins = z.size
    # Bonferroni: P(max |z| > 4.5) <= n_bins * P(|N(0,1)| > 4.5) = 2(M-1) * 6.8e-6 < 1e-3
    assert np.max(np.abs(z)) < 4.5
    # sum of z^2 ~ chi^2 with n_bins degrees of freedom (bins of one half are weakly negatively
    # correlated through the normalisation, which only lowers the sum): reject above the 0.999 quantile
    assert np.sum(z**2) < stats.chi2.ppf(0.999, n_bins)


def test_the_comparison_has_power_against_a_wrong_stdd(simulated):
    """The same statistic rejects the analytic STDD of a chain whose W_12 differs by 0.2."""
    args, mc = simulated
    wrong = stdd(**{**args, "w_12": args["w_12"] + 0.2}).p
    z = _z(mc, wrong)
    assert np.sum(z**2) > stats.chi2.ppf(0.999, z.size)


def test_simulated_sal_signal_matches_analytic(simulated):
    args, mc = simulated
    r = stdd(**args)
    kernel = exp_window(r.dt, -1.0, 1.0, r.t_ref)
    est, se = mc.sal(kernel)
    analytic = float(np.sum(np.where(r.dt == 0, 0.0, r.p) * kernel))
    # two-sided 4.5-sigma band (false alarm probability 7e-6 per case)
    assert abs(est - analytic) < 4.5 * se
    assert se < 0.1 * abs(analytic)  # the estimate is sharp enough for the comparison to mean something


def test_same_seed_same_counts_and_refractoriness():
    args = dict(w_12=0.0, w_21=0.0, b_1=30.0, b_2=30.0, t_ref=7, t_max=12)
    a = simulate_stdd(**args, n_chains=3, n_steps=1000, burn_in=0, seed=5)
    b = simulate_stdd(**args, n_chains=3, n_steps=1000, burn_in=0, seed=5)
    np.testing.assert_array_equal(a.counts_right, b.counts_right)
    # a neuron that always fires when allowed spikes every t_ref steps (minimal ISI = t_ref):
    # the initial saturated counter lets it fire at t = 0, then at 7, 14, ...
    np.testing.assert_array_equal(a.n_spikes, np.full((3, 2), np.ceil(1000 / 7)))
