"""SAL on the feedback weights of an snnTorch network aligns them with the forward weights' transpose."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (the [deep] extra)")
pytest.importorskip("snntorch", reason="snntorch is not installed (the [dev] extra)")

from spikealign.plasticity import SALParams, sal_from_spike_trains  # noqa: E402
from spikealign.torch_snn import FeedbackSNN, angle_deg, sal_feedback_step, train_feedback  # noqa: E402


def test_feedback_aligns_with_the_forward_transpose_by_tens_of_degrees():
    net = FeedbackSNN(n_in=40, n_hidden=30, n_out=10, seed=0)
    w_before = net.w.clone()
    angles = train_feedback(net, n_steps=1000, seed=1, every=100)
    assert angles[0] > 80  # independent random matrices start near 90 degrees
    assert angles[-1] < angles[0] - 30
    assert np.all(np.diff(angles[:4]) < 0)  # falls from the start
    assert torch.equal(net.w, w_before)  # only the feedback learns
    # control: a network with other forward weights aligns its feedback with those, not with these
    other = FeedbackSNN(n_in=40, n_hidden=30, n_out=10, seed=5)
    other_angles = train_feedback(other, n_steps=500, seed=1, every=500)
    assert other_angles[-1] < other_angles[0] - 20
    assert angle_deg(other.b, net.w.T) > 75


def test_feedback_step_sums_batch_pairs_like_the_pair_sum():
    params = SALParams(tau_plus=3.0, tau_minus=4.0, eta=0.5)
    gen = torch.Generator().manual_seed(0)
    out = (torch.rand(200, 2, 3, generator=gen) < 0.1).double()  # (steps, batch, n_out)
    hid = (torch.rand(200, 2, 4, generator=gen) < 0.1).double()
    b, state = torch.zeros(4, 3, dtype=torch.float64), None
    for t in range(200):
        b, state = sal_feedback_step(b, out[t], hid[t], state, params)
    expected = sum(
        sal_from_spike_trains([np.nonzero(out[:, k, j].numpy())[0] * 1.0 for j in range(3)],
                              [np.nonzero(hid[:, k, i].numpy())[0] * 1.0 for i in range(4)], params)
        for k in range(2)
    )  # fmt: skip
    np.testing.assert_allclose(b.numpy(), expected, rtol=1e-12, atol=1e-12)
