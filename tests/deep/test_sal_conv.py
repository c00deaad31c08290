"""SAL on convolutional feedback: exact FC reduction, alignment of conv kernels, state round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikealign.deep import alignment_metrics
from spikealign.deep.estimators.sal import SALNet
from spikealign.deep.estimators.sal_conv import SALConvEstimator, SALConvNet, map_shapes, unroll
from spikealign.deep.layers import FeedbackConv2d, FeedbackLinear


def _gens(seed: int):
    return torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1000)


@pytest.mark.parametrize(("stride", "padding", "dilation", "groups"), [(2, 1, 1, 1), (1, 0, 2, 2), (1, 2, 1, 1)])
def test_unroll_is_the_convolution_and_its_transpose_the_feedback_path(stride, padding, dilation, groups):
    g, _ = _gens(0)
    args = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    conv = FeedbackConv2d(2, 4, 3, generator=g, feedback_generator=g, **args)
    x = torch.randn(5, 2, 7, 7, generator=g)
    y = conv(x)
    U = unroll(conv.weight.detach(), (2, 7, 7), args)
    assert torch.allclose(U @ x.reshape(5, -1).T, y.reshape(5, -1).T, atol=1e-5)
    delta = torch.randn_like(y)
    back = torch.nn.grad.conv2d_input(x.shape, conv.feedback.detach(), delta, stride, padding, dilation, groups)
    UB = unroll(conv.feedback.detach(), (2, 7, 7), args)
    assert torch.allclose(UB.T @ delta.reshape(5, -1).T, back.reshape(5, -1).T, atol=1e-5)


def test_map_shapes_of_the_paper_convnet():
    g, f = _gens(1)
    layers = [
        FeedbackConv2d(1, 64, 5, generator=g, feedback_generator=f),
        FeedbackConv2d(64, 64, 5, generator=g, feedback_generator=f),
        FeedbackLinear(1024, 384, generator=g, feedback_generator=f),
        FeedbackLinear(384, 10, generator=g, feedback_generator=f),
    ]
    assert map_shapes(layers) == [(1, 12, 12), (64, 8, 8), (64, 4, 4), (384,), (10,)]
    with pytest.raises(ValueError, match="square map"):
        map_shapes([FeedbackConv2d(1, 3, 3), FeedbackLinear(15, 4)])


@pytest.mark.parametrize("engine", ["numba", "torch"])
def test_1x1_kernels_on_1x1_maps_are_exactly_the_fc_sal_net(engine):
    g, f = _gens(2)
    layers = [
        FeedbackConv2d(6, 5, 1, generator=g, feedback_generator=f),
        FeedbackConv2d(5, 4, 1, generator=g, feedback_generator=f),
        FeedbackLinear(4, 3, generator=g, feedback_generator=f),
    ]
    kw = {"lr": 0.5, "batch_size": 3, "seed": 7, "chunk": 30, "engine": engine}
    conv = SALConvNet(layers, map_size=1, init_rng=np.random.default_rng(3), **kw)
    assert conv.shapes == [(6, 1, 1), (5, 1, 1), (4, 1, 1), (3,)]
    fc = SALNet([6, 5, 4, 3], init_rng=np.random.default_rng(3), **kw)
    for k, layer in enumerate(layers):
        fc.W[k + 1] = layer.weight.detach().reshape(layer.weight.shape[:2]).clone()
        fc.B[k] = layer.feedback.detach().reshape(layer.weight.shape[:2]).T.contiguous()
    for _ in range(3):
        conv.run(170)
        fc.run(170)
        conv.apply_update()
        fc.apply_update()
    for k, layer in enumerate(layers):
        assert np.array_equal(conv.B[k].reshape(layer.weight.shape[:2]).numpy(), fc.B[k].T.numpy())
    assert conv.rates() == fc.rates()
    assert not torch.equal(conv.B[0], layers[0].feedback.detach())  # SAL did move the kernels


def test_sal_phase_aligns_conv_feedback_from_a_random_start():
    g, f = _gens(3)
    layers = [
        FeedbackConv2d(2, 4, 3, generator=g, feedback_generator=f),
        FeedbackConv2d(4, 4, 3, padding=1, generator=g, feedback_generator=f),
        FeedbackLinear(4 * 3 * 3, 5, generator=g, feedback_generator=f),
    ]
    est = SALConvEstimator(layers, {"n_iterations": 6, "len_epoch": 100, "batch_size": 8, "sal_lr": 0.2}, seed=0)
    start = [alignment_metrics(layer.weight, layer.feedback)["angle"] for layer in layers]
    out = est.before_epoch(0)
    end = [alignment_metrics(layer.weight, layer.feedback)["angle"] for layer in layers]
    assert out["before/angle/0"] == pytest.approx(start[0]) and out["angle/0"] == pytest.approx(end[0])
    for k in range(3):
        assert end[k] < start[k] - 10, (k, start, end)  # degrees; about 20 on three seeds
    assert 0.01 < out["rate/1"] < 0.2


def test_state_dict_round_trip_continues_bit_identically():
    g, f = _gens(4)
    layers = [FeedbackConv2d(1, 3, 3, generator=g, feedback_generator=f), FeedbackLinear(3 * 2 * 2, 4)]
    settings = {"n_iterations": 2, "len_epoch": 10, "batch_size": 2}
    a = SALConvEstimator(layers, settings, seed=5)
    a.before_epoch(0)
    state = a.state_dict()
    fb0 = [layer.feedback.detach().clone() for layer in layers]
    a.before_epoch(1)
    after = [layer.feedback.detach().clone() for layer in layers]
    for layer, fb in zip(layers, fb0, strict=True):
        layer.feedback.data.copy_(fb)
    b = SALConvEstimator(layers, settings, seed=6)
    b.load_state_dict(state)
    b.before_epoch(1)
    for layer, fb in zip(layers, after, strict=True):
        assert torch.equal(layer.feedback.detach(), fb)


def test_estimator_rejects_bad_settings():
    layers = [FeedbackConv2d(1, 2, 3), FeedbackLinear(2 * 4 * 4, 3)]
    with pytest.raises(ValueError, match="map_size"):
        SALConvEstimator(layers, {"map_size": 0}, seed=0)
    with pytest.raises(ValueError, match="sal_lr needs 2 values"):
        SALConvEstimator(layers, {"sal_lr": [0.1]}, seed=0)
