"""The SAL rule's one definition: the online step against the exact pair sum, numpy and torch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikealign.errors import UserError
from spikealign.plasticity import SALParams, asymmetry, sal_from_spike_trains, sal_step, sal_window


def _grid_trains(seed: int, steps: int, n: int, rate: float) -> np.ndarray:
    return (np.random.default_rng(seed).random((steps, n)) < rate).astype(float)


def _run_steps(pre: np.ndarray, post: np.ndarray, params: SALParams, dt: float):
    state, total = None, 0.0
    for t in range(pre.shape[0]):
        dw, state = sal_step(pre[t], post[t], state, params, dt)
        total = total + dw
    return total


def _times(spikes: np.ndarray, dt: float) -> list[np.ndarray]:
    return [np.nonzero(spikes[:, k])[0] * dt for k in range(spikes.shape[1])]


@pytest.mark.parametrize(
    "params", [SALParams(eta=1.0), SALParams(a_plus=0.7, a_minus=-0.3, tau_plus=3.0, tau_minus=11.0, eta=0.5)]
)
def test_online_step_sums_to_the_exact_pair_sum(params):
    dt = 0.5
    pre, post = _grid_trains(1, 3000, 3, 0.05), _grid_trains(2, 3000, 4, 0.05)
    exact = sal_from_spike_trains(_times(pre, dt), _times(post, dt), params)
    online = _run_steps(pre, post, params, dt)
    assert online.shape == (4, 3)
    scale = np.abs(exact).max()
    assert scale > 1.0  # enough pairs for the comparison to mean something
    np.testing.assert_allclose(online, exact, rtol=0, atol=1e-12 * scale * pre.shape[0])


def test_one_causal_and_one_anticausal_pair_by_hand():
    p = SALParams(a_plus=-2.0, a_minus=3.0, tau_plus=4.0, tau_minus=5.0, eta=0.1)
    # pre at 0 and 10, post at 3: one causal pair (dt=3) and one anti-causal pair (dt=-7)
    expected = 0.1 * (-2.0 * math.exp(-3 / 4) + 3.0 * math.exp(-7 / 5))
    assert sal_from_spike_trains(np.array([0.0, 10.0]), np.array([3.0]), p) == pytest.approx(expected, rel=1e-14)
    # simultaneous spikes pair with K(0) = 0; the delay shifts the pre spike the synapse sees
    assert sal_from_spike_trains(np.array([2.0]), np.array([2.0]), p) == 0.0
    shifted = sal_from_spike_trains(np.array([0.0]), np.array([3.0]), p, delay=1.0)
    assert shifted == pytest.approx(0.1 * -2.0 * math.exp(-2 / 4), rel=1e-14)


def test_batched_step_matches_each_batch_member():
    dt, p = 1.0, SALParams(eta=1.0, tau_plus=7.0, tau_minus=7.0)
    pre = _grid_trains(3, 500, 2 * 5, 0.1).reshape(500, 2, 5)
    post = _grid_trains(4, 500, 2 * 6, 0.1).reshape(500, 2, 6)
    batched = _run_steps(pre, post, p, dt)
    assert batched.shape == (2, 6, 5)
    for b in range(2):
        np.testing.assert_allclose(batched[b], _run_steps(pre[:, b], post[:, b], p, dt), rtol=1e-13, atol=0)


def test_torch_step_equals_numpy_step():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    dt, p = 0.25, SALParams(eta=1.0)
    pre, post = _grid_trains(5, 2000, 4, 0.03), _grid_trains(6, 2000, 3, 0.03)
    reference = _run_steps(pre, post, p, dt)
    online = _run_steps(torch.tensor(pre), torch.tensor(post), p, dt)
    assert isinstance(online, torch.Tensor) and online.dtype == torch.float64
    np.testing.assert_allclose(online.numpy(), reference, rtol=1e-13, atol=1e-13)
    # the window on tensors equals the window on arrays
    x = np.linspace(-50, 50, 201)
    np.testing.assert_allclose(sal_window(torch.tensor(x), p).numpy(), sal_window(x, p), rtol=1e-14)


def test_window_sign_convention_of_the_package():
    k = sal_window(np.array([-1.0, 0.0, 1.0]))
    assert k[0] > 0 and k[1] == 0 and k[2] < 0  # anti-causal potentiates, causal depresses


def test_asymmetry_of_symmetric_antisymmetric_and_nan_matrices():
    w = np.random.default_rng(0).normal(size=(6, 6))
    assert asymmetry(w + w.T) == 0.0
    anti = w - w.T
    assert asymmetry(anti) == pytest.approx(4.0)  # Var(2A) / Var(A)
    w_nan = w.copy()
    w_nan[0, 1] = np.inf
    assert math.isnan(asymmetry(w_nan))


@pytest.mark.parametrize(
    ("field", "value"), [("tau_plus", 0.0), ("tau_minus", -1.0), ("tau_plus", float("nan")), ("eta", float("inf"))]
)
def test_bad_parameters_name_the_key(field, value):
    with pytest.raises(UserError, match=field):
        sal_from_spike_trains(np.array([0.0]), np.array([1.0]), SALParams()._replace(**{field: value}))


def test_bad_step_is_rejected():
    with pytest.raises(UserError, match="dt"):
        sal_step(np.zeros(2), np.zeros(2), None, SALParams(), dt=0.0)
