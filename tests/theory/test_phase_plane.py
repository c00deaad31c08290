"""Phase-plane grids, zero sets, the deviation metric and the mean SAL flow."""

import numpy as np
import pytest

from spikealign.errors import UserError
from spikealign.theory import (
    deviation_from_diagonal,
    integrate_flow,
    rotate_zero_set,
    sal_grid,
    upscale_grid,
    zero_set,
)
from spikealign.theory.phase_plane import sign_agreement


def test_zero_set_and_deviation_of_a_known_line():
    """dW_12 = 0.5 W_21 - W_12 vanishes on W_12* = W_21 / 2: relative deviation (1/4)/(3/4) = 1/3."""
    w = np.linspace(0.5, 2.0, 7)
    w12, w21 = np.meshgrid(w, w, indexing="ij")
    field = 0.5 * w21 - w12
    z = zero_set(w, field)
    inside = z[:, 0] / 2 >= w[0]  # roots only exist where W_21 / 2 lies inside the W_12 range
    np.testing.assert_allclose(z[:, 1], z[:, 0] / 2, atol=1e-12)
    assert inside.all()
    assert deviation_from_diagonal(z) == pytest.approx(1 / 3, rel=1e-12)
    rot = rotate_zero_set(z)
    np.testing.assert_allclose(rot[:, 0], 0.75 * z[:, 0])
    np.testing.assert_allclose(rot[:, 1], -0.25 * z[:, 0])


def test_diagonal_zero_set_has_zero_deviation_even_through_the_origin():
    w = np.linspace(-2, 2, 17)
    w12, w21 = np.meshgrid(w, w, indexing="ij")
    z = zero_set(w, np.tanh(w21 - w12))
    np.testing.assert_allclose(z[:, 1], z[:, 0], atol=1e-12)
    assert deviation_from_diagonal(z) == pytest.approx(0.0, abs=1e-10)


def test_upscaling_reproduces_smooth_fields():
    w = np.linspace(-1.5, 1.5, 10)
    w12, w21 = np.meshgrid(w, w, indexing="ij")
    w_hd, up = upscale_grid(w, 0.3 * w12 - 0.7 * w21 + 0.1, 50)
    a, b = np.meshgrid(w_hd, w_hd, indexing="ij")
    np.testing.assert_allclose(up, 0.3 * a - 0.7 * b + 0.1, atol=1e-12)


def test_rect_phase_plane_zero_set_is_the_diagonal_with_unequal_biases():
    w = np.linspace(-1.5, 1.5, 10)
    grid = sal_grid(w, -1.0, 1.0, t_ref=10, t_max=20)
    assert sign_agreement(w, grid[:, :, 0]) == 1.0
    w_hd, up = upscale_grid(w, grid[:, :, 0], 100)
    z = zero_set(w_hd, up)
    assert deviation_from_diagonal(z) < 1e-3  # interpolation level
    np.testing.assert_allclose(z[:, 1], z[:, 0], atol=2e-3)


def test_sal_grid_rejects_bad_weights():
    with pytest.raises(UserError, match="w_values must be finite"):
        sal_grid([0.0, np.nan, 1.0], 0.0, 0.0, t_ref=5, t_max=10)


def test_mean_flow_conserves_the_sum_and_converges_to_the_mean():
    traj = integrate_flow((1.5, 0.5), 0.0, 0.0, t_ref=10, t_max=20, eta=2.0, n_steps=80)
    np.testing.assert_allclose(traj.sum(1), 2.0, rtol=0, atol=1e-13)
    gap = np.abs(traj[:, 0] - traj[:, 1])
    assert np.all(np.diff(gap) < 0)  # monotone decay of the asymmetry (no overshoot at this eta)
    np.testing.assert_allclose(traj[-1], [1.0, 1.0], atol=1e-6)


def test_mean_flow_with_one_weight_frozen_converges_to_the_frozen_value():
    traj = integrate_flow((1.5, 0.5), -0.5, -0.2, t_ref=10, t_max=20, eta=2.0, n_steps=160, frozen="w_12")
    assert np.all(traj[:, 0] == 1.5)
    np.testing.assert_allclose(traj[-1, 1], 1.5, atol=1e-6)
    # the frozen case relaxes at about half the rate of the symmetric case
    both = integrate_flow((1.5, 0.5), -0.5, -0.2, t_ref=10, t_max=20, eta=2.0, n_steps=10)
    g_both = np.abs(both[10, 0] - both[10, 1])
    g_one = np.abs(traj[10, 0] - traj[10, 1])
    assert g_one > g_both
    with pytest.raises(UserError, match="frozen must be one of"):
        integrate_flow((1.5, 0.5), 0, 0, t_ref=10, t_max=20, eta=1.0, n_steps=1, frozen="both")
