"""Boltzmann targets, states from spikes, D_KL, STDP rulers and reference initialisation (docs/sampling.md)."""

import numpy as np
import pytest

from spikealign.errors import UserError
from spikealign.sampling import (
    boltzmann_distribution,
    distribution_from_states,
    draw_problem,
    gain_matrix,
    kl_divergence,
    pairbased_stdp,
    sal_ruler,
    state_list,
    states_from_spikes,
    truncated_normal,
    ws_ruler,
)
from spikealign.sampling.presets import DISTR_SEEDS
from spikealign.sampling.stdp import Ruler


def test_state_ordering_neuron0_is_msb():
    s = state_list(3)
    assert s.tolist()[:3] == [[0, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert s[4].tolist() == [1, 0, 0]
    assert s[-1].tolist() == [1, 1, 1]


def test_boltzmann_matches_direct_formula():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 3))
    W = W + W.T
    np.fill_diagonal(W, 0)
    b = rng.normal(size=3)
    p, C = boltzmann_distribution(W, b)
    z = np.array([0, 1, 1.0])  # index 3
    e = np.exp(0.5 * z @ W @ z + b @ z)
    Z = sum(np.exp(0.5 * s @ W @ s + b @ s) for s in state_list(3).astype(float))
    assert p[3] == pytest.approx(e / Z, rel=1e-12)
    assert C[1, 2] == pytest.approx(sum(p[i] for i in range(8) if (i >> 1) & 1 and i & 1), rel=1e-12)
    assert np.array_equal(C, C.T)


def test_dim_over_15_is_refused():
    with pytest.raises(UserError, match="dim 16"):
        boltzmann_distribution(np.zeros((16, 16)), np.zeros(16))
    with pytest.raises(UserError, match="dim 16"):
        draw_problem(16, 1, 2)
    with pytest.raises(UserError, match="square"):
        boltzmann_distribution(np.zeros((3, 4)), np.zeros(3))


def test_kl_divergence():
    p = np.array([0.5, 0.5, 0.0])
    assert kl_divergence(p, p) == 0.0
    assert kl_divergence(p, np.array([1.0, 0.0, 0.0])) == np.inf
    q = np.array([0.25, 0.75, 0.0])
    assert kl_divergence(p, q) == pytest.approx(0.5 * np.log(2) + 0.5 * np.log(0.5 / 0.75))


def test_states_from_spikes_half_open_window():
    # spike of neuron 0 at t = 10: z_0 = 1 exactly at samples s with 10 < s <= 60
    t = np.array([10, 30])
    i = np.array([0, 1])
    s = states_from_spikes(t, i, 2, 100, 50, sample_dt=5)
    times = np.arange(0, 100, 5)
    np.testing.assert_array_equal(s[:, 0], ((times > 10) & (times <= 60)).astype(np.uint8))
    np.testing.assert_array_equal(s[:, 1], ((times > 30) & (times <= 80)).astype(np.uint8))
    assert s.shape == (20, 2)
    q = distribution_from_states(s)
    assert q.sum() == pytest.approx(1.0) and q.size == 4


def test_targets_and_initial_values_match_check_values():
    p = draw_problem(7, 4242, 4343, init_noise=0.2, stdp_noise=0.05)
    np.testing.assert_allclose(p.b_target, [0.5376, 0.8455, 0.3964, 0.3844, -0.6733, 0.5524, -0.9997], atol=5e-5)
    np.testing.assert_allclose(p.W_target[0, 1:4], [0.3900, 0.1316, -0.8272], atol=5e-5)
    assert np.array_equal(p.W_target, p.W_target.T) and np.all(np.diag(p.W_target) == 0)
    q = draw_problem(7, 4321, 9002)
    np.testing.assert_allclose(q.b_target, [0.5025, -0.5568, -0.1461, 0.1148, 0.9991, -0.9012, -0.9223], atol=5e-5)
    # the RNG call order of docs/sampling.md, "Targets and initial values", written out independently
    t_rng, i_rng = np.random.default_rng(4242), np.random.default_rng(4343)
    M = np.triu(2 * t_rng.beta(1, 1, (7, 7)) - 1, 1)
    np.testing.assert_array_equal(p.W_target, M + M.T)
    np.testing.assert_array_equal(p.b_target, 2 * t_rng.beta(1, 1, 7) - 1)
    W0 = np.triu(i_rng.normal(0, 0.2, (7, 7)), 1)
    W0 = W0 + W0.T + i_rng.normal(0, 0.2, (7, 7))
    np.testing.assert_array_equal(p.W_init, W0)
    np.testing.assert_array_equal(p.b_init, i_rng.normal(0, 0.2, 7))
    # gains: 1 + truncated normal, within 1 +- 1.5 sigma
    for g in (p.gains_ws, p.gains_sal):
        assert np.all(np.abs(g - 1) <= 0.075) and np.std(g) > 0.01


def test_sweep_targets_match_expected_ranges():
    """Smallest state probability 4.4e-5 .. 1.6e-4, largest 0.05 .. 0.13, entropy 3.95 .. 4.27 (docs/sampling.md)."""
    lo, hi, ent = [], [], []
    for s in DISTR_SEEDS:
        p = draw_problem(7, s, 9002).p_target
        lo.append(p.min())
        hi.append(p.max())
        ent.append(-np.sum(p * np.log(p)))
    assert min(lo) == pytest.approx(4.4e-5, rel=0.05) and max(lo) == pytest.approx(1.6e-4, rel=0.05)
    assert min(hi) == pytest.approx(0.05, abs=0.005) and max(hi) == pytest.approx(0.13, abs=0.005)
    assert min(ent) == pytest.approx(3.95, abs=0.01) and max(ent) == pytest.approx(4.27, abs=0.01)


@pytest.mark.golden
def test_truncated_normal_redraws_like_reference():
    rng = np.random.default_rng(5)
    x = truncated_normal(rng, 0.05, (7, 7))
    assert np.all(np.abs(x) <= 0.075)
    # the first draw is kept where valid
    first = np.random.default_rng(5).normal(0, 0.05, 49)
    ok = np.abs(first) <= 0.075
    np.testing.assert_array_equal(x.reshape(-1)[ok], first[ok])
    assert np.all(truncated_normal(np.random.default_rng(1), 0.0, (3, 3)) == 0)


def test_gain_matrix_backward_overwrites_first_superdiagonal():
    F = np.full((4, 4), 1.0)
    B = np.full((4, 4), 2.0)
    G = gain_matrix(F, B)
    assert G[0, 2] == 1.0 and G[0, 3] == 1.0  # strict upper, beyond the first super-diagonal
    assert G[0, 1] == 2.0 and G[2, 3] == 2.0  # first super-diagonal: backward
    assert G[1, 0] == 2.0 and G[2, 2] == 2.0


def test_pair_stdp_hand_computed():
    """Pre 0 at t=10, post 1 at t=30 (lag 20), then 0 again at t=100 (lag 70 > tau: nothing)."""
    t = np.array([10, 30, 100])
    i = np.array([0, 1, 0])
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    S = pairbased_stdp(t, i, 2, ws_ruler(g))
    # spike of 1 at 30 with stored 0 at 10: S[1,0] += A+_10 (1 - 20/50); S[0,1] += A-_01 (1 - 20/50)
    assert S[1, 0] == pytest.approx(3.0 * 0.6) and S[0, 1] == pytest.approx(2.0 * 0.6)
    Ssal = pairbased_stdp(t, i, 2, sal_ruler(g))
    assert Ssal[1, 0] == pytest.approx(-3.0 * 0.6) and Ssal[0, 1] == pytest.approx(2.0 * 0.6)
    # exponential kernel, same-step pairs give nothing
    tau = np.full((2, 2), 25.0)
    ru = Ruler(-np.ones((2, 2)), np.ones((2, 2)), tau, tau, "exponential")
    S = pairbased_stdp(np.array([5, 5, 9]), np.array([0, 1, 1]), 2, ru, depth=2)
    assert S[1, 0] == pytest.approx(-np.exp(-4 / 25)) and S[0, 1] == pytest.approx(np.exp(-4 / 25))
    with pytest.raises(UserError, match="kernel"):
        Ruler(g, g, g, g, "gaussian")
