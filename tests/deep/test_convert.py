"""convert() on models the tests build, estimators on converted models, the method table, settings checks."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
from torch import nn

from spikealign.deep import alignment_metrics, convert, feedback_layers, list_methods, make_estimator
from spikealign.deep.estimators import validate_settings
from spikealign.deep.layers import FeedbackConv2d, FeedbackLinear
from spikealign.deep.methods import METHODS, get_method
from spikealign.deep.model import ConvNet
from spikealign.errors import UserError

SAL_QUICK = {"n_iterations": 2, "batch_size": 8}


def _mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 48), nn.ReLU(), nn.Linear(48, 24), nn.ReLU(), nn.Linear(24, 5))


class _Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def forward(self, x):
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


class _SmallResNet(nn.Module):
    """A stem conv, two residual blocks in a ModuleList, a 2-layer FC head in a Sequential."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 6, 3, stride=(2, 2), padding=1)
        self.blocks = nn.ModuleList([_Residual(6), _Residual(6)])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(6 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 4))

    def forward(self, x):
        x = torch.relu(self.stem(x))
        for block in self.blocks:
            x = block(x)
        return self.head(nn.functional.adaptive_avg_pool2d(x, 4))


def _angles(layers):
    return [alignment_metrics(layer.weight, layer.feedback)["angle"] for layer in layers]


# --------------------------------------------------------------------------- convert
def test_convert_copies_weights_and_leaves_the_model_alone():
    mlp = _mlp()
    fa = convert(mlp, "fa")
    assert all(isinstance(m, nn.Linear) and not isinstance(m, FeedbackLinear) for m in mlp if hasattr(m, "weight"))
    layers = feedback_layers(fa)
    assert list(layers) == ["0", "2", "4"] and all(m.kind == "fa" for m in layers.values())
    for name, layer in layers.items():
        assert torch.equal(layer.weight, mlp.get_submodule(name).weight)
        assert torch.equal(layer.bias, mlp.get_submodule(name).bias)
    x = torch.randn(3, 20)
    torch.testing.assert_close(fa(x), mlp(x), rtol=0, atol=0)  # same forward pass
    fresh = convert(mlp, "fa", copy_weights=False)
    assert not torch.equal(feedback_layers(fresh)["0"].weight, mlp[0].weight)


def test_convert_selected_layers_and_errors():
    res = convert(_SmallResNet(), "scfa", layers=["head.1", "head.3", "blocks.1.conv2"])
    kinds = {n: (type(m).__name__, m.kind) for n, m in feedback_layers(res).items()}
    assert kinds == {
        "blocks.1.conv2": ("FeedbackConv2d", "fa"),  # scfa: conv layers get fixed random feedback
        "head.1": ("FeedbackLinear", "scfa"),
        "head.3": ("FeedbackLinear", "scfa"),
    }
    assert isinstance(res.stem, nn.Conv2d) and not isinstance(res.stem, FeedbackConv2d)
    with pytest.raises(UserError, match=r"no linear or conv layer called 'head\.9'.*convertible: stem, "):
        convert(_SmallResNet(), "fa", layers=["head.9"])
    with pytest.raises(UserError, match="unknown deep-network method 'nope'"):
        convert(_mlp(), "nope")
    with pytest.raises(UserError, match="padding_mode='reflect'"):
        convert(nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")), "fa")


@pytest.mark.parametrize("method", ["fa", "kp", "scfa", "dfa", "usf", "brsf", "frsf", "sal"])
def test_plain_state_dict_loads_into_a_converted_resnet(method):
    plain = _SmallResNet()
    converted = convert(_SmallResNet(), method, copy_weights=False)
    x = torch.randn(2, 1, 8, 8)
    converted(x)  # dfa: conv feedback tensors are shaped by the first input
    before = {n: (None if m.feedback is None else m.feedback.clone()) for n, m in feedback_layers(converted).items()}
    converted.load_state_dict(plain.state_dict())  # strict
    torch.testing.assert_close(converted(x), plain(x), rtol=1e-6, atol=1e-6)
    for name, layer in feedback_layers(converted).items():
        if before[name] is not None:  # brsf redraws its magnitude in training forward passes
            assert layer.kind == "brsf" or torch.equal(layer.feedback, before[name])
    # and a converted model's own checkpoint round-trips, feedback included
    again = convert(_SmallResNet(), method, copy_weights=False)  # no forward pass: dfa conv B comes from the file
    again.load_state_dict(converted.state_dict())
    for name, layer in feedback_layers(again).items():
        other = feedback_layers(converted)[name].feedback
        assert (layer.feedback is None) == (other is None)
        assert layer.feedback is None or torch.equal(layer.feedback, other)


@pytest.mark.parametrize("method", ["fa", "dfa", "usf", "frsf", "brsf"])
def test_converted_resnet_trains(method):
    torch.manual_seed(1)
    x = torch.randn(64, 1, 8, 8)
    y = (x[:, 0, :4].mean((1, 2)) > 0).long() + 2 * (x[:, 0, :, :4].mean((1, 2)) > 0).long()
    net = convert(_SmallResNet(), method)
    opt = torch.optim.SGD(net.parameters(), lr=0.03, momentum=0.9)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    # full-batch training on 64 fixed images: the loss falls well below chance level ln 4 = 1.39
    # (measured after 60 steps: fa 0.84, frsf 0.38, brsf 0.42, dfa 0.11, usf 0.00)
    assert losses[-1] < 0.7 * losses[0] and all(math.isfinite(v) for v in losses)


# --------------------------------------------------------------------------- estimators on converted models
def test_sal_on_a_converted_mlp_lowers_every_angle_and_training_works():
    net = convert(_mlp(), "sal")
    sal = make_estimator("sal", net, SAL_QUICK, seed=1)
    assert sal.fc_layers == list(feedback_layers(net).values())
    x, y = torch.randn(256, 20, generator=torch.Generator().manual_seed(2)), torch.randint(0, 5, (256,))
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    first = _angles(sal.fc_layers)
    losses = []
    for epoch in range(3):
        before = _angles(sal.fc_layers)
        sal.before_epoch(epoch)
        assert all(a < b for a, b in zip(_angles(sal.fc_layers), before, strict=True))  # every layer, every phase
        for i in range(0, 256, 64):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x[i : i + 64]), y[i : i + 64])
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    assert all(a < b - 3 for a, b in zip(_angles(sal.fc_layers), first, strict=True))
    assert losses[-1] < losses[0]


def test_sal_on_the_convnet_and_on_a_resnet_drives_the_fc_layers():
    convnet = convert(ConvNet(1, 28, get_method("bp")), "sal")
    assert convnet.conv2.kind == "fa" and convnet.fc1.kind == "fa"
    sal = make_estimator("sal", convnet, {**SAL_QUICK, "len_epoch": 50}, seed=0)
    assert sal.fc_layers == [convnet.fc1, convnet.fc2, convnet.fc3]
    before = _angles(sal.fc_layers)
    sal.before_epoch(0)
    assert all(a < b for a, b in zip(_angles(sal.fc_layers), before, strict=True))

    res = convert(_SmallResNet(), "sal")
    sal = make_estimator("sal", res, SAL_QUICK, seed=0)
    assert sal.fc_layers == [res.head[1], res.head[3]]
    before = _angles(sal.fc_layers)
    sal.before_epoch(0)
    assert all(a < b for a, b in zip(_angles(sal.fc_layers), before, strict=True))
    out = res(torch.randn(4, 1, 8, 8))
    nn.functional.cross_entropy(out, torch.tensor([0, 1, 2, 3])).backward()
    assert all(m.weight.grad is not None for m in feedback_layers(res).values())


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (_mlp(), r"no FeedbackLinear layers.*plain nn\.Linear: 0, 2, 4; use convert"),
        (convert(_mlp(), "bp"), r"layer '0' has feedback kind 'bp'; estimators drive kind 'fa' layers only"),
        (convert(_mlp(), "scfa"), r"layer '0' has feedback kind 'scfa'"),
        (convert(_mlp(), "kp"), r"layer '0' has feedback kind 'kp'"),
        ([nn.Linear(3, 2)], r"layer 0 is a plain nn\.Linear without a feedback matrix"),
        ([FeedbackConv2d(1, 2, 3)], r"layer 0 is a FeedbackConv2d; this estimator drives FC layers only"),
        (
            [FeedbackLinear(4, 3), FeedbackLinear(4, 2)],
            r"layer 1 \(in=4\) does not take the output of layer 0 \(out=3\)",
        ),
    ],
)
def test_make_estimator_rejects_what_it_cannot_drive(model, message):
    with pytest.raises(UserError, match=message):
        make_estimator("sal", model, SAL_QUICK)


def test_stdwi_takes_layers_that_do_not_form_a_chain():
    heads = [FeedbackLinear(6, 4), FeedbackLinear(6, 3)]  # two heads on one input
    est = make_estimator("stdwi", heads, {"seconds": 0.2}, seed=0)
    assert est.fc_layers == heads


# --------------------------------------------------------------------------- settings, method table
@pytest.mark.parametrize(
    ("name", "settings", "key"),
    [
        ("sal", {"sal_lr": -5}, "sal_lr"),
        ("sal", {"sal_lr": float("nan")}, "sal_lr"),
        ("sal", {"sal_lr": [0.1, float("inf")]}, "sal_lr"),
        ("sal", {"batch_size": 0}, "batch_size"),
        ("sal", {"n_iterations": -1}, "n_iterations"),
        ("rdd", {"rdd_time": float("nan")}, "rdd_time"),
        ("rdd", {"input_rate_hz": -1.0}, "input_rate_hz"),
        ("stdwi", {"seconds": float("inf")}, "seconds"),
        ("stdwi", {"weight_scale": 0}, "weight_scale"),
    ],
)
def test_settings_reject_nan_inf_and_negative_values(name, settings, key):
    with pytest.raises(ValueError, match=key):
        validate_settings(name, settings)


def test_every_method_is_listed_with_a_description():
    listed = list_methods()
    assert list(listed) == [m.name for m in METHODS]
    assert {"dfa", "usf", "brsf", "frsf", "sal", "rdd", "stdwi"} <= set(listed)
    assert all(len(text) > 10 and "\n" not in text for text in listed.values())
    assert "akrout" in listed["kp"]


def test_method_table_needs_no_estimator_import():
    code = (
        "import sys; from spikealign.deep.methods import get_method; "
        "assert get_method('sal').estimator == 'sal'; "
        "assert 'spikealign.deep.estimators' not in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_an_estimator_of_conv_feedback_gets_the_conv_layers_of_a_model():
    # how a conv estimator (e.g. SAL on conv feedback) plugs in: one class that also names FeedbackConv2d
    from spikealign.deep.estimators import Estimator, SALSettings

    class ConvProbe(Estimator):
        name = "probe"
        settings_model = SALSettings
        layer_types = (FeedbackConv2d, FeedbackLinear)

    net = convert(ConvNet(1, 28, get_method("bp")), "sal")
    probe = ConvProbe(net, {}, seed=0)
    assert probe.fc_layers == [net.conv1, net.conv2, net.fc1, net.fc2, net.fc3]
    with pytest.raises(UserError, match="layer '0' has feedback kind 'frsf'"):
        ConvProbe(convert(nn.Sequential(nn.Conv2d(1, 2, 3)), "frsf"), {}, seed=0)
