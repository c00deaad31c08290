"""Alignment between a forward matrix W and a feedback matrix B (see docs/deep.md, 'Alignment metrics').

The one implementation used everywhere in the deep family (training logs, estimators, figures).
W and B have the same shape and the same orientation (out, in); they are flattened to vectors
w and b:

* angle = arccos(<w, b> / (|w| |b|)) in degrees (computed as 2 atan2(|u - v|, |u + v|) with unit
  vectors u, v, which is exact near 0; 90 when a norm is 0);
* var   = unbiased variance of the entries of w - b;
* corr  = Pearson correlation of the entries (0 when an entry set is constant);
* sign  = mean(sign(w) * sign(b)) (zeros count 0);
* slope = least-squares slope of the entries of b regressed on those of w, cov(w, b) / var(w)
  (0 when w is constant).

Every metric is NaN when W or B holds a NaN or inf (a diverged matrix has no angle).

For a layer, B is the *effective* feedback (``layer.effective_feedback()``): ``|B0| * sign(W)``
for SCFA and W itself for BP layers (angle 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from .layers import FeedbackConv, FeedbackLinear


def _vector(a) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.detach().reshape(-1).double().cpu()
    return torch.from_numpy(np.asarray(a, dtype=np.float64).reshape(-1))


def alignment_metrics(weight, feedback=None) -> dict[str, float]:
    """``angle`` (degrees), ``var`` (of W - B), ``corr``, ``sign`` and ``slope`` of W and B.

    Two forms:

    * ``alignment_metrics(layer)``: a feedback layer against its *effective* feedback
      (``layer.weight`` vs ``layer.effective_feedback()``: ``|B0| sign(W)`` for ``scfa``,
      ``sign(W)/sqrt(fan_in)`` for ``usf``, W itself for ``bp``), the way to measure any layer;
    * ``alignment_metrics(W, B)``: two equal-shape matrices (torch tensors or array-likes).

    See the module docstring for the definitions.

    Raises
    ------
    ValueError
        Shapes differ, or the layer has no W-shaped feedback (a hidden ``dfa`` layer).
    """
    if feedback is None:
        weight, feedback = _layer_pair(weight)
    if tuple(np.shape(weight)) != tuple(np.shape(feedback)):
        raise ValueError(f"weight {tuple(np.shape(weight))} and feedback {tuple(np.shape(feedback))} differ in shape")
    w, b = _vector(weight), _vector(feedback)
    if not bool(torch.isfinite(w).all() and torch.isfinite(b).all()):
        return dict.fromkeys(("angle", "var", "corr", "sign", "slope"), math.nan)  # never a number from a NaN
    nw, nb = w.norm(), b.norm()
    if nw > 0 and nb > 0:
        # 2 atan2(|u - v|, |u + v|) for unit vectors u, v equals arccos(u . v) but stays exact near 0
        u, v = w / nw, b / nb
        angle = math.degrees(2.0 * math.atan2(float((u - v).norm()), float((u + v).norm())))
    else:
        angle = 90.0
    var = float((w - b).var(unbiased=True)) if w.numel() > 1 else 0.0
    wc, bc = w - w.mean(), b - b.mean()
    denom = float(wc.norm() * bc.norm())
    cov = float(wc @ bc)
    corr = cov / denom if denom > 0 else 0.0
    ww = float(wc @ wc)
    slope = cov / ww if ww > 0 else 0.0
    sign = float((torch.sign(w) * torch.sign(b)).mean())
    return {"angle": angle, "var": var, "corr": corr, "sign": sign, "slope": slope}


def _layer_pair(layer) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W, B_eff)`` of a feedback layer (anything with ``effective_feedback()``)."""
    effective = getattr(layer, "effective_feedback", None)
    if effective is None:
        raise TypeError(
            f"alignment_metrics: pass a feedback layer or two matrices (W, B), not a {type(layer).__name__} alone"
        )
    feedback = effective()
    if feedback is None or tuple(feedback.shape) != tuple(layer.weight.shape):
        raise ValueError(
            f"alignment_metrics: this {layer.kind!r} layer's feedback does not have the weight's shape "
            "(hidden dfa layers map the output error, not the layer's own delta)"
        )
    return layer.weight, feedback


def layer_alignment(layers: Mapping[str, FeedbackLinear | FeedbackConv]) -> dict[str, float]:
    """``{"<layer>/<metric>": value}`` for each named layer, using its effective feedback.

    Layers whose feedback does not have the weight's shape (hidden ``dfa`` layers: B maps the
    output error, not the layer's own delta) have no W-B alignment and are left out.
    """
    out: dict[str, float] = {}
    for name, layer in layers.items():
        feedback = layer.effective_feedback()
        if feedback is None or tuple(feedback.shape) != tuple(layer.weight.shape):
            continue
        for key, value in alignment_metrics(layer.weight, feedback).items():
            out[f"{name}/{key}"] = value
    return out
