"""Feedback layers: exact BP when B = W, delta @ B otherwise, KP and SCFA feedback, gradcheck."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spikealign.deep import alignment_metrics
from spikealign.deep.layers import (
    Conv2dFeedbackFunction,
    FeedbackConv2d,
    FeedbackLinear,
    LinearFeedbackFunction,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _linear(kind: str, seed: int = 0, dtype=torch.float64) -> FeedbackLinear:
    return FeedbackLinear(7, 5, kind=kind, generator=_gen(seed), feedback_generator=_gen(seed + 100)).to(dtype)


def _conv(kind: str, seed: int = 0, dtype=torch.float64, **kw) -> FeedbackConv2d:
    return FeedbackConv2d(3, 4, 3, kind=kind, generator=_gen(seed), feedback_generator=_gen(seed + 100), **kw).to(dtype)


def _grads(module, x, upstream):
    x = x.clone().requires_grad_(True)
    out = module(x)
    out.backward(upstream)
    return x.grad, module.weight.grad, (module.bias.grad if module.bias is not None else None)


@pytest.mark.parametrize("kind", ["fa", "kp", "scfa"])
def test_linear_with_feedback_equal_weight_gives_backprop(kind):
    layer = _linear(kind)
    with torch.no_grad():
        layer.feedback.copy_(layer.weight.abs() if kind == "scfa" else layer.weight)
    x = torch.randn(6, 7, dtype=torch.float64, generator=_gen(1))
    up = torch.randn(6, 5, dtype=torch.float64, generator=_gen(2))
    gx, gw, gb = _grads(layer, x, up)
    xr = x.clone().requires_grad_(True)
    w = layer.weight.detach().clone().requires_grad_(True)
    b = layer.bias.detach().clone().requires_grad_(True)
    F.linear(xr, w, b).backward(up)
    assert torch.equal(gx, xr.grad)
    assert torch.equal(gw, w.grad)
    assert torch.equal(gb, b.grad)


@pytest.mark.parametrize("kind", ["fa", "kp", "scfa"])
def test_conv_with_feedback_equal_weight_gives_backprop(kind):
    conv = _conv(kind, stride=1, padding=1, bias=True)
    with torch.no_grad():
        conv.feedback.copy_(conv.weight.abs() if kind == "scfa" else conv.weight)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64, generator=_gen(1))
    up = torch.randn(2, 4, 8, 8, dtype=torch.float64, generator=_gen(2))
    gx, gw, gb = _grads(conv, x, up)
    xr = x.clone().requires_grad_(True)
    w = conv.weight.detach().clone().requires_grad_(True)
    b = conv.bias.detach().clone().requires_grad_(True)
    F.conv2d(xr, w, b, padding=1).backward(up)
    # conv2d_input/conv2d_weight call the same convolution_backward kernel as autograd: bit-identical
    assert torch.equal(gx, xr.grad)
    assert torch.equal(gw, w.grad)
    # the bias gradient is our own sum over (batch, y, x); autograd may sum in another order
    torch.testing.assert_close(gb, b.grad, rtol=0, atol=1e-13)


def test_linear_fa_input_gradient_is_delta_times_feedback():
    layer = _linear("fa")
    assert not torch.equal(layer.feedback, layer.weight)
    x = torch.randn(6, 7, dtype=torch.float64, generator=_gen(1))
    delta = torch.randn(6, 5, dtype=torch.float64, generator=_gen(2))
    gx, gw, gb = _grads(layer, x, delta)
    B = layer.feedback.detach()
    # hand-computed: dL/dx[b, i] = sum_j delta[b, j] B[j, i]; dL/dW[j, i] = sum_b delta[b, j] x[b, i]
    expected_gx = torch.stack([sum(delta[b, j] * B[j] for j in range(5)) for b in range(6)])
    expected_gw = torch.stack([sum(delta[b, j] * x[b] for b in range(6)) for j in range(5)])
    torch.testing.assert_close(gx, expected_gx, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gw, expected_gw, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gb, delta.sum(0), rtol=1e-12, atol=1e-12)
    assert layer.feedback.grad is None
    # and it differs from the backprop gradient delta @ W
    assert not torch.allclose(gx, delta @ layer.weight.detach())


def test_conv_fa_input_gradient_is_transposed_conv_with_feedback():
    conv = _conv("fa")
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64, generator=_gen(1))
    delta = torch.randn(2, 4, 4, 4, dtype=torch.float64, generator=_gen(2))
    gx, gw, _ = _grads(conv, x, delta)
    B = conv.feedback.detach()
    # hand-computed scatter: y[n, o, p, q] = sum_{c, u, v} W[o, c, u, v] x[n, c, p + u, q + v]
    expected = torch.zeros_like(x)
    for p in range(4):
        for q in range(4):
            expected[:, :, p : p + 3, q : q + 3] += torch.einsum("no,ocuv->ncuv", delta[:, :, p, q], B)
    torch.testing.assert_close(gx, expected, rtol=1e-12, atol=1e-12)
    xr = x.clone().requires_grad_(True)
    w = conv.weight.detach().clone().requires_grad_(True)
    F.conv2d(xr, w).backward(delta)
    torch.testing.assert_close(gw, w.grad, rtol=1e-12, atol=1e-12)  # the weight gradient stays the true one
    assert not torch.allclose(gx, xr.grad)


@pytest.mark.parametrize("maker", [_linear, _conv])
def test_kp_feedback_gradient_equals_weight_gradient(maker):
    layer = maker("kp")
    assert layer.feedback.requires_grad
    shape = (5, 7) if isinstance(layer, FeedbackLinear) else (2, 3, 6, 6)
    x = torch.randn(*shape, dtype=torch.float64, generator=_gen(3))
    layer(x.requires_grad_(True)).pow(2).sum().backward()
    assert layer.feedback.grad is not None
    assert torch.equal(layer.feedback.grad, layer.weight.grad)


@pytest.mark.parametrize("maker", [_linear, _conv])
def test_fa_feedback_is_fixed(maker):
    layer = maker("fa")
    assert not layer.feedback.requires_grad
    assert layer.feedback.shape == layer.weight.shape
    assert "feedback" in layer.state_dict()


def test_scfa_effective_feedback_is_abs_b0_times_sign_w():
    layer = _linear("scfa")
    b0 = layer.feedback.detach().clone()
    assert (b0 >= 0).all()
    torch.testing.assert_close(layer.effective_feedback(), b0 * torch.sign(layer.weight.detach()))
    # the sign follows W after W changes; the stored |B0| does not change
    with torch.no_grad():
        layer.weight.neg_()
    torch.testing.assert_close(layer.effective_feedback(), b0 * torch.sign(layer.weight.detach()))
    x = torch.randn(4, 7, dtype=torch.float64, generator=_gen(5))
    delta = torch.randn(4, 5, dtype=torch.float64, generator=_gen(6))
    gx, _, _ = _grads(layer, x, delta)
    torch.testing.assert_close(gx, delta @ (b0 * torch.sign(layer.weight.detach())), rtol=1e-12, atol=1e-12)
    assert torch.equal(layer.feedback.detach(), b0)


def test_scfa_effective_feedback_same_signs_as_w():
    layer = FeedbackLinear(50, 40, kind="scfa", generator=_gen(0), feedback_generator=_gen(1))
    eff = layer.effective_feedback()
    assert torch.equal(torch.sign(eff), torch.sign(layer.weight.detach()))


def test_gradcheck_linear_and_conv_float64():
    # with the same values in W and B the custom backward must match finite differences of the forward
    x = torch.randn(3, 4, dtype=torch.float64, generator=_gen(1), requires_grad=True)
    w = torch.randn(5, 4, dtype=torch.float64, generator=_gen(2), requires_grad=True)
    b = torch.randn(5, dtype=torch.float64, generator=_gen(3), requires_grad=True)
    fb = w.detach().clone()
    assert torch.autograd.gradcheck(lambda x, w, b: LinearFeedbackFunction.apply(x, w, b, fb, False), (x, w, b))
    xc = torch.randn(2, 2, 5, 5, dtype=torch.float64, generator=_gen(4), requires_grad=True)
    wc = torch.randn(3, 2, 3, 3, dtype=torch.float64, generator=_gen(5), requires_grad=True)
    bc = torch.randn(3, dtype=torch.float64, generator=_gen(6), requires_grad=True)
    fbc = wc.detach().clone()

    def conv(x, w, b):
        return Conv2dFeedbackFunction.apply(x, w, b, fbc, False, 2, 1, 1, 1)

    assert torch.autograd.gradcheck(conv, (xc, wc, bc))


def test_gradcheck_fails_when_feedback_differs():
    # guards the test above against a backward that ignores the feedback argument
    x = torch.randn(3, 4, dtype=torch.float64, generator=_gen(1), requires_grad=True)
    w = torch.randn(5, 4, dtype=torch.float64, generator=_gen(2), requires_grad=True)
    fb = torch.randn(5, 4, dtype=torch.float64, generator=_gen(7))
    assert not torch.autograd.gradcheck(
        lambda x, w: LinearFeedbackFunction.apply(x, w, None, fb, False), (x, w), raise_exception=False
    )


def test_init_bounds_follow_fan_in():
    layer = FeedbackLinear(1024, 384, kind="fa", generator=_gen(0), feedback_generator=_gen(1))
    bound = 1 / 32
    for t in (layer.weight, layer.bias, layer.feedback):
        assert t.abs().max() <= bound
        # U(-a, a) has max |x| within a few a/n of a for n = 393k draws
        assert t.abs().max() > 0.99 * bound
    conv = FeedbackConv2d(64, 64, 5, kind="fa", generator=_gen(0), feedback_generator=_gen(1))
    assert conv.weight.abs().max() <= 1 / 40 and conv.feedback.abs().max() > 0.99 / 40
    # independent draws: forward and feedback are uncorrelated (|r| ~ 1/sqrt(n) = 0.0016 for n = 393k)
    r = torch.corrcoef(torch.stack([layer.weight.detach().flatten(), layer.feedback.flatten()]))[0, 1]
    assert abs(float(r)) < 0.01


def test_forward_weights_do_not_depend_on_kind():
    ws = [FeedbackLinear(10, 6, kind=k, generator=_gen(3), feedback_generator=_gen(4)).weight for k in ("bp", "fa")]
    assert torch.equal(ws[0], ws[1])


# --------------------------------------------------------------------------- sign-symmetry kinds and DFA
def test_usf_input_gradient_uses_sign_of_w_with_uniform_magnitude():
    layer = _linear("usf")
    assert layer.feedback is None and "feedback" not in layer.state_dict()
    x = torch.randn(6, 7, dtype=torch.float64, generator=_gen(1))
    delta = torch.randn(6, 5, dtype=torch.float64, generator=_gen(2))
    gx, gw, _ = _grads(layer, x, delta)
    B = torch.sign(layer.weight.detach()) / 7**0.5  # magnitude 1/sqrt(fan_in), the init bound
    torch.testing.assert_close(gx, delta @ B, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gw, delta.T @ x, rtol=1e-12, atol=1e-12)  # true weight gradient


def test_usf_conv_input_gradient():
    conv = _conv("usf", padding=1)
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64, generator=_gen(1))
    delta = torch.randn(2, 4, 6, 6, dtype=torch.float64, generator=_gen(2))
    gx, _, _ = _grads(conv, x, delta)
    B = torch.sign(conv.weight.detach()) / 27**0.5  # fan_in = 3 * 3 * 3
    torch.testing.assert_close(gx, torch.nn.grad.conv2d_input(x.shape, B, delta, 1, 1), rtol=1e-12, atol=1e-12)


def test_frsf_keeps_a_fixed_magnitude_and_follows_sign_of_w():
    layer = _linear("frsf")
    m0 = layer.feedback.detach().clone()
    assert (m0 > 0).all() and m0.max() <= 1 / 7**0.5
    x = torch.randn(4, 7, dtype=torch.float64, generator=_gen(5))
    delta = torch.randn(4, 5, dtype=torch.float64, generator=_gen(6))
    for _ in range(2):
        gx, _, _ = _grads(layer, x, delta)
        torch.testing.assert_close(gx, delta @ (m0 * torch.sign(layer.weight.detach())), rtol=1e-12, atol=1e-12)
        with torch.no_grad():
            layer.weight.neg_()  # the sign follows W, the magnitude stays
    assert torch.equal(layer.feedback.detach(), m0)


def test_brsf_redraws_the_magnitude_every_training_batch():
    layer = _linear("brsf")
    x = torch.randn(4, 7, dtype=torch.float64, generator=_gen(5))
    delta = torch.randn(4, 5, dtype=torch.float64, generator=_gen(6))
    drawn = []
    for _ in range(3):
        gx, _, _ = _grads(layer, x, delta)
        m = layer.feedback.detach().clone()
        assert (m >= 0).all() and m.max() <= 1 / 7**0.5
        torch.testing.assert_close(gx, delta @ (m * torch.sign(layer.weight.detach())), rtol=1e-12, atol=1e-12)
        drawn.append(m)
    assert not torch.equal(drawn[0], drawn[1]) and not torch.equal(drawn[1], drawn[2])
    layer.eval()
    layer(x)
    assert torch.equal(layer.feedback.detach(), drawn[-1])  # no redraw outside training


def _dfa_mlp(seed: int = 0):
    from torch import nn

    from spikealign.deep.layers import link_dfa

    g, fg = _gen(seed), _gen(seed + 100)
    layers = [
        FeedbackLinear(n_in, n_out, kind="dfa", generator=g, feedback_generator=fg)
        for n_in, n_out in ((7, 6), (6, 4), (4, 3))
    ]
    net = nn.Sequential(layers[0], nn.ReLU(), layers[1], nn.ReLU(), layers[2]).to(torch.float64)
    link_dfa(net)
    return net, layers


def test_dfa_hidden_layers_receive_the_output_error_through_their_own_matrix():
    net, (l0, l1, l2) = _dfa_mlp()
    assert l1.feedback.shape == (3, 6) and l2.feedback.shape == (3, 4) and l0.feedback.shape == (3, 7)
    x = torch.randn(5, 7, dtype=torch.float64, generator=_gen(1))
    e = torch.randn(5, 3, dtype=torch.float64, generator=_gen(2))  # dL/dy at the output
    net(x).backward(e)
    with torch.no_grad():
        a1 = x @ l0.weight.T + l0.bias
        h1 = a1.clamp(min=0)
        a2 = h1 @ l1.weight.T + l1.bias
        h2 = a2.clamp(min=0)
        d2 = (e @ l2.feedback) * (a2 > 0)  # the output layer's own feedback (as in FA)
        d1 = (e @ l1.feedback) * (a1 > 0)  # DFA: e through layer 1's matrix, not d2 @ B
    torch.testing.assert_close(l2.weight.grad, e.T @ h2, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(l1.weight.grad, d2.T @ h1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(l0.weight.grad, d1.T @ x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(l0.bias.grad, d1.sum(0), rtol=1e-12, atol=1e-12)


def test_dfa_conv_input_gradient_is_output_error_times_feedback():
    from torch import nn

    from spikealign.deep.layers import link_dfa

    conv = FeedbackConv2d(2, 3, 3, kind="dfa", generator=_gen(0), feedback_generator=_gen(1))
    fc = FeedbackLinear(3 * 4 * 4, 5, kind="dfa", generator=_gen(2), feedback_generator=_gen(3))
    net = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), fc).to(torch.float64)
    link_dfa(net)
    assert conv.feedback is None  # shaped by the first input
    x = torch.randn(4, 2, 6, 6, dtype=torch.float64, generator=_gen(4), requires_grad=True)
    e = torch.randn(4, 5, dtype=torch.float64, generator=_gen(5))
    net(x).backward(e)
    assert conv.feedback.shape == (5, 2, 6, 6)
    torch.testing.assert_close(x.grad, (e @ conv.feedback.reshape(5, -1)).reshape(x.shape), rtol=1e-12, atol=1e-12)


def test_alignment_of_a_dfa_net_before_its_first_forward_pass():
    """Training logs the alignment at epoch 0, before a hidden conv layer's B is shaped: it is left out."""
    from torch import nn

    from spikealign.deep.layers import link_dfa
    from spikealign.deep.metrics import layer_alignment

    conv = FeedbackConv2d(2, 3, 3, kind="dfa", generator=_gen(0), feedback_generator=_gen(1))
    fc = FeedbackLinear(3 * 4 * 4, 5, kind="dfa", generator=_gen(2), feedback_generator=_gen(3))
    link_dfa(nn.Sequential(conv, nn.ReLU(), nn.Flatten(), fc))
    assert conv.effective_feedback() is None
    metrics = layer_alignment({"conv": conv, "fc": fc})
    assert not any(k.startswith("conv/") for k in metrics)
    assert metrics["fc/angle"] == pytest.approx(alignment_metrics(fc.weight, fc.feedback)["angle"])


def test_unlinked_dfa_layer_says_how_to_link_it():
    layer = FeedbackLinear(4, 3, kind="dfa")
    with pytest.raises(RuntimeError, match="link_dfa"):
        layer(torch.randn(2, 4, requires_grad=True))


@pytest.mark.parametrize("kind", ["fa", "kp", "scfa", "frsf", "brsf"])
def test_plain_state_dict_loads_and_keeps_the_feedback(kind):
    plain = torch.nn.Linear(7, 5).to(torch.float64)
    layer = _linear(kind)
    fb = layer.feedback.detach().clone()
    layer.load_state_dict(plain.state_dict())  # strict: the missing 'feedback' is not an error
    assert torch.equal(layer.weight.detach(), plain.weight.detach()) and torch.equal(layer.feedback.detach(), fb)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        layer.load_state_dict({**plain.state_dict(), "other": torch.zeros(1)})
