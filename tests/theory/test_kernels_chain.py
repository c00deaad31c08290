"""PSP kernels, the STDP window and the transition matrix / stationary distribution of the chain."""

import numpy as np
import pytest
from scipy.integrate import quad

from spikealign.errors import UserError
from spikealign.theory import chain
from spikealign.theory.kernels import exp_window, kernel_table, psp_kernel


def test_rect_kernel_is_one_on_lags_below_t_ref():
    k = kernel_table("rect", 10, 20)
    assert np.array_equal(k, (np.arange(20) < 10).astype(float))


def test_alpha_and_exp_kernel_shapes():
    r, ts = 10, 4.0
    z = np.linspace(0.0, 60.0, 6001)
    alpha = psp_kernel("alpha", z, r, ts)
    assert z[np.argmax(alpha)] == pytest.approx(ts, abs=0.01)
    assert alpha.max() == pytest.approx(r / (np.e * ts), rel=1e-6)
    # both are normalised to area R: alpha over [0, inf), exp over [0, R]
    assert quad(lambda x: psp_kernel("alpha", x, r, ts), 0, np.inf)[0] == pytest.approx(r, rel=1e-8)
    assert quad(lambda x: psp_kernel("exp", x, r, ts), 0, r)[0] == pytest.approx(r, rel=1e-8)
    assert psp_kernel("alpha", -1.0, r, ts) == 0.0


def test_cutoff_and_tail_switch_at_t_ref_inclusive():
    r, ts = 8, 3.0
    z = np.arange(1, 20, dtype=float)
    e = psp_kernel("exp", z, r, ts)
    cut = psp_kernel("cutoff", z, r, ts)
    tail = psp_kernel("tail", z, r, ts)
    assert np.array_equal(cut, np.where(z <= r, e, 0.0))
    assert np.array_equal(tail, np.where(z <= r, 1.0, e))


def test_exp_window_values_and_antisymmetry():
    dt = np.arange(-30, 31, dtype=float)
    k = exp_window(dt, -1.0, 1.0, 10.0)
    assert k[30] == 0.0
    assert k[31] == pytest.approx(-np.exp(-0.1))
    assert k[29] == pytest.approx(np.exp(-0.1))
    assert np.array_equal(k, -k[::-1])


@pytest.mark.parametrize("psp", ["rect", "exp", "cutoff", "tail", "alpha"])
def test_transition_matrix_is_column_stochastic_with_at_most_four_entries(psp):
    t = chain.transition_matrix(0.7, -1.2, 0.3, -0.4, t_ref=10, t_max=20, psp=psp, t_syn=4.0)
    assert t.shape == (400, 400)
    np.testing.assert_allclose(np.asarray(t.sum(axis=0)).ravel(), 1.0, rtol=0, atol=1e-14)
    nnz_per_col = np.diff(t.tocsc().indptr)
    assert nnz_per_col.max() <= 4
    if psp == "rect":
        # the reference's matrix has 961 nonzeros for M = 20, R = 10
        assert t.nnz == 961


def test_transition_matrix_follows_the_update_rule():
    """Spot-check T against the step rule of docs/theory.md, "The two-neuron chain", at three states."""
    r, m, w_fi, w_si, b_f, b_s = 3, 6, 0.8, -0.5, 0.1, 0.4
    t = chain.transition_matrix(w_fi, w_si, b_f, b_s, t_ref=r, t_max=m).toarray()
    k = kernel_table("rect", r, m)

    def s(u):
        return 1 / (1 + r * np.exp(-u))

    idx = lambda a, c: a * m + c  # noqa: E731
    # (a, c) = (1, 4): first refractory (a' = 2 < 3), second eligible (c' = 5)
    p2 = s(b_s + w_si * k[2])
    assert t[idx(2, 0), idx(1, 4)] == pytest.approx(p2)
    assert t[idx(2, 5), idx(1, 4)] == pytest.approx(1 - p2)
    # (a, c) = (5, 5): both saturated and eligible
    p1, p2 = s(b_f + w_fi * k[5]), s(b_s + w_si * k[5])
    assert t[idx(0, 0), idx(5, 5)] == pytest.approx(p1 * p2)
    assert t[idx(0, 5), idx(5, 5)] == pytest.approx(p1 * (1 - p2))
    assert t[idx(5, 0), idx(5, 5)] == pytest.approx((1 - p1) * p2)
    assert t[idx(5, 5), idx(5, 5)] == pytest.approx((1 - p1) * (1 - p2))
    # (a, c) = (0, 0): both refractory, deterministic advance
    assert t[idx(1, 1), idx(0, 0)] == 1.0


def test_stationary_distribution_sparse_and_reduced_agree():
    t = chain.transition_matrix(1.5, -0.5, 0.3, -0.5, t_ref=10, t_max=30, psp="alpha", t_syn=3.0)
    pi = chain.stationary_distribution(t)
    assert pi.min() >= -1e-15 and pi.sum() == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(t @ pi, pi, rtol=0, atol=1e-15)
    kappa = kernel_table("alpha", 10, 30, 3.0)
    s_f = chain.fire_tables(kappa, 10, [1.5], [0.3])
    s_s = chain.fire_tables(kappa, 10, [-0.5], [-0.5])
    reduced = chain.stationary_batch(s_f, s_s, 10, 30, method="reduced")[0]
    np.testing.assert_allclose(reduced, pi, rtol=0, atol=1e-15)


@pytest.mark.parametrize(("t_ref", "t_max", "psp"), [(1, 8, "rect"), (7, 8, "alpha"), (4, 15, "tail")])
def test_reduced_solver_matches_sparse_solve_at_edge_sizes(t_ref, t_max, psp):
    kappa = kernel_table(psp, t_ref, t_max, 2.0)
    rng = np.random.default_rng(t_ref)
    s_f = chain.fire_tables(kappa, t_ref, rng.normal(size=3), rng.normal(size=3))
    s_s = chain.fire_tables(kappa, t_ref, rng.normal(size=3), rng.normal(size=3))
    sparse = chain.stationary_batch(s_f, s_s, t_ref, t_max, method="sparse")
    reduced = chain.stationary_batch(s_f, s_s, t_ref, t_max, method="reduced")
    np.testing.assert_allclose(reduced, sparse, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(reduced.sum(1), 1.0, rtol=0, atol=1e-14)


@pytest.mark.parametrize(("t_ref", "bound"), [(10, 0.015), (30, 0.005)])
def test_stationary_joint_approaches_boltzmann(t_ref, bound):
    """p(z) -> exp(b.z + W z1 z2)/Z as R grows (max error 1.4e-2 at R=10, 4.6e-3 at R=30).

    See docs/theory.md, "Relation to Boltzmann sampling".
    """
    w, b = 0.8, (0.0, 1.0)
    m = 2 * t_ref
    pi = chain.stationary_distribution(chain.transition_matrix(w, w, b[0], b[1], t_ref=t_ref, t_max=m)).reshape(m, m)
    on = np.arange(m) <= t_ref - 1
    joint = np.array([[pi[np.ix_(on == bool(z1), on == bool(z2))].sum() for z2 in (0, 1)] for z1 in (0, 1)])
    z = np.array([[0, 0], [0, 1]])
    target = np.exp(b[0] * np.array([[0, 0], [1, 1]]) + b[1] * np.array([[0, 1], [0, 1]]) + w * z)
    target /= target.sum()
    err = np.abs(joint - target).max()
    assert err < bound


def test_chain_input_errors_name_the_argument():
    with pytest.raises(UserError, match="t_ref must be smaller than t_max"):
        chain.transition_matrix(0.5, 0.5, 0, 0, t_ref=20, t_max=20)
    with pytest.raises(UserError, match="unknown psp 'gauss'"):
        chain.transition_matrix(0.5, 0.5, 0, 0, t_ref=5, t_max=20, psp="gauss")
    with pytest.raises(UserError, match="b_first must be finite"):
        chain.transition_matrix(0.5, 0.5, np.nan, 0, t_ref=5, t_max=20)
