"""Shared helpers of the spiking feedback estimators: alignment metrics and seeding.

Orientation convention: a connection's forward matrix ``W`` is indexed (post, pre) = (out, in);
its feedback matrix ``B`` is given in the SAME orientation (out, in), as the ``.feedback`` tensor
of a feedback-alignment layer.  Perfect alignment is ``B = W``.  Internally SAL and RDD store
the feedback top-down, (lower, upper) = ``B.T``; every public function says which it expects.
"""

from __future__ import annotations

import numpy as np
import torch

from ... import seeding
from ..metrics import alignment


def _flat(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64).ravel()


def _metrics(w, b) -> dict[str, float]:
    """The one implementation of angle, var, corr and sign: :func:`spikealign.deep.metrics.alignment`."""
    return alignment(torch.from_numpy(_flat(w)), torch.from_numpy(_flat(b)))


def angle_deg(w, b) -> float:
    r"""Angle between two matrices seen as vectors, in degrees (90 if either is zero).

    .. math:: \angle(W, B) = \arccos\frac{\langle W, B\rangle}{\|W\|\,\|B\|}\cdot\frac{180}{\pi}

    Both arguments must have the same orientation.
    """
    return _metrics(w, b)["angle"]


def corrcoef(w, b) -> float:
    """Pearson correlation of the entries of ``w`` and ``b`` (same orientation; 0 if one is constant)."""
    return _metrics(w, b)["corr"]


def slope(w, b) -> float:
    r"""Least-squares slope of the entries of ``b`` regressed on those of ``w``.

    .. math:: \hat a = \frac{\mathrm{cov}(W, B)}{\mathrm{var}(W)}
    """
    x, y = _flat(w), _flat(b)
    vx = x.var()
    return float(((x - x.mean()) * (y - y.mean())).mean() / vx) if vx > 0 else 0.0


def sign_agreement(w, b) -> float:
    """Mean of ``sign(W) * sign(B)`` (the reference's ``symm/sign``)."""
    return _metrics(w, b)["sign"]


def alignment_metrics(w, b) -> dict[str, float]:
    """angle (degrees), corrcoef, slope of B on W, sign agreement and var(W - B) (unbiased)."""
    m = _metrics(w, b)
    return {"angle": m["angle"], "corrcoef": m["corr"], "slope": slope(w, b), "sign": m["sign"], "var": m["var"]}


def torch_seed(seed: int, *names: str) -> int:
    """A 63-bit integer seed for a ``torch.Generator`` derived from ``seed`` and a stream name."""
    state = seeding.seed_sequence(int(seed), *names).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)
