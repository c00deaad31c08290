"""Phase logic: which patterns are symmetrisation and validation patterns (docs/microcircuits.md, "Phases")."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from spikealign.microcircuit.protocol import make_schedule, pattern_phase, pattern_phases


def test_smoke_schedule_phases():
    symm, val = pattern_phases(8, len_epoch=3, len_symmetrization=1, len_validation=1)
    assert list(np.flatnonzero(symm)) == [2, 6]
    assert list(np.flatnonzero(val)) == [3, 7]


def test_paper_epoch_is_15_forward_5_symmetrisation_6_validation():
    symm, val = pattern_phases(26 * 3, 20, 5, 6)
    for e in range(3):
        s, v = symm[26 * e : 26 * (e + 1)], val[26 * e : 26 * (e + 1)]
        assert not s[:15].any() and s[15:20].all() and not s[20:].any()
        assert not v[:20].any() and v[20:].all()


@given(
    len_epoch=st.integers(1, 12),
    len_symm=st.integers(0, 11),
    len_val=st.integers(0, 6),
    n_epochs=st.integers(1, 4),
)
def test_phase_counts_per_epoch(len_epoch, len_symm, len_val, n_epochs):
    len_symm = min(len_symm, len_epoch - 1)
    e = len_epoch + len_val
    symm, val = pattern_phases(e * n_epochs, len_epoch, len_symm, len_val)
    assert not (symm & val).any()
    for k in range(n_epochs):
        s, v = symm[k * e : (k + 1) * e], val[k * e : (k + 1) * e]
        assert s.sum() == len_symm and v.sum() == len_val
        # symmetrisation patterns are the last len_symm training patterns, validation comes last
        assert s[len_epoch - len_symm : len_epoch].all()
        assert v[len_epoch:].all()


def test_len_validation_zero_has_no_validation_patterns():
    symm, val = pattern_phases(40, 20, 5, 0)
    assert not val.any()
    assert symm.sum() == 10
    assert pattern_phase(19, 20, 5, 0) == (True, False)
    assert pattern_phase(20, 20, 5, 0) == (False, False)


def test_schedule_draws_with_replacement_and_orders_validation():
    x_tr = np.array([-2.0, -0.8, 0.8, 2.0, 3.0])
    x_va = np.array([-1.8, -0.5, 1.8, 2.7])
    x, y = make_schedule(x_tr, x_va, 10 * x_tr, 10 * x_va, 915344, 3, 1, 2)
    # the reference's smoke sequence (docs/microcircuits.md, "Reference numbers")
    np.testing.assert_array_equal(x[:, 0], [-2.0, -2.0, 0.8, -1.8, 0.8, -2.0, -2.0, -1.8])
    np.testing.assert_array_equal(y, 10 * x)
    x, _ = make_schedule(x_tr, x_va, x_tr, x_va, 1, 2, 6, 1)
    np.testing.assert_array_equal(x[2:, 0], [-1.8, -0.5, 1.8, 2.7, -1.8, -0.5])  # ordered, repeated, cut
