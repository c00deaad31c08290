"""Linear and conv layers whose backward pass routes the error through a feedback matrix.

The forward pass is the ordinary layer, ``y = x W^T + b`` (linear) or ``y = conv(x, W) + b``.
Weights are indexed (post, pre): ``W`` has shape (out, in) or (C_out, C_in, kh, kw).  Every
feedback layer holds a tensor ``feedback`` of the same shape as ``weight`` (an ``nn.Parameter``,
so it is in the ``state_dict``; it requires grad only for Kolen-Pollack).  With
``delta = dL/dy`` the backward pass is

* input gradient: ``dL/dx = delta @ B_eff`` (linear) or the transposed convolution of
  ``delta`` with ``B_eff`` (conv), i.e. ``B_eff`` is used in place of ``W``;
* weight gradient: the true local gradient ``dL/dW = delta^T x`` (conv: ``conv2d_weight``);
* bias gradient: ``sum_b delta``;
* feedback gradient: ``dL/dB := dL/dW`` for ``kp`` (Kolen-Pollack: B receives the same update as
  W; with equal weight decay on both the mismatch W - B decays geometrically), none otherwise.

``B_eff`` is ``B`` for ``fa``/``kp`` and ``|B0| * sign(W)`` for ``scfa`` (the stored ``feedback``
is ``|B0|``, fixed; the sign follows the *current* W at every step).  With ``B_eff == W`` all kinds
give exactly the backprop gradients.

Initialisation (spec 1.2, PyTorch's ``kaiming_uniform(a=sqrt(5))``): every weight, feedback and
bias entry ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_features or C_in * kh * kw.  Weights
and biases are drawn from one generator, feedback tensors from another, so that a given seed gives
the same forward weights for every method.

Only public PyTorch APIs are used (``torch.autograd.Function``, ``torch.nn.grad.conv2d_input``,
``torch.nn.grad.conv2d_weight``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

FEEDBACK_LAYER_KINDS = ("bp", "fa", "kp", "scfa")


class LinearFeedbackFunction(torch.autograd.Function):
    """``y = x W^T + b`` with ``dL/dx = delta B``; ``dL/dB = delta^T x`` when ``feedback_learns``.

    Inputs ``x`` may have any number of leading dimensions (like ``F.linear``).
    """

    @staticmethod
    def forward(x, weight, bias, feedback, feedback_learns):
        return F.linear(x, weight, bias)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, _weight, bias, feedback, feedback_learns = inputs
        ctx.save_for_backward(x, feedback)
        ctx.has_bias = bias is not None
        ctx.feedback_learns = bool(feedback_learns)

    @staticmethod
    def backward(ctx, grad_out):
        x, feedback = ctx.saved_tensors
        grad_x = grad_w = grad_b = grad_fb = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_out @ feedback.to(grad_out.dtype)
        need_w = ctx.needs_input_grad[1] or (ctx.feedback_learns and ctx.needs_input_grad[3])
        if need_w:
            g2 = grad_out.reshape(-1, grad_out.shape[-1])
            x2 = x.reshape(-1, x.shape[-1])
            grad_w = g2.t() @ x2
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_out.reshape(-1, grad_out.shape[-1]).sum(0)
        if ctx.feedback_learns and ctx.needs_input_grad[3]:
            grad_fb = grad_w
        if not ctx.needs_input_grad[1]:
            grad_w = None
        return grad_x, grad_w, grad_b, grad_fb, None


class Conv2dFeedbackFunction(torch.autograd.Function):
    """``y = conv2d(x, W) + b`` whose input gradient is the transposed conv of ``delta`` with ``B``."""

    @staticmethod
    def forward(x, weight, bias, feedback, feedback_learns, stride, padding, dilation, groups):
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, bias, feedback, feedback_learns, stride, padding, dilation, groups = inputs
        ctx.save_for_backward(x, feedback)
        ctx.weight_shape = weight.shape
        ctx.has_bias = bias is not None
        ctx.feedback_learns = bool(feedback_learns)
        ctx.conv_args = (stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_out):
        x, feedback = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conv_args
        grad_x = grad_w = grad_b = grad_fb = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.nn.grad.conv2d_input(
                x.shape, feedback.to(grad_out.dtype), grad_out, stride, padding, dilation, groups
            )
        need_w = ctx.needs_input_grad[1] or (ctx.feedback_learns and ctx.needs_input_grad[3])
        if need_w:
            grad_w = torch.nn.grad.conv2d_weight(x, ctx.weight_shape, grad_out, stride, padding, dilation, groups)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_out.sum((0, 2, 3))
        if ctx.feedback_learns and ctx.needs_input_grad[3]:
            grad_fb = grad_w
        if not ctx.needs_input_grad[1]:
            grad_w = None
        return grad_x, grad_w, grad_b, grad_fb, None, None, None, None, None


def _uniform_(tensor: torch.Tensor, bound: float, generator: torch.Generator | None) -> torch.Tensor:
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


def _check_kind(kind: str) -> str:
    if kind not in FEEDBACK_LAYER_KINDS:
        raise ValueError(f"feedback kind {kind!r} is not one of {FEEDBACK_LAYER_KINDS}")
    return kind


class _FeedbackMixin:
    """Shared logic: which tensor is the effective feedback."""

    kind: str
    weight: nn.Parameter
    feedback: nn.Parameter

    @property
    def has_feedback(self) -> bool:
        return self.kind != "bp"

    def effective_feedback(self) -> torch.Tensor:
        """The matrix used in place of W in the backward pass (W itself for ``bp``).

        ``scfa``: ``|B0| * sign(W)`` (``feedback`` holds ``|B0|``); ``fa``/``kp``: ``feedback``.
        """
        if self.kind == "bp":
            return self.weight.detach()
        if self.kind == "scfa":
            return self.feedback.detach() * torch.sign(self.weight.detach())
        return self.feedback

    def _init_feedback(self, fan_in: int, generator: torch.Generator | None) -> None:
        if self.kind == "bp":
            return
        fb = torch.empty_like(self.weight)
        _uniform_(fb, 1.0 / math.sqrt(fan_in), generator)
        if self.kind == "scfa":
            fb = fb.abs()
        self.feedback = nn.Parameter(fb, requires_grad=self.kind == "kp")


class FeedbackLinear(_FeedbackMixin, nn.Module):
    """Fully connected layer ``y = x W^T + b`` with a feedback pathway of kind ``kind``.

    Parameters
    ----------
    in_features, out_features : sizes; ``weight`` and ``feedback`` have shape (out, in).
    bias : whether to add a bias.
    kind : ``bp`` (exact backprop, no ``feedback``), ``fa``, ``kp`` or ``scfa``.
    generator, feedback_generator : torch generators for the forward (weight, bias) and feedback
        initialisation (``None``: the global torch RNG).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        kind: str = "fa",
        generator: torch.Generator | None = None,
        feedback_generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.kind = _check_kind(kind)
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(_uniform_(torch.empty(out_features, in_features), bound, generator))
        self.bias = nn.Parameter(_uniform_(torch.empty(out_features), bound, generator)) if bias else None
        self._init_feedback(in_features, feedback_generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "bp":
            return F.linear(x, self.weight, self.bias)
        fb = self.feedback if self.kind == "kp" else self.effective_feedback().detach()
        return LinearFeedbackFunction.apply(x, self.weight, self.bias, fb, self.kind == "kp")

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, bias={self.bias is not None}, kind={self.kind}"


class FeedbackConv2d(_FeedbackMixin, nn.Module):
    """2-d convolution with a feedback kernel of kind ``kind`` (same shape as ``weight``).

    ``weight`` and ``feedback`` have shape (C_out, C_in / groups, kh, kw); the input gradient is
    ``conv2d_input(x.shape, B_eff, delta)``, the weight gradient the true ``conv2d_weight``.
    When the input does not require grad (the first layer), the feedback is never used.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = False,
        kind: str = "fa",
        generator: torch.Generator | None = None,
        feedback_generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.kind = _check_kind(kind)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        fan_in = (in_channels // groups) * kernel_size * kernel_size
        bound = 1.0 / math.sqrt(fan_in)
        shape = (out_channels, in_channels // groups, kernel_size, kernel_size)
        self.weight = nn.Parameter(_uniform_(torch.empty(shape), bound, generator))
        self.bias = nn.Parameter(_uniform_(torch.empty(out_channels), bound, generator)) if bias else None
        self._init_feedback(fan_in, feedback_generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "bp":
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        fb = self.feedback if self.kind == "kp" else self.effective_feedback().detach()
        return Conv2dFeedbackFunction.apply(
            x, self.weight, self.bias, fb, self.kind == "kp", self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, bias={self.bias is not None}, kind={self.kind}"
        )
