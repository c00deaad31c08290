"""The analytic STDD and the SAL signal: regression values, invariants, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikealign.errors import UserError
from spikealign.theory import sal_signal, stdd
from spikealign.theory.distribution import sal_batch, stdd_batch


def _at(r, dt):
    return r.p[dt + r.t_max - 1]


def test_regression_value_a():
    """Case A of docs/theory.md, "Reference values" (rect, M=30, R=10, W=(0.5, 1.0), b=(0, 0))."""
    r = stdd(0.5, 1.0, 0.0, 0.0, t_ref=10, t_max=30)
    d12, d21 = sal_signal(r)
    assert d12 == pytest.approx(0.0342446096, rel=1e-9)
    assert d21 == -d12
    expected = {-10: 0.015726, -9: 0.039474, 1: 0.034558, 9: 0.043817, 10: 0.027142, 29: 0.000696}
    for dt, v in expected.items():
        assert _at(r, dt) == pytest.approx(v, abs=5e-7)
    # "Reference values": p(-1) = 0.053557 > p(+1): the weaker W_12 piles less mass at small positive dt
    assert _at(r, -1) == pytest.approx(0.053557, abs=5e-7)


def test_regression_value_b():
    """Case B of docs/theory.md, "Reference values" (rect, M=30, R=10, W=(1.5, -0.5), b=(-0.5, 0.3))."""
    r = stdd(1.5, -0.5, -0.5, 0.3, t_ref=10, t_max=30)
    assert sal_signal(r)[0] == pytest.approx(-0.1310026123, rel=1e-9)
    assert _at(r, 1) == pytest.approx(0.084018, abs=5e-7)
    assert _at(r, -10) == pytest.approx(0.052930, abs=5e-7)


# dW_12 computed with the reference package (stddc, sal-code d1c07c0; STDDMaker.calc_sal with
# exp_window(-1, 1, R, R)) for each kernel, unequal biases.
REFERENCE_CASES = [
    # psp, M, R, ts, w_12, w_21, b_1, b_2, dW_12
    ("alpha", 20, 10, 5.0, 0.8, -0.3, -0.5, 0.7, -0.017176346793628557),
    ("exp", 25, 8, 4.0, 1.2, 0.4, 0.2, -0.6, -0.04961471612021588),
    ("cutoff", 25, 8, 3.0, -1.0, 0.4, 0.2, -0.6, 0.0976564278853374),
    ("tail", 25, 8, 6.0, 0.3, 0.9, 1.0, -1.0, 0.011172653487370985),
    ("alpha", 60, 30, 9.9, 1.0, 1.0, -0.25, 0.75, -0.006246558678279511),
]


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=[f"{c[0]}-M{c[1]}" for c in REFERENCE_CASES])
@pytest.mark.golden
def test_non_rect_kernels_match_the_reference(case):
    psp, m, r, ts, w12, w21, b1, b2, expected = case
    res = stdd(w12, w21, b1, b2, t_ref=r, t_max=m, psp=psp, t_syn=ts)
    assert sal_signal(res)[0] == pytest.approx(expected, rel=1e-9)


def test_structure_halves_sum_to_one_half_and_exchange_identity():
    args = dict(t_ref=10, t_max=20, psp="alpha", t_syn=3.0)
    r = stdd(0.9, -0.4, 0.6, -0.2, **args)
    assert r.p.shape == (39,) and np.array_equal(r.dt, np.arange(-19, 20))
    assert r.left.sum() == pytest.approx(0.5, abs=1e-14)
    assert r.right.sum() == pytest.approx(0.5, abs=1e-14)
    swapped = stdd(-0.4, 0.9, -0.2, 0.6, **args)
    np.testing.assert_allclose(r.p[::-1], swapped.p, rtol=0, atol=1e-15)


@pytest.mark.parametrize("biases", [(0.0, 1.0), (-0.5, 0.5), (-1.0, 1.0)])
@pytest.mark.parametrize("w", [0.8, -0.7])
def test_rect_symmetric_weights_give_a_symmetric_flat_stdd_for_any_biases(biases, w):
    r = stdd(w, w, *biases, t_ref=10, t_max=30)
    np.testing.assert_allclose(r.p, r.p[::-1], rtol=0, atol=1e-15)
    flat = r.p[(np.abs(r.dt) >= 1) & (np.abs(r.dt) <= 9)]
    assert np.ptp(flat) < 1e-14
    d12, d21 = sal_signal(r)
    assert abs(d12) < 1e-15 and abs(d21) < 1e-15
    # a drop (excitatory) or a rebound (inhibitory) at |dt| = R
    assert (_at(r, 10) < _at(r, 9)) if w > 0 else (_at(r, 10) > _at(r, 9))


def test_non_matched_psp_breaks_the_symmetry_only_with_unequal_biases():
    args = dict(t_ref=10, t_max=20, psp="alpha", t_syn=10 / 3)
    equal = stdd(0.8, 0.8, 0.3, 0.3, **args)
    np.testing.assert_allclose(equal.p, equal.p[::-1], rtol=0, atol=1e-15)
    unequal = stdd(0.8, 0.8, -0.5, 0.5, **args)
    assert np.max(np.abs(unequal.p - unequal.p[::-1])) > 1e-4


def test_sal_sign_and_antisymmetry_over_the_fig2e_grid():
    """dW_21 = -dW_12 and sign(dW_12) = sign(W_21 - W_12) off the diagonal.

    See docs/theory.md, "Why the signal measures asymmetry".
    """
    w = np.arange(-2, 2.1, 0.25)
    w12, w21 = np.meshgrid(w, w, indexing="ij")
    for b1, b2 in [(0.0, 0.0), (-1.0, 1.0), (0.5, -0.5)]:
        d12, d21 = sal_batch(w12, w21, b1, b2, t_ref=15, t_max=30)
        assert np.max(np.abs(d12 + d21)) < 1e-15
        off = w12 != w21
        assert np.array_equal(np.sign(d12[off]), np.sign((w21 - w12)[off]))
        assert np.max(np.abs(d12[~off])) < 1e-15


def test_alpha_kernel_keeps_the_restoring_sign_away_from_the_bent_attractor():
    w = np.linspace(-1.5, 1.5, 10)
    w12, w21 = np.meshgrid(w, w, indexing="ij")
    d12, _ = sal_batch(w12, w21, 1.0, -1.0, t_ref=10, t_max=20, psp="alpha", t_syn=5.0)
    far = np.abs(w12 - w21) >= 1.0
    assert np.array_equal(np.sign(d12[far]), np.sign((w21 - w12)[far]))


def test_batch_matches_single_and_sparse_method_matches_reduced():
    w12 = np.array([0.5, 1.5, -0.3])
    w21 = np.array([1.0, -0.5, 0.2])
    p = stdd_batch(w12, w21, 0.1, -0.2, t_ref=6, t_max=15, psp="exp", t_syn=2.0)
    sparse = stdd_batch(w12, w21, 0.1, -0.2, t_ref=6, t_max=15, psp="exp", t_syn=2.0, method="sparse")
    np.testing.assert_allclose(p, sparse, rtol=1e-12, atol=1e-15)
    for i in range(3):
        single = stdd(w12[i], w21[i], 0.1, -0.2, t_ref=6, t_max=15, psp="exp", t_syn=2.0)
        np.testing.assert_array_equal(single.p, p[i])


def test_fill_middle_options():
    kw = dict(t_ref=5, t_max=12)
    z = stdd(0.5, 1.0, 0, 0, **kw)
    n = stdd(0.5, 1.0, 0, 0, fill_middle="nan", **kw)
    s = stdd(0.5, 1.0, 0, 0, fill_middle="smooth", **kw)
    mid = 11
    assert z.p[mid] == 0.0 and np.isnan(n.p[mid])
    assert s.p[mid] == pytest.approx(0.5 * (z.p[mid - 1] + z.p[mid + 1]))
    # the SAL signal ignores the middle bin whatever it holds
    assert sal_signal(n) == sal_signal(z) == sal_signal(s)


def test_sal_signal_window_arguments():
    r = stdd(0.5, 1.0, 0.0, 0.0, t_ref=10, t_max=30)
    dt = r.dt.astype(float)
    manual = np.nansum(np.where(dt > 0, -np.exp(-dt / 4.0), np.where(dt < 0, np.exp(dt / 4.0), 0.0)) * r.p)
    assert sal_signal(r, tau=4.0)[0] == pytest.approx(manual, rel=1e-13)
    # any window function: a symmetric (Hebbian-only) window gives dW_12 = dW_21
    d12, d21 = sal_signal(r, window=lambda x: np.exp(-np.abs(x) / 10.0))
    assert d12 == pytest.approx(d21, rel=1e-13) and d12 > 0
    # the default window is a_plus = -1, a_minus = +1, tau = t_ref
    assert sal_signal(r) == sal_signal(r, -1.0, 1.0, 10.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(t_ref=30, t_max=30), "t_ref must be smaller than t_max"),
        (dict(t_ref=0, t_max=30), "t_ref must be >= 1"),
        (dict(t_ref=10.5, t_max=30), "t_ref must be an integer"),
        (
            dict(t_ref=10, t_max=30, psp="gaussian"),
            "unknown psp 'gaussian' \\(allowed: rect, exp, cutoff, tail, alpha\\)",
        ),
        (dict(t_ref=10, t_max=30, psp="alpha", t_syn=-1.0), "t_syn must be > 0"),
        (dict(t_ref=10, t_max=30, fill_middle="mean"), "unknown fill_middle 'mean'"),
    ],
)
def test_bad_arguments_raise_user_errors(kwargs, match):
    with pytest.raises(UserError, match=match):
        stdd(0.5, 1.0, 0.0, 0.0, **kwargs)


@pytest.mark.parametrize("name", ["w_12", "w_21", "b_1", "b_2"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights_and_biases_are_rejected(name, bad):
    args = {"w_12": 0.5, "w_21": 1.0, "b_1": 0.0, "b_2": 0.0}
    args[name] = bad
    with pytest.raises(UserError, match=f"{name} must be finite"):
        stdd(**args, t_ref=10, t_max=30)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    psp=st.sampled_from(["rect", "exp", "cutoff", "tail", "alpha"]),
    t_ref=st.integers(1, 8),
    extra=st.integers(1, 8),
    t_syn=st.floats(0.5, 10.0),
    params=st.lists(st.floats(-2.0, 2.0), min_size=4, max_size=4),
)
def test_properties_hold_for_random_parameters(psp, t_ref, extra, t_syn, params):
    """Half masses 1/2, non-negativity, the exchange identity and dW_21 = -dW_12, for any kernel and size."""
    w12, w21, b1, b2 = params
    kw = dict(t_ref=t_ref, t_max=t_ref + extra, psp=psp, t_syn=t_syn)
    r = stdd(w12, w21, b1, b2, **kw)
    assert r.left.sum() == pytest.approx(0.5, abs=1e-12) and r.right.sum() == pytest.approx(0.5, abs=1e-12)
    assert r.p.min() >= -1e-15
    np.testing.assert_allclose(stdd(w21, w12, b2, b1, **kw).p, r.p[::-1], rtol=1e-10, atol=1e-15)
    d12, d21 = sal_signal(r)
    assert d21 == pytest.approx(-d12, abs=1e-15)
