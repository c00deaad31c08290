"""Base class of the deep-net estimators and the choice of the layers they drive.

An estimator drives FC feedback layers of kind ``fa`` (a free feedback matrix of the same shape as
the forward weights), or any object with ``.weight`` (out, in) and ``.feedback`` of that shape and
no other ``kind``.  :func:`select_layers` takes a model or a list of layers and rejects what an
estimator cannot drive with one line (see docs/deep.md, 'SAL in your own model').
"""

from __future__ import annotations

from itertools import pairwise
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, cast

import numpy as np
import torch
from torch import nn

from ...errors import UserError
from ...guards import check_finite
from ..layers import FeedbackConv, FeedbackLinear
from ..metrics import alignment_metrics
from .settings import EstimatorSettings, validate

DRIVABLE_KINDS = ("fa",)


class DrivableLayer(Protocol):
    """What an estimator drives (checked by :func:`select_named_layers`): a forward ``weight`` (out, in)
    or (out, in, *kernel) and a ``feedback`` tensor of the same shape."""

    @property
    def weight(self) -> torch.Tensor: ...

    @property
    def feedback(self) -> torch.Tensor: ...


_PLAIN_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _describe(layer, where: str, conv: bool) -> str | None:
    """Why ``layer`` cannot be driven (``conv``: conv layers too), or ``None``."""
    if isinstance(layer, FeedbackConv) and not conv:
        return f"{where} is a {type(layer).__name__}; this estimator drives FC layers only"
    if isinstance(layer, _PLAIN_CONV):
        return f"{where} is a plain nn.{type(layer).__name__} without a feedback kernel; convert the model first"
    kind = getattr(layer, "kind", None)
    if isinstance(layer, nn.Linear):
        return (
            f"{where} is a plain nn.Linear without a feedback matrix; convert the model first (convert(model, 'sal'))"
        )
    if kind is not None and kind not in DRIVABLE_KINDS:
        return f"{where} has feedback kind {kind!r}; estimators drive kind 'fa' layers only"
    weight, feedback = getattr(layer, "weight", None), getattr(layer, "feedback", None)
    if weight is None or feedback is None:
        return f"{where} ({type(layer).__name__}) has no .weight and .feedback"
    ndim = 2 + layer.dims if isinstance(layer, FeedbackConv) else 2
    if weight.dim() != ndim or tuple(weight.shape) != tuple(feedback.shape):
        return (
            f"{where}: weight {tuple(weight.shape)} and feedback {tuple(feedback.shape)} must be equal {ndim}-D shapes"
        )
    return None


def select_layers(
    model_or_layers, chain: bool, layer_types: tuple[type, ...] = (FeedbackLinear,)
) -> list[DrivableLayer]:
    """The layers an estimator drives, in forward order (see :func:`select_named_layers`)."""
    return [layer for _, layer in select_named_layers(model_or_layers, chain, layer_types)]


def select_named_layers(
    model_or_layers, chain: bool, layer_types: tuple[type, ...] = (FeedbackLinear,)
) -> list[tuple[str, DrivableLayer]]:
    """``(name, layer)`` for the layers an estimator drives, in forward order.

    The name is the module's qualified name in a model, the position (``"0"``, ``"1"``, ...) in a list.

    ``model_or_layers``: an ``nn.Module`` (every layer of ``layer_types`` in it, registration order)
    or a list of layers.  With ``chain``, layer ``k`` must take the output of layer ``k - 1``
    (checked for consecutive linear layers).

    Raises
    ------
    UserError
        No layers, a layer that cannot be driven, or (``chain``) layers that do not form a chain.
    """
    single = (nn.Linear, *_PLAIN_CONV, FeedbackLinear, FeedbackConv)
    from_model = isinstance(model_or_layers, nn.Module) and not isinstance(model_or_layers, single)
    where = (lambda name: f"layer {name!r}") if from_model else (lambda name: f"layer {name}")
    named: list[tuple[str, Any]]  # modules or user objects; checked below
    if from_model:
        named = [(n, m) for n, m in model_or_layers.named_modules() if isinstance(m, layer_types)]
        if not named:
            plain = [n for n, m in model_or_layers.named_modules() if isinstance(m, nn.Linear)]
            hint = f" (plain nn.Linear: {', '.join(plain)}; use convert(model, 'sal'))" if plain else ""
            raise UserError(f"the model has no FeedbackLinear layers for an estimator to drive{hint}")
    else:
        layers = [model_or_layers] if isinstance(model_or_layers, nn.Module) else list(model_or_layers)
        named = [(str(i), layer) for i, layer in enumerate(layers)]
        if not named:
            raise UserError("an estimator needs at least one FC feedback layer")
    for name, layer in named:
        problem = _describe(layer, where(name), conv=any(issubclass(t, FeedbackConv) for t in layer_types))
        if problem:
            raise UserError(problem)
    if chain:
        for (name_a, a), (name_b, b) in pairwise(named):
            n_in, n_out = b.weight.shape[1], a.weight.shape[0]
            if a.weight.dim() == b.weight.dim() == 2 and n_in != n_out:
                raise UserError(
                    f"{where(name_b)} (in={n_in}) does not take the output of {where(name_a)} (out={n_out}): "
                    "this estimator needs a chain of layers; pass the chain explicitly as a list"
                )
        if isinstance(model_or_layers, nn.Module) and not isinstance(model_or_layers, single):
            _check_data_flow(model_or_layers, named)
    return cast(list[tuple[str, DrivableLayer]], named)  # _describe found a weight and feedback on each


def _check_data_flow(model: nn.Module, named: list) -> None:
    """Refuse a model whose layers do not feed each other in order (e.g. ``a(x) + b(x)``).

    The model's forward is traced symbolically (``torch.fx``); a model that cannot be traced
    (data-dependent control flow) is taken as the chain its shapes allow.
    """
    import torch.fx

    driven = {id(layer) for _, layer in named}

    class _Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            return id(m) in driven or super().is_leaf_module(m, qualname)

    try:
        graph = _Tracer().trace(model)
    except Exception:  # any tracing failure: the shapes were checked, nothing more can be
        return
    modules = {id(m): n for n, m in model.named_modules()}
    calls = {node.target: node for node in graph.nodes if node.op == "call_module"}
    for (name_a, a), (name_b, b) in pairwise(named):
        node_a, node_b = calls.get(modules.get(id(a))), calls.get(modules.get(id(b)))
        if node_a is None or node_b is None:
            continue
        seen, todo = set(), list(node_b.all_input_nodes)
        while todo:
            node = todo.pop()
            if node is node_a:
                break
            if node not in seen:
                seen.add(node)
                todo.extend(node.all_input_nodes)
        else:
            raise UserError(
                f"layer {name_b!r} does not take the output of layer {name_a!r} (the model's forward branches): "
                "this estimator "
                "needs a chain of layers; pass the chain explicitly as a list"
            )


class Estimator:
    """Base of the deep-net hooks: ``before_epoch``, ``state_dict``, ``load_state_dict``.

    A subclass sets ``name``, ``settings_model``, ``quick_settings`` (Fig. 8's quick profile),
    ``needs_chain`` and ``layer_types`` (the layer classes it drives in a model; an estimator of
    conv feedback adds :class:`~spikealign.deep.layers.FeedbackConv`) and implements the three hooks.
    """

    name: ClassVar[str] = ""
    settings_model: ClassVar[type[EstimatorSettings]] = EstimatorSettings
    quick_settings: ClassVar[MappingProxyType] = MappingProxyType({})
    #: settings that ``spikealign run`` and ``reproduce`` use where a config leaves them out (the
    #: exact SAL engines); not part of the stored config, so run ids do not change
    run_defaults: ClassVar[MappingProxyType] = MappingProxyType({})
    needs_chain: ClassVar[bool] = True
    layer_types: ClassVar[tuple[type, ...]] = (FeedbackLinear,)

    def __init__(self, model_or_layers, settings: dict | None, seed: int, device=None):
        named = select_named_layers(model_or_layers, self.needs_chain, self.layer_types)
        #: the driven layers' names (qualified module names in a model, positions in a list): metric keys
        self.layer_names = [name for name, _ in named]
        self.fc_layers = [layer for _, layer in named]
        self.settings = validate(self.settings_model, self.name, settings)
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise UserError(f"{self.name} estimator: seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        for k, layer in enumerate(self.fc_layers):
            if layer.weight.device.type != self.device.type:
                raise UserError(
                    f"layer {self.layer_names[k]} is on {layer.weight.device} "
                    f"but the {self.name} estimator runs on {self.device}; "
                    f"pass device={str(layer.weight.device)!r} or move the model"
                )
        self.sizes = [int(self.fc_layers[0].weight.shape[1])] + [int(layer.weight.shape[0]) for layer in self.fc_layers]

    def _write_feedback(self, k: int, b_forward) -> None:
        """Copy the estimate ``b_forward`` (out, in) into layer ``k``'s feedback; a NaN or inf in the
        estimate or the layer's forward weight raises :class:`~spikealign.guards.NonFiniteError`."""
        keys = [key for key in ("sal_lr", "lr", "dt_ms") if key in self.settings_model.model_fields]
        where = f"the {self.name} estimation phase"
        check_finite({f"the forward weight of layer {k}": self.fc_layers[k].weight}, where, ())
        check_finite({f"the {self.name} estimate of feedback layer {k}": b_forward}, where, keys)
        fb = self.fc_layers[k].feedback
        with torch.no_grad():
            fb.copy_(torch.as_tensor(b_forward).to(device=fb.device, dtype=fb.dtype))

    def _metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, layer in zip(self.layer_names, self.fc_layers, strict=True):
            m = alignment_metrics(layer.weight, layer.feedback)
            out[f"angle/{name}"] = m["angle"]
            out[f"corr/{name}"] = m["corr"]
        return out

    def _with_before(self, before: dict[str, float]) -> dict[str, float]:
        return {f"before/{k}": v for k, v in before.items() if k.startswith("angle")}

    def _with_after(self, out: dict[str, float], rates, key: str = "rate") -> dict[str, float]:
        """``out`` plus the alignment after the estimation and the layers' firing rates ``{key}/{l}``."""
        out.update(self._metrics())
        out.update({f"{key}/{l}": r for l, r in enumerate(rates)})
        return out

    def before_epoch(self, epoch: int) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def load_state_dict(self, d: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
