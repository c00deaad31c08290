"""The named steps of the wake-sleep + SAL training kernel (sampling.trainer_kernels) against their equations."""

from __future__ import annotations

import numpy as np

from spikealign.sampling import trainer_kernels as K


def _random(seed, n=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n)), rng.normal(size=n), rng


def test_wake_sleep_update_moves_b_and_w_towards_the_targets():
    W, b, rng = _random(0)
    counts, S0 = rng.integers(0, 50, 4), rng.normal(size=(4, 4))
    C, m = rng.normal(size=(4, 4)), rng.normal(size=4)
    W0, b0, norm = W.copy(), b.copy(), 25 / 1000
    S = np.stack([np.zeros((4, 4)), S0, rng.normal(size=(4, 4))])[[1, 0]]  # rulers: S[0] is the WS one
    targets = K.Targets(np.stack([np.zeros((4, 4)), C]), np.stack([np.zeros(4), m]))  # run r = 1
    K._wake_sleep_update(W, b, counts, S, targets, 1, 0.1, 0.2, norm)
    np.testing.assert_allclose(b, b0 + 0.1 * (m - counts * norm), rtol=1e-15)
    np.testing.assert_allclose(W, W0 + 0.2 * (C - S0 * norm), rtol=1e-15)


def test_sal_update_ruler_adds_the_scaled_sal_sums():
    W, _, rng = _random(1)
    S1 = rng.normal(size=(4, 4))
    S1 -= S1.T  # the noise-free SAL sums are antisymmetric: W + W^T is unchanged
    W0, norm = W.copy(), 0.05
    K._sal_update_ruler(W, np.stack([rng.normal(size=(4, 4)), S1]), 0.3, norm)  # S[1]: the SAL ruler
    np.testing.assert_allclose(W, W0 + 0.3 * (S1 * norm), rtol=1e-15)
    np.testing.assert_allclose(W + W.T, W0 + W0.T, atol=1e-14)


def test_clip_bounds_weights_and_biases():
    W = np.array([[3.0, -0.5], [-4.0, 1.0]])
    b = np.array([0.2, -9.0])
    K._clip(W, b, 2.0, 1.0)
    np.testing.assert_array_equal(W, [[2.0, -0.5], [-2.0, 1.0]])
    np.testing.assert_array_equal(b, [0.2, -1.0])
