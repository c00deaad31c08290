"""Alignment between forward weights W and the feedback actually used (spec deep.md 5.4).

For W and B of equal shape, flattened to vectors w and b:

* angle = arccos(<w, b> / (|w| |b|)) in degrees (computed as 2 atan2(|u - v|, |u + v|) with unit
  vectors u, v, which is exact near 0; 90 when a norm is 0);
* var   = unbiased variance of the entries of w - b;
* corr  = Pearson correlation of the entries (0 when an entry set is constant);
* sign  = mean(sign(w) * sign(b)).

``B`` is the *effective* feedback (``layer.effective_feedback()``): ``|B0| * sign(W)`` for SCFA
(the reference measured the stored ``|B0|``, spec 10.4) and W itself for BP layers (angle 0).
"""

from __future__ import annotations

import math

import torch


def alignment(weight: torch.Tensor, feedback: torch.Tensor) -> dict[str, float]:
    """Angle (degrees), variance of W - B, correlation and sign agreement of two equal-shape tensors."""
    if weight.shape != feedback.shape:
        raise ValueError(f"weight {tuple(weight.shape)} and feedback {tuple(feedback.shape)} differ in shape")
    w = weight.detach().reshape(-1).double()
    b = feedback.detach().reshape(-1).double()
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
    corr = float(wc @ bc) / denom if denom > 0 else 0.0
    sign = float((torch.sign(w) * torch.sign(b)).mean())
    return {"angle": angle, "var": var, "corr": corr, "sign": sign}


def layer_alignment(layers: dict[str, torch.nn.Module]) -> dict[str, float]:
    """``{"<layer>/<metric>": value}`` for each named layer, using its effective feedback."""
    out: dict[str, float] = {}
    for name, layer in layers.items():
        for key, value in alignment(layer.weight, layer.effective_feedback()).items():
            out[f"{name}/{key}"] = value
    return out
