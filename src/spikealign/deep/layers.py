"""Linear and conv layers whose backward pass routes the error through a feedback matrix.

See docs/deep.md, 'Feedback layers' (kinds, equations, initialisation) and 'Direct feedback
alignment'.  The forward pass is the ordinary layer, ``y = x W^T + b`` (linear) or
``y = conv(x, W) + b``.  Weights are indexed (post, pre): ``W`` has shape (out, in) or
(C_out, C_in, kh, kw).  With ``delta = dL/dy`` the backward pass is

* input gradient: ``dL/dx = delta @ B_eff`` (linear) or the transposed convolution of
  ``delta`` with ``B_eff`` (conv), i.e. ``B_eff`` is used in place of ``W``;
* weight gradient: the true local gradient ``dL/dW = delta^T x`` (conv: ``conv2d_weight``);
* bias gradient: ``sum_b delta``;
* feedback gradient: ``dL/dB := dL/dW`` for ``kp`` (Kolen-Pollack), none otherwise.

``B_eff`` per kind: ``bp`` W; ``fa``/``kp`` the stored ``feedback``; ``scfa``/``frsf``
``|B0| * sign(W)`` (``feedback`` holds the fixed ``|B0|``); ``brsf`` ``|M| * sign(W)`` with ``M``
redrawn at every training forward pass (``feedback`` holds the last ``|M|``); ``usf``
``sign(W) / sqrt(fan_in)`` (no stored tensor).  ``dfa`` layers take their input gradient from the
network's output error ``e`` instead: ``dL/dx = e @ B_l`` with a fixed random ``B_l`` of shape
(n_out, *x.shape[1:]) per layer, entries ~ U(+-1/sqrt(x[0].numel())); the last ``dfa`` layer
(the output layer) behaves as ``fa`` and records ``e`` (see :func:`link_dfa`).

Initialisation (PyTorch's ``kaiming_uniform(a=sqrt(5))``): every weight, feedback and bias entry
~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_features or C_in * kh * kw.  Weights and
biases are drawn from one generator, feedback tensors from another, so that a given seed gives
the same forward weights for every method.

A layer whose kind has a stored feedback accepts a ``state_dict`` without the ``feedback`` key (a
plain ``nn.Linear``/``nn.Conv2d`` checkpoint): the feedback keeps its initial value.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn import grad as conv_grad

from .methods import FEEDBACK_KINDS as FEEDBACK_LAYER_KINDS

#: kinds whose stored ``feedback`` is a magnitude ``|B0|`` combined with ``sign(W)``
_SIGN_KINDS = ("scfa", "frsf", "brsf")


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


#: functional forward convolution and its input/weight gradients per number of spatial dimensions
_CONV_FUNCTIONS = {
    1: (F.conv1d, conv_grad.conv1d_input, conv_grad.conv1d_weight),
    2: (F.conv2d, conv_grad.conv2d_input, conv_grad.conv2d_weight),
    3: (F.conv3d, conv_grad.conv3d_input, conv_grad.conv3d_weight),
}


class ConvFeedbackFunction(torch.autograd.Function):
    """``y = conv(x, W) + b`` (1-, 2- or 3-d, from ``W``'s shape) whose input gradient is the
    transposed conv of ``delta`` with ``B``: ``dL/dx = conv_input(x.shape, B, delta)``."""

    @staticmethod
    def forward(x, weight, bias, feedback, feedback_learns, stride, padding, dilation, groups):
        conv, _, _ = _CONV_FUNCTIONS[weight.dim() - 2]
        return conv(x, weight, bias, stride, padding, dilation, groups)

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
        _, conv_input, conv_weight = _CONV_FUNCTIONS[len(ctx.weight_shape) - 2]
        grad_x = grad_w = grad_b = grad_fb = None
        if ctx.needs_input_grad[0]:
            grad_x = conv_input(x.shape, feedback.to(grad_out.dtype), grad_out, stride, padding, dilation, groups)
        need_w = ctx.needs_input_grad[1] or (ctx.feedback_learns and ctx.needs_input_grad[3])
        if need_w:
            grad_w = conv_weight(x, ctx.weight_shape, grad_out, stride, padding, dilation, groups)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad_out.sum((0, *range(2, grad_out.dim())))
        if ctx.feedback_learns and ctx.needs_input_grad[3]:
            grad_fb = grad_w
        if not ctx.needs_input_grad[1]:
            grad_w = None
        return grad_x, grad_w, grad_b, grad_fb, None, None, None, None, None


#: the 2-d case's earlier name
Conv2dFeedbackFunction = ConvFeedbackFunction


class OutputError:
    """Holder of the network's output error ``e = dL/dy_out``, shared by the ``dfa`` layers of one model."""

    def __init__(self, n_out: int):
        self.n_out = int(n_out)
        self.error: torch.Tensor | None = None

    def record(self, grad: torch.Tensor) -> None:
        self.error = grad.detach()


class DirectFeedbackFunction(torch.autograd.Function):
    """Identity in the forward pass; the backward pass replaces the incoming gradient by ``e @ B``.

    ``e`` (batch, n_out) is the output error recorded by the output layer's hook, ``B`` has shape
    (n_out, *x.shape[1:]); the result is reshaped to ``x``'s shape.
    """

    @staticmethod
    def forward(x, feedback, holder):
        return x.view_as(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, feedback, holder = inputs
        ctx.save_for_backward(feedback)
        ctx.holder, ctx.x_shape = holder, x.shape

    @staticmethod
    def backward(ctx, grad_out):
        (feedback,) = ctx.saved_tensors
        e = ctx.holder.error
        if e is None or e.shape[0] != ctx.x_shape[0]:
            raise RuntimeError("dfa: no output error of this batch recorded; the loss must depend on the output layer")
        grad_x = (e.to(grad_out.dtype) @ feedback.reshape(feedback.shape[0], -1).to(grad_out.dtype)).reshape(
            ctx.x_shape
        )
        return grad_x, None, None


def _uniform_(tensor: torch.Tensor, bound: float, generator: torch.Generator | None) -> torch.Tensor:
    with torch.no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


def _check_kind(kind: str) -> str:
    if kind not in FEEDBACK_LAYER_KINDS:
        raise ValueError(f"feedback kind {kind!r} is not one of {FEEDBACK_LAYER_KINDS}")
    return kind


class _FeedbackMixin:
    """Shared logic: feedback initialisation, the effective feedback, optional ``feedback`` on load."""

    kind: str
    weight: nn.Parameter
    feedback: nn.Parameter | None
    fan_in: int
    dfa: OutputError | None
    dfa_output: bool
    training: bool  # from nn.Module

    def _stored_feedback(self) -> nn.Parameter:
        if self.feedback is None:
            raise RuntimeError(f"a {self.kind!r} layer has no stored feedback tensor")
        return self.feedback

    def _init_feedback(self, generator: torch.Generator | None) -> None:
        self.dfa, self.dfa_output = None, False
        # one integer per layer from the feedback stream: brsf redraws and lazy dfa tensors start from it
        drawn = self.kind in ("brsf", "dfa")  # other kinds leave the feedback stream as it was
        self._feedback_seed = int(torch.randint(0, 2**62, (1,), generator=generator)) if drawn else 0
        if self.kind in ("bp", "usf", "dfa"):  # dfa: shaped by link_dfa
            self.feedback = None
            return
        fb = _uniform_(torch.empty_like(self.weight), 1.0 / math.sqrt(self.fan_in), generator)
        if self.kind in _SIGN_KINDS:
            fb = fb.abs()
        self.feedback = nn.Parameter(fb, requires_grad=self.kind == "kp")

    def effective_feedback(self) -> torch.Tensor | None:
        """The matrix used in place of W in the backward pass (W itself for ``bp``).

        ``scfa``/``frsf``/``brsf``: ``feedback * sign(W)``; ``usf``: ``sign(W) / sqrt(fan_in)``;
        ``fa``/``kp``/``dfa``: ``feedback`` (a hidden ``dfa`` layer's has shape (n_out, *input), and
        is ``None`` until its first forward pass shapes it).
        """
        w = self.weight.detach()
        if self.kind == "bp":
            return w
        if self.kind == "usf":
            return torch.sign(w) / math.sqrt(self.fan_in)
        if self.kind in _SIGN_KINDS:
            return self._stored_feedback().detach() * torch.sign(w)
        return self.feedback

    def _redraw_brsf(self) -> None:
        gen = torch.Generator().manual_seed(self._feedback_seed)
        self._feedback_seed = int(torch.randint(0, 2**62, (1,), generator=gen))
        fresh = _uniform_(torch.empty(self.weight.shape), 1.0 / math.sqrt(self.fan_in), gen).abs()
        with torch.no_grad():
            self._stored_feedback().copy_(fresh)

    def _backward_feedback(self) -> torch.Tensor:
        """The tensor handed to the autograd function (kp: the live parameter, so it gets a gradient)."""
        if self.kind == "brsf" and self.training and torch.is_grad_enabled():
            self._redraw_brsf()
        if self.kind == "kp":
            return self._stored_feedback()
        if self.kind == "dfa" and not self.dfa_output:
            return self.weight.detach()  # the input gradient is replaced by DirectFeedbackFunction
        feedback = self.effective_feedback()
        if feedback is None:
            raise RuntimeError(f"a {self.kind!r} layer has no feedback tensor yet")
        return feedback.detach()

    def _direct_feedback_input(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden ``dfa`` layers: route ``e @ B`` to ``x`` (creating ``B`` at the first call for conv layers)."""
        if self.kind != "dfa" or self.dfa_output or not x.requires_grad:
            return x
        if self.dfa is None:
            raise RuntimeError(
                "dfa layer is not linked to an output layer: use convert(model, 'dfa') or link_dfa(model)"
            )
        if self.feedback is None:
            self._make_dfa_feedback(tuple(x.shape[1:]), x.device, x.dtype)
        return DirectFeedbackFunction.apply(x, self._stored_feedback().detach(), self.dfa)

    def _make_dfa_feedback(self, input_shape: tuple[int, ...], device=None, dtype=None) -> None:
        assert self.dfa is not None  # linked by convert()/link_dfa() before the first forward pass
        gen = torch.Generator().manual_seed(self._feedback_seed)
        # U(+-1/sqrt(n)), n = input entries per sample: the init of a layer mapping the input to n_out units
        fb = _uniform_(torch.empty((self.dfa.n_out, *input_shape)), 1.0 / math.sqrt(math.prod(input_shape)), gen)
        self.feedback = nn.Parameter(fb.to(device=device or self.weight.device, dtype=dtype), requires_grad=False)

    def _record_output_error(self, y: torch.Tensor) -> torch.Tensor:
        if self.kind == "dfa" and self.dfa_output and self.dfa is not None and y.requires_grad:
            y.register_hook(self.dfa.record)
        return y

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, msgs):
        key = prefix + "feedback"
        if key in state_dict and self.feedback is None and self.kind == "dfa":
            shape = state_dict[key].shape  # a hidden conv dfa layer's B, shaped by an earlier first input
            self.feedback = nn.Parameter(self.weight.new_empty(shape), requires_grad=False)
        n_missing = len(missing_keys)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, msgs)
        # a plain layer's state_dict has no feedback: keep the initial one (initialised per kind)
        missing_keys[n_missing:] = [k for k in missing_keys[n_missing:] if k != key]


class FeedbackLinear(_FeedbackMixin, nn.Module):
    """Fully connected layer ``y = x W^T + b`` with a feedback pathway of kind ``kind``.

    Parameters
    ----------
    in_features, out_features : sizes; ``weight`` and ``feedback`` have shape (out, in).
    bias : whether to add a bias.
    kind : one of :data:`FEEDBACK_LAYER_KINDS` (``bp``, ``usf`` and unlinked ``dfa``: no ``feedback``).
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
        self.fan_in = in_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(_uniform_(torch.empty(out_features, in_features), bound, generator))
        self.bias = nn.Parameter(_uniform_(torch.empty(out_features), bound, generator)) if bias else None
        self._init_feedback(feedback_generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "bp":
            return F.linear(x, self.weight, self.bias)
        x = self._direct_feedback_input(x)
        fb = self._backward_feedback()
        y = LinearFeedbackFunction.apply(x, self.weight, self.bias, fb, self.kind == "kp")
        return self._record_output_error(y)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, bias={self.bias is not None}, kind={self.kind}"


def as_tuple(v, dims: int) -> tuple[int, ...]:
    """A conv argument (int or sequence) as one int per spatial dimension."""
    return (int(v),) * dims if isinstance(v, int) else tuple(int(a) for a in v)


# __init__ has the same shape as FeedbackLinear's (kind, generators, weight init) but a conv's own parameters and fan-in
class FeedbackConv(_FeedbackMixin, nn.Module):
    """``dims``-d convolution (1, 2 or 3) with a feedback kernel of kind ``kind`` (same shape as ``weight``).

    Use :class:`FeedbackConv1d`, :class:`FeedbackConv2d` or :class:`FeedbackConv3d`.  ``weight``
    and ``feedback`` have shape (C_out, C_in / groups, *kernel); the input gradient is
    ``conv_input(x.shape, B_eff, delta)``, the weight gradient the true ``conv_weight``.  When the
    input does not require grad (the first layer), the feedback is never used.  ``kernel_size``,
    ``stride``, ``padding`` and ``dilation`` are ints or ``dims``-tuples (zero padding).  The
    keywords ``generator`` and ``feedback_generator`` (torch generators, as for
    :class:`FeedbackLinear`) draw the initial weight and feedback.
    """

    dims: int = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = False,
        kind: str = "fa",
        **generators: torch.Generator | None,
    ):
        unknown = set(generators) - {"generator", "feedback_generator"}
        if unknown:
            raise TypeError(f"FeedbackConv got an unexpected keyword argument {sorted(unknown)[0]!r}")
        generator, feedback_generator = generators.get("generator"), generators.get("feedback_generator")
        super().__init__()
        self.kind = _check_kind(kind)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        kernel = as_tuple(kernel_size, self.dims)
        self.fan_in = (in_channels // groups) * math.prod(kernel)
        bound = 1.0 / math.sqrt(self.fan_in)
        shape = (out_channels, in_channels // groups, *kernel)
        self.weight = nn.Parameter(_uniform_(torch.empty(shape), bound, generator))
        self.bias = nn.Parameter(_uniform_(torch.empty(out_channels), bound, generator)) if bias else None
        self._init_feedback(feedback_generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = (self.stride, self.padding, self.dilation, self.groups)
        if self.kind == "bp":
            return _CONV_FUNCTIONS[self.dims][0](x, self.weight, self.bias, *conv)
        x = self._direct_feedback_input(x)
        fb = self._backward_feedback()
        y = ConvFeedbackFunction.apply(x, self.weight, self.bias, fb, self.kind == "kp", *conv)
        return self._record_output_error(y)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, bias={self.bias is not None}, kind={self.kind}"
        )


class FeedbackConv1d(FeedbackConv):
    """1-d convolution with a feedback kernel (see :class:`FeedbackConv`); weight (C_out, C_in / groups, k)."""

    dims = 1


class FeedbackConv2d(FeedbackConv):
    """2-d convolution with a feedback kernel (see :class:`FeedbackConv`); weight (C_out, C_in / groups, kh, kw)."""

    dims = 2


class FeedbackConv3d(FeedbackConv):
    """3-d convolution with a feedback kernel (see :class:`FeedbackConv`); weight (C_out, C_in / groups, kd, kh, kw)."""

    dims = 3


def feedback_layers(model: nn.Module) -> dict[str, FeedbackLinear | FeedbackConv]:
    """Every feedback layer of ``model`` by qualified name, in registration order (a shared layer once)."""
    return {name: m for name, m in model.named_modules() if isinstance(m, (FeedbackLinear, FeedbackConv))}


def link_dfa(model: nn.Module) -> None:
    """Connect the ``dfa`` layers of ``model``: the last one (registration order) is the output layer.

    The output layer keeps an (out, in) feedback like ``fa`` and records the output error ``e``
    in its backward pass; every other ``dfa`` layer gets a fixed random ``B`` of shape
    (n_out, *input shape) (linear layers now, conv layers at their first forward pass).
    """
    layers = [m for m in feedback_layers(model).values() if m.kind == "dfa"]
    if not layers:
        return
    out = layers[-1]
    if not isinstance(out, FeedbackLinear):
        raise ValueError("dfa: the last dfa layer (the output layer) must be a linear layer")
    holder = OutputError(out.out_features)
    for layer in layers:
        layer.dfa, layer.dfa_output = holder, layer is out
        if layer is out and layer.feedback is None:
            gen = torch.Generator().manual_seed(layer._feedback_seed)
            fb = _uniform_(torch.empty(layer.weight.shape), 1.0 / math.sqrt(layer.fan_in), gen)
            layer.feedback = nn.Parameter(fb.to(layer.weight), requires_grad=False)
        elif isinstance(layer, FeedbackLinear) and layer is not out and layer.feedback is None:
            layer._make_dfa_feedback((layer.in_features,), layer.weight.device, layer.weight.dtype)
