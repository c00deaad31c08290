"""Shared helpers of the spiking feedback estimators: alignment metrics and seeding.

Orientation convention: a connection's forward matrix ``W`` is indexed (post, pre) = (out, in);
its feedback matrix ``B`` is given in the SAME orientation (out, in), as the ``.feedback`` tensor
of a feedback-alignment layer.  Perfect alignment is ``B = W``.  Internally SAL and RDD store
the feedback top-down, (lower, upper) = ``B.T``; every public function says which it expects.
"""

from __future__ import annotations

import numpy as np

from ... import seeding


def _flat(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64).ravel()


def angle_deg(w, b) -> float:
    r"""Angle between two matrices seen as vectors, in degrees.

    .. math:: \angle(W, B) = \arccos\frac{\langle W, B\rangle}{\|W\|\,\|B\|}\cdot\frac{180}{\pi}

    with the cosine clamped to [-1, 1] (as the reference's ``symm/angle``).  Both arguments must
    have the same orientation.
    """
    x, y = _flat(w), _flat(b)
    nx, ny = np.linalg.norm(x), np.linalg.norm(y)
    if nx == 0.0 or ny == 0.0:
        return 90.0
    c = float(np.clip(x @ y / (nx * ny), -1.0, 1.0))
    return float(np.degrees(np.arccos(c)))


def corrcoef(w, b) -> float:
    """Pearson correlation of the entries of ``w`` and ``b`` (same orientation)."""
    x, y = _flat(w), _flat(b)
    if x.std() == 0.0 or y.std() == 0.0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def slope(w, b) -> float:
    r"""Least-squares slope of the entries of ``b`` regressed on those of ``w``.

    .. math:: \hat a = \frac{\mathrm{cov}(W, B)}{\mathrm{var}(W)}
    """
    x, y = _flat(w), _flat(b)
    vx = x.var()
    return float(((x - x.mean()) * (y - y.mean())).mean() / vx) if vx > 0 else 0.0


def sign_agreement(w, b) -> float:
    """Mean of ``sign(W) * sign(B)`` (the reference's ``symm/sign``)."""
    return float(np.mean(np.sign(_flat(w)) * np.sign(_flat(b))))


def alignment_metrics(w, b) -> dict[str, float]:
    """angle (degrees), corrcoef, slope of B on W, sign agreement and var(W - B) (unbiased)."""
    x, y = _flat(w), _flat(b)
    return {
        "angle": angle_deg(x, y),
        "corrcoef": corrcoef(x, y),
        "slope": slope(x, y),
        "sign": sign_agreement(x, y),
        "var": float(np.var(x - y, ddof=1)) if x.size > 1 else 0.0,
    }


def torch_seed(seed: int, *names: str) -> int:
    """A 63-bit integer seed for a ``torch.Generator`` derived from ``seed`` and a stream name."""
    state = seeding.seed_sequence(int(seed), *names).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)
