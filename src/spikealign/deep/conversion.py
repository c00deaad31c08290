"""Turn any torch model into one trained with a feedback method (see docs/deep.md, 'SAL in your own model').

:func:`convert` replaces ``nn.Linear`` and ``nn.Conv1d``/``nn.Conv2d``/``nn.Conv3d`` modules
anywhere in a model (Sequential, ModuleList, custom and residual blocks) by
:class:`~.layers.FeedbackLinear` and :class:`~.layers.FeedbackConv1d`/``2d``/``3d`` of the
method's kinds (FC kind for linear, conv kind for conv layers), copying weights and biases; the
feedback tensors are initialised per kind.  A module registered under several names (a shared,
tied layer) becomes ONE feedback layer referenced under every name.

Every other module with parameters of its own is left as it is and trains with exact backprop;
the :class:`ConversionReport` says what was converted (per type) and what was left exact and why.
``convert(..., strict=True)`` turns a left-exact layer whose backward pass transports weights into
an error; the report is also logged (logger ``spikealign.deep``).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import TypeVar

import torch
from torch import nn

from ..errors import UserError
from .layers import FeedbackConv, FeedbackConv1d, FeedbackConv2d, FeedbackConv3d, FeedbackLinear, link_dfa
from .methods import Method, get_method

log = logging.getLogger("spikealign.deep")

#: plain conv class -> its feedback counterpart
_CONV_CLASSES: dict[type, type[FeedbackConv]] = {
    nn.Conv1d: FeedbackConv1d,
    nn.Conv2d: FeedbackConv2d,
    nn.Conv3d: FeedbackConv3d,
}
_LINEAR = (nn.Linear, FeedbackLinear)
_Feedback = TypeVar("_Feedback", FeedbackLinear, FeedbackConv)
_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d, FeedbackConv)

#: parametrised layers whose backward pass uses no weight matrix for the input gradient beyond an
#: elementwise scale (normalisations, embeddings, PReLU): leaving them exact transports no weights
_LOCAL = (
    nn.modules.batchnorm._NormBase,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.Embedding,
    nn.EmbeddingBag,
    nn.PReLU,
)
_LOCAL_REASON = "elementwise or normalisation layer: no weight transport, exact gradient is local"
_UNSUPPORTED_REASON = "no feedback version of this layer type: trains with exact backprop (weight transport)"
_NOT_SELECTED_REASON = "not in layers="


@dataclass
class ConversionReport:
    """What :func:`convert` did.

    Attributes
    ----------
    method : the method's name.
    converted : ``{"<old type> -> <new type>": [qualified names]}`` (a shared layer under its first name).
    left_exact : ``{name: reason}`` for every other module with parameters of its own.
    shared : ``{first name: [other names]}`` of converted layers registered under several names.
    """

    method: str
    converted: dict[str, list[str]] = field(default_factory=dict)
    left_exact: dict[str, str] = field(default_factory=dict)
    shared: dict[str, list[str]] = field(default_factory=dict)

    @property
    def transports_weights(self) -> dict[str, str]:
        """The left-exact layers whose backward pass uses their weights (what ``strict`` rejects)."""
        return {n: r for n, r in self.left_exact.items() if r.endswith(_UNSUPPORTED_REASON)}

    def __str__(self) -> str:
        lines = [f"convert to {self.method!r}:"]
        lines += [f"  converted {k}: {', '.join(v)}" for k, v in self.converted.items()]
        lines += [f"  shared {k} (also {', '.join(v)})" for k, v in self.shared.items()]
        lines += [f"  left exact {n}: {r}" for n, r in self.left_exact.items()]
        return "\n".join(lines)


def _linear(old: nn.Linear | FeedbackLinear, kind: str, copy_weights: bool) -> FeedbackLinear:
    new = FeedbackLinear(old.in_features, old.out_features, bias=old.bias is not None, kind=kind)
    return _finish(new, old, copy_weights)


def _feedback_conv_class(old: nn.Module) -> type[FeedbackConv]:
    if isinstance(old, FeedbackConv):
        return type(old)
    return next(new for plain, new in _CONV_CLASSES.items() if isinstance(old, plain))


def _conv(name: str, old: nn.modules.conv._ConvNd | FeedbackConv, kind: str, copy_weights: bool) -> FeedbackConv:
    padding_mode = getattr(old, "padding_mode", "zeros")
    if isinstance(old.padding, str) or padding_mode != "zeros":
        raise UserError(
            f"convert: conv layer {name!r} uses padding={old.padding!r}, padding_mode={padding_mode!r}; "
            "only numeric zero padding is supported"
        )
    new = _feedback_conv_class(old)(
        old.in_channels, old.out_channels, old.kernel_size, stride=old.stride, padding=old.padding,
        dilation=old.dilation, groups=old.groups, bias=old.bias is not None, kind=kind,
    )  # fmt: skip
    return _finish(new, old, copy_weights)


def _finish(
    new: _Feedback, old: nn.Linear | nn.modules.conv._ConvNd | FeedbackLinear | FeedbackConv, copy_weights: bool
) -> _Feedback:
    new = new.to(device=old.weight.device, dtype=old.weight.dtype)
    if copy_weights:
        with torch.no_grad():
            new.weight.copy_(old.weight)
            if old.bias is not None and new.bias is not None:  # new has a bias exactly when old has one
                new.bias.copy_(old.bias)
    new.train(old.training)
    return new


def _names_by_module(model: nn.Module) -> dict[int, list[str]]:
    """``id(module) -> every qualified name it is registered under`` (shared modules have several)."""
    names: dict[int, list[str]] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        names.setdefault(id(m), []).append(name)
    return names


def convertible_layers(model: nn.Module) -> list[str]:
    """Qualified names of the linear and conv modules of ``model`` (plain or feedback layers; a
    shared module under each of its names)."""
    return [name for name, m in model.named_modules(remove_duplicate=False) if isinstance(m, _LINEAR + _CONV)]


def _type_name(m: nn.Module) -> str:
    return type(m).__name__


def convert(
    model: nn.Module,
    method: str | Method,
    *,
    layers: list[str] | None = None,
    copy_weights: bool = True,
    strict: bool = False,
    return_report: bool = False,
) -> nn.Module | tuple[nn.Module, ConversionReport]:
    """A copy of ``model`` whose linear and conv layers use the feedback kinds of ``method``.

    Plain ``nn.Linear``/``nn.Conv1d``/``nn.Conv2d``/``nn.Conv3d`` modules and existing feedback
    layers (e.g. of a ConvNet built for another method) are replaced; a module registered under
    several names stays one (tied) module.

    Parameters
    ----------
    model : any ``nn.Module``; it is not modified.
    method : a method name (see :func:`spikealign.deep.list_methods`) or a :class:`Method`; linear
        layers get its ``fc_feedback`` kind, conv layers its ``conv_feedback`` kind.
    layers : qualified module names to convert (as in ``model.named_modules()``); default: all.
    copy_weights : copy weights and biases (``False``: the new layers keep their own initialisation).
    strict : raise when a layer with weights in its backward pass (e.g. ``nn.ConvTranspose2d``,
        ``nn.LSTM``, ``nn.MultiheadAttention``) is left to train with exact backprop.
    return_report : return ``(model, ConversionReport)`` instead of the model alone.

    For ``dfa`` the last converted layer (registration order) is the output layer; it must be
    linear.  Loading a ``state_dict`` of the original model into the result works: the feedback
    tensors keep their initial values.  The report is logged (logger ``spikealign.deep``: a
    warning when a weight-transporting layer is left exact, else info).

    Raises
    ------
    UserError
        For an unknown method, an unknown layer name, an unsupported conv padding, a model without
        linear or conv layers, arguments of the wrong type or, with ``strict``, a weight-transporting
        layer left exact (the message names each).
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
    new_model = copy.deepcopy(model)  # deepcopy keeps shared modules shared
    names = _names_by_module(new_model)
    modules = dict(new_model.named_modules(remove_duplicate=False))
    report = ConversionReport(method.name)
    replaced: dict[int, nn.Module] = {}
    for name in selected:
        old = modules[name]
        if id(old) in replaced:
            continue
        new: FeedbackConv | FeedbackLinear
        if isinstance(old, _CONV):
            new = _conv(name, old, method.conv_feedback, copy_weights)
        else:
            new = _linear(old, method.fc_feedback, copy_weights)
        replaced[id(old)] = new
        every_name = names[id(old)]
        report.converted.setdefault(f"{_type_name(old)} -> {_type_name(new)}", []).append(every_name[0])
        if len(every_name) > 1:
            report.shared[every_name[0]] = every_name[1:]
        for alias in every_name:  # the tie survives: every name refers to the one new module
            parent_name, _, child = alias.rpartition(".")
            setattr(modules[parent_name] if parent_name else new_model, child, new)
    new_ids = {id(n) for n in replaced.values()}
    for name, m in new_model.named_modules():
        if name == "" or id(m) in new_ids or not list(m.parameters(recurse=False)):
            continue
        if isinstance(m, _LINEAR + _CONV):
            reason = _NOT_SELECTED_REASON
        else:
            reason = _LOCAL_REASON if isinstance(m, _LOCAL) else _UNSUPPORTED_REASON
        report.left_exact[name] = f"{_type_name(m)}: {reason}"
    _check_and_log(report, strict)
    link_dfa(new_model)
    return (new_model, report) if return_report else new_model


def _check_and_log(report: ConversionReport, strict: bool) -> None:
    exact = report.transports_weights
    if strict and exact:
        listed = "; ".join(f"{n} ({r.split(':')[0]})" for n, r in exact.items())
        raise UserError(
            f"convert(strict=True): {len(exact)} layer(s) would train with exact backprop: {listed}; "
            "replace them, or call convert without strict=True"
        )
    (log.warning if exact else log.info)("%s", report)
