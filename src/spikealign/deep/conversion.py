"""Turn any torch model into one trained with a feedback method (see docs/deep.md, 'SAL in your own model').

:func:`convert` replaces ``nn.Linear`` and ``nn.Conv2d`` modules anywhere in a model (Sequential,
ModuleList, custom and residual blocks) by :class:`~.layers.FeedbackLinear` and
:class:`~.layers.FeedbackConv2d` of the method's kinds (FC kind for linear, conv kind for conv
layers), copying weights and biases; the feedback tensors are initialised per kind.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..errors import UserError
from .layers import FeedbackConv2d, FeedbackLinear, link_dfa
from .methods import Method, get_method


def _linear(old: nn.Linear | FeedbackLinear, kind: str, copy_weights: bool) -> FeedbackLinear:
    new = FeedbackLinear(old.in_features, old.out_features, bias=old.bias is not None, kind=kind)
    return _finish(new, old, copy_weights)


def _conv(name: str, old: nn.Conv2d | FeedbackConv2d, kind: str, copy_weights: bool) -> FeedbackConv2d:
    padding_mode = getattr(old, "padding_mode", "zeros")
    if isinstance(old.padding, str) or padding_mode != "zeros":
        raise UserError(
            f"convert: conv layer {name!r} uses padding={old.padding!r}, padding_mode={padding_mode!r}; "
            "only numeric zero padding is supported"
        )
    new = FeedbackConv2d(
        old.in_channels, old.out_channels, old.kernel_size, stride=old.stride, padding=old.padding,
        dilation=old.dilation, groups=old.groups, bias=old.bias is not None, kind=kind,
    )  # fmt: skip
    return _finish(new, old, copy_weights)


def _finish(new, old, copy_weights: bool):
    new = new.to(device=old.weight.device, dtype=old.weight.dtype)
    if copy_weights:
        with torch.no_grad():
            new.weight.copy_(old.weight)
            if old.bias is not None:
                new.bias.copy_(old.bias)
    new.train(old.training)
    return new


_LINEAR = (nn.Linear, FeedbackLinear)
_CONV = (nn.Conv2d, FeedbackConv2d)


def convertible_layers(model: nn.Module) -> list[str]:
    """Qualified names of the linear and conv modules of ``model`` (plain or feedback layers)."""
    return [name for name, m in model.named_modules() if isinstance(m, _LINEAR + _CONV)]


def convert(
    model: nn.Module, method: str | Method, *, layers: list[str] | None = None, copy_weights: bool = True
) -> nn.Module:
    """A copy of ``model`` whose linear and conv layers use the feedback kinds of ``method``.

    Plain ``nn.Linear``/``nn.Conv2d`` modules and existing feedback layers (e.g. of a ConvNet built
    for another method) are replaced.

    Parameters
    ----------
    model : any ``nn.Module``; it is not modified.
    method : a method name (see :func:`spikealign.deep.list_methods`) or a :class:`Method`; linear
        layers get its ``fc_feedback`` kind, conv layers its ``conv_feedback`` kind.
    layers : qualified module names to convert (as in ``model.named_modules()``); default: all.
    copy_weights : copy weights and biases (``False``: the new layers keep their own initialisation).

    For ``dfa`` the last converted layer (registration order) is the output layer; it must be
    linear.  Loading a ``state_dict`` of the original model into the result works: the feedback
    tensors keep their initial values.

    Raises
    ------
    UserError
        For an unknown method, an unknown layer name, an unsupported conv padding, a model without
        linear or conv layers, or arguments of the wrong type.
    """
    if not isinstance(model, nn.Module):
        raise UserError(f"convert: model must be a torch nn.Module, got {type(model).__name__}")
    if not isinstance(copy_weights, bool):
        raise UserError(f"convert: copy_weights must be True or False, got {copy_weights!r}")
    if layers is not None and (isinstance(layers, str) or not all(isinstance(n, str) for n in layers)):
        raise UserError(f"convert: layers must be a list of layer names, got {layers!r}")
    method = get_method(method)
    if isinstance(model, _LINEAR + _CONV):
        raise UserError("convert: pass a model containing the layer (e.g. nn.Sequential(layer)), not the layer itself")
    available = convertible_layers(model)
    if not available:
        raise UserError(f"convert: the model ({type(model).__name__}) has no nn.Linear or nn.Conv2d layer to convert")
    selected = available if layers is None else list(layers)
    unknown = [n for n in selected if n not in available]
    if unknown:
        raise UserError(f"convert: no linear or conv layer called {unknown[0]!r} (convertible: {', '.join(available)})")
    new_model = copy.deepcopy(model)
    modules = dict(new_model.named_modules())
    for name in selected:
        old = modules[name]
        if isinstance(old, _CONV):
            new = _conv(name, old, method.conv_feedback, copy_weights)
        else:
            new = _linear(old, method.fc_feedback, copy_weights)
        parent_name, _, child = name.rpartition(".")
        setattr(modules[parent_name] if parent_name else new_model, child, new)
    link_dfa(new_model)
    return new_model
