"""The deep API on ordinary torch models: SAL on converted conv layers (tuple, asymmetric and
grouped convolutions, residual nets), tied layers, 1-d and 3-d convolutions, the conversion
report, measuring any layer, metric names and stratified data subsets."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from spikealign.deep import alignment_metrics, convert, feedback_layers, list_methods, make_estimator
from spikealign.deep.estimators.sal_conv import map_shapes, unroll
from spikealign.deep.layers import FeedbackConv1d, FeedbackConv2d, FeedbackConv3d, FeedbackLinear
from spikealign.errors import UserError

SAL_QUICK = {"n_iterations": 2, "batch_size": 8}
CONV_METHODS = [m for m in list_methods() if m not in ("bp_w_fa",)]


def _angle(layer) -> float:
    return alignment_metrics(layer)["angle"]


# --------------------------------------------------------------------------- sal_conv on converted nn.Conv2d
def test_sal_conv_on_the_plain_conv2d_model_of_the_report():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.Flatten(), nn.Linear(64, 10))
    converted = convert(net, "sal_conv")
    est = make_estimator("sal_conv", converted, SAL_QUICK, seed=0)
    assert est.layer_names == ["2", "4"]  # the first conv layer sees the data: no feedback to learn
    before = [_angle(layer) for layer in est.fc_layers]
    out = est.before_epoch(0)
    after = [_angle(layer) for layer in est.fc_layers]
    assert set(out) >= {"angle/2", "angle/4", "before/angle/2", "before/angle/4", "corr/2", "corr/4"}
    assert out["before/angle/4"] == pytest.approx(before[1]) and out["angle/4"] == pytest.approx(after[1])
    assert all(a < b for a, b in zip(after, before, strict=True))


CONV_CASES = [
    # (in_ch, out_ch, kernel, stride, padding, dilation, groups, input side(s))
    (2, 4, (3, 2), (2, 1), (1, 0), (1, 2), 1, (9, 8)),
    (4, 6, 3, (1, 2), (0, 2), 2, 2, (10, 11)),
    (3, 3, (1, 3), 1, (0, 1), (1, 1), 3, (5, 7)),
]


@pytest.mark.parametrize(("cin", "cout", "k", "stride", "pad", "dil", "groups", "sides"), CONV_CASES)
def test_unrolled_conv_with_tuple_and_asymmetric_arguments_is_the_convolution(
    cin, cout, k, stride, pad, dil, groups, sides
):
    layer = FeedbackConv2d(cin, cout, k, stride=stride, padding=pad, dilation=dil, groups=groups)
    x = torch.randn(1, cin, *sides, dtype=torch.float64)
    w = layer.weight.detach().double()
    args = {"stride": stride, "padding": pad, "dilation": dil, "groups": groups}
    y = F.conv2d(x, w, None, stride, pad, dil, groups)
    torch.testing.assert_close(unroll(w, (cin, *sides), args) @ x.reshape(-1), y.reshape(-1))


@pytest.mark.parametrize("dims", [1, 3])
def test_unrolled_1d_and_3d_convs_are_the_convolution(dims):
    conv = {1: F.conv1d, 3: F.conv3d}[dims]
    layer = {1: FeedbackConv1d, 3: FeedbackConv3d}[dims](4, 2, 3, stride=2, padding=1, dilation=1, groups=2)
    sides = (7,) * dims
    x = torch.randn(1, 4, *sides, dtype=torch.float64)
    w = layer.weight.detach().double()
    y = conv(x, w, None, 2, 1, 1, 2)
    args = {"stride": 2, "padding": 1, "dilation": 1, "groups": 2}
    torch.testing.assert_close(unroll(w, (4, *sides), args) @ x.reshape(-1), y.reshape(-1))


def test_sal_conv_on_asymmetric_grouped_convs_lowers_every_angle():
    torch.manual_seed(3)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
        nn.ReLU(),
        nn.Conv2d(6, 6, 3, padding=1, groups=3),
        nn.Flatten(),
        nn.Linear(6 * 4 * 4, 8),
    )
    est = make_estimator("sal_conv", convert(net, "sal_conv"), SAL_QUICK, seed=1)
    shapes = map_shapes(est.fc_layers)
    assert shapes[-2:] == [(6, 4, 4), (8,)]
    before = [_angle(layer) for layer in est.fc_layers]
    est.before_epoch(0)
    after = [_angle(layer) for layer in est.fc_layers]
    assert all(a < b for a, b in zip(after, before, strict=True)), (before, after)


class _Block(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=(1, 1))
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def forward(self, x):
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


class _ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, stride=(2, 2), padding=1)
        self.blocks = nn.Sequential(_Block(4), _Block(4))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 4, 5))

    def forward(self, x):
        return self.head(self.blocks(torch.relu(self.stem(x))))


def test_sal_conv_on_a_residual_cnn_lowers_every_angle_and_the_net_trains():
    torch.manual_seed(0)
    net = convert(_ResNet(), "sal_conv")
    est = make_estimator("sal_conv", net, SAL_QUICK, seed=2)
    assert est.layer_names == ["blocks.0.conv1", "blocks.0.conv2", "blocks.1.conv1", "blocks.1.conv2", "head.1"]
    before = [_angle(layer) for layer in est.fc_layers]
    metrics = est.before_epoch(0)
    after = [_angle(layer) for layer in est.fc_layers]
    assert all(a < b for a, b in zip(after, before, strict=True)), (before, after)
    assert metrics["angle/head.1"] == pytest.approx(after[-1])
    x = torch.randn(16, 1, 8, 8)
    F.cross_entropy(net(x), torch.arange(16) % 5).backward()
    assert all(m.weight.grad is not None for m in feedback_layers(net).values())


# --------------------------------------------------------------------------- tied modules
class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        shared = nn.Linear(6, 6)
        self.a, self.b = shared, shared
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        return self.out(torch.relu(self.b(torch.relu(self.a(x)))))


@pytest.mark.parametrize("method", ["fa", "sal", "kp"])
def test_convert_keeps_a_shared_layer_tied(method):
    net, report = convert(_Tied(), method, return_report=True)
    assert isinstance(net.a, FeedbackLinear) and net.a is net.b
    assert report.shared == {"a": ["b"]}
    assert report.converted == {"Linear -> FeedbackLinear": ["a", "out"]}
    assert list(feedback_layers(net)) == ["a", "out"]
    x = torch.randn(4, 6)
    torch.testing.assert_close(net(x), _tied_copy_forward(net, x))
    F.cross_entropy(net(x), torch.tensor([0, 1, 0, 1])).backward()
    assert net.a.weight.grad is not None


def _tied_copy_forward(net, x):
    layer = net.a
    h = torch.relu(F.linear(torch.relu(F.linear(x, layer.weight, layer.bias)), layer.weight, layer.bias))
    return F.linear(h, net.out.weight, net.out.bias)


def test_layers_may_name_a_shared_layer_by_any_of_its_names():
    net = convert(_Tied(), "fa", layers=["b"])
    assert isinstance(net.a, FeedbackLinear) and net.a is net.b and not isinstance(net.out, FeedbackLinear)


# --------------------------------------------------------------------------- 1-d and 3-d convolutions
def _conv_net(dims: int) -> nn.Sequential:
    conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims]
    side = {1: 12, 2: 8, 3: 6}[dims]
    out_side = (side - 2 + 1) // 2  # after conv(k3, s1, p0) then conv(k3, s2, p1)
    return nn.Sequential(
        conv(2, 4, 3),
        nn.ReLU(),
        conv(4, 4, 3, stride=2, padding=1, groups=2),
        nn.Flatten(),
        nn.Linear(4 * out_side**dims, 3),
    )


def _input(dims: int, n: int = 6) -> torch.Tensor:
    side = {1: 12, 2: 8, 3: 6}[dims]
    return torch.randn(n, 2, *(side,) * dims, generator=torch.Generator().manual_seed(dims))


@pytest.mark.parametrize("dims", [1, 3])
@pytest.mark.parametrize("method", CONV_METHODS)
def test_every_method_converts_1d_and_3d_convs(dims, method):
    torch.manual_seed(0)
    plain = _conv_net(dims)
    net = convert(plain, method)
    expected = {1: FeedbackConv1d, 3: FeedbackConv3d}[dims]
    assert isinstance(net[0], expected) and isinstance(net[2], expected) and isinstance(net[4], FeedbackLinear)
    x = _input(dims)
    torch.testing.assert_close(net(x), plain(x), rtol=1e-5, atol=1e-6)
    y = torch.arange(len(x)) % 3
    F.cross_entropy(net(x), y).backward()
    assert all(m.weight.grad is not None and torch.isfinite(m.weight.grad).all() for m in feedback_layers(net).values())


@pytest.mark.parametrize("dims", [1, 3])
def test_a_conv_layers_input_gradient_goes_through_its_feedback(dims):
    conv = {1: F.conv1d, 3: F.conv3d}[dims]
    layer = {1: FeedbackConv1d, 3: FeedbackConv3d}[dims](4, 6, 3, stride=2, padding=1, groups=2, bias=True, kind="fa")
    x = _input(dims).repeat(1, 2, *(1,) * dims).requires_grad_()
    grad_out = torch.randn_like(layer(x))
    layer(x).backward(grad_out)
    # reference: the same convolution with B in place of W, differentiated by autograd
    x2 = x.detach().clone().requires_grad_()
    w2 = layer.weight.detach().clone().requires_grad_()
    conv(x2, layer.feedback.detach(), None, 2, 1, 1, 2).backward(grad_out)
    conv(x2.detach(), w2, None, 2, 1, 1, 2).backward(grad_out)
    torch.testing.assert_close(x.grad, x2.grad)
    torch.testing.assert_close(layer.weight.grad, w2.grad)
    torch.testing.assert_close(layer.bias.grad, grad_out.sum((0, *range(2, grad_out.dim()))))


@pytest.mark.parametrize("dims", [1, 3])
def test_sal_conv_learns_1d_and_3d_conv_feedback(dims):
    torch.manual_seed(1)
    est = make_estimator("sal_conv", convert(_conv_net(dims), "sal_conv"), SAL_QUICK, seed=0)
    assert est.layer_names == ["2", "4"]
    before = [_angle(layer) for layer in est.fc_layers]
    est.before_epoch(0)
    after = [_angle(layer) for layer in est.fc_layers]
    assert all(a < b for a, b in zip(after, before, strict=True)), (before, after)


# --------------------------------------------------------------------------- conversion report, strict
class _Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.norm = nn.BatchNorm2d(2)
        self.up = nn.ConvTranspose2d(2, 2, 2, stride=2)
        self.rnn = nn.GRU(4, 3, batch_first=True)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        h = self.up(torch.relu(self.norm(self.conv(x))))  # (n, 2, 8, 8)
        seq = h.mean(1)[:, :, :4]  # (n, 8, 4)
        out, _ = self.rnn(seq)
        return self.fc(out[:, -1])


def test_the_report_says_what_was_converted_and_what_was_left_exact(caplog):
    with caplog.at_level(logging.INFO, logger="spikealign.deep"):
        net, report = convert(_Mixed(), "fa", return_report=True)
    assert report.converted == {"Conv2d -> FeedbackConv2d": ["conv"], "Linear -> FeedbackLinear": ["fc"]}
    assert set(report.left_exact) == {"norm", "up", "rnn"}
    assert "no weight transport" in report.left_exact["norm"]
    assert set(report.transports_weights) == {"up", "rnn"}
    assert "exact backprop" in report.left_exact["up"] and report.left_exact["rnn"].startswith("GRU:")
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warned and "left exact up" in warned[0].getMessage()
    assert net(torch.randn(2, 1, 4, 4)).shape == (2, 2)
    partial = convert(_Mixed(), "fa", layers=["fc"], return_report=True)[1]
    assert partial.left_exact["conv"] == "Conv2d: not in layers="


def test_strict_conversion_names_every_layer_left_with_exact_backprop():
    with pytest.raises(UserError, match=r"2 layer\(s\) would train with exact backprop: up \(ConvTranspose2d\); rnn"):
        convert(_Mixed(), "sal", strict=True)
    ok = nn.Sequential(nn.Conv1d(1, 2, 3), nn.BatchNorm1d(2), nn.Flatten(), nn.Linear(2 * 6, 2))
    assert isinstance(convert(ok, "fa", strict=True)[0], FeedbackConv1d)  # a norm layer is no weight transport


# --------------------------------------------------------------------------- measuring a layer
def test_alignment_metrics_of_a_layer_uses_its_effective_feedback():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 5))
    scfa = convert(mlp, "scfa")[2]
    m = alignment_metrics(scfa)
    eff = scfa.feedback.detach() * torch.sign(scfa.weight.detach())
    assert m == pytest.approx(alignment_metrics(scfa.weight, eff))
    assert m["sign"] == pytest.approx(1.0) and m["angle"] < 60  # sign-concordant by construction
    assert alignment_metrics(scfa.weight, scfa.feedback)["angle"] > 75  # the stored |B0| alone: near 90
    assert alignment_metrics(convert(mlp, "bp")[2])["angle"] == pytest.approx(0.0, abs=1e-4)
    usf = convert(mlp, "usf")[2]
    assert alignment_metrics(usf)["sign"] == pytest.approx(1.0)
    fa = convert(mlp, "fa")[2]
    assert alignment_metrics(fa) == pytest.approx(alignment_metrics(fa.weight, fa.feedback))
    hidden_dfa = convert(mlp, "dfa")[0]
    with pytest.raises(ValueError, match="'dfa' layer's feedback does not have the weight's shape"):
        alignment_metrics(hidden_dfa)
    with pytest.raises(TypeError, match="pass a feedback layer or two matrices"):
        alignment_metrics(nn.Linear(2, 2))


def test_estimator_metrics_are_keyed_by_module_name():
    from spikealign.deep.methods import get_method
    from spikealign.deep.model import ConvNet

    net = convert(ConvNet(1, 28, get_method("bp")), "sal")
    out = make_estimator("sal", net, {**SAL_QUICK, "len_epoch": 20}, seed=0).before_epoch(0)
    assert {"angle/fc1", "angle/fc2", "angle/fc3", "before/angle/fc1", "corr/fc3"} <= set(out)
    assert not any(k.startswith("angle/0") for k in out)
    listed = make_estimator("sal", [net.fc2, net.fc3], SAL_QUICK, seed=0).before_epoch(0)
    assert {"angle/0", "angle/1"} <= set(listed)


# --------------------------------------------------------------------------- data
def test_a_subset_of_the_bundled_mnist_is_stratified_and_fixed():
    from spikealign.deep.data import load_dataset

    data = load_dataset("mnist5k")
    assert (data.train_y[:2000].unique().numel()) < 10  # the file is sorted by label
    sub = data.subset(2000, 300, seed=0)
    counts = np.bincount(sub.train_y.numpy(), minlength=10)
    assert counts.tolist() == [200] * 10
    assert np.bincount(sub.test_y.numpy(), minlength=10).max() - np.bincount(sub.test_y.numpy()).min() <= 1
    first = np.bincount(sub.train_y[:25].numpy(), minlength=10)
    assert first.min() >= 2 and first.max() <= 3  # every prefix is balanced up to one image
    again = data.subset(2000, 300, seed=0)
    assert torch.equal(again.train_x, sub.train_x) and torch.equal(again.test_y, sub.test_y)
    assert not torch.equal(data.subset(2000, seed=1).train_y, sub.train_y)
    assert sub.train_x.shape == (2000, 1, 28, 28) and len(data.train_y) == 4000  # the dataset is unchanged
    with pytest.raises(UserError, match="n_train=5000 must be between 1 and 4000"):
        data.subset(5000)


def test_the_static_list_of_deep_methods_is_the_method_table():
    from spikealign.deep.methods import method_names
    from spikealign.families import DEEP_METHODS

    assert list(DEEP_METHODS) == method_names()
