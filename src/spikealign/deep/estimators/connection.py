"""Estimators on a single connection ``(W, B)`` (the Fig. 7 setting; see docs/deep.md, 'One connection')."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..metrics import alignment_metrics
from .common import to_numpy
from .rdd_estimator import make_rdd_net
from .registry import estimator_class, validate_settings
from .sal_estimator import make_sal_net
from .stdwi import STDWINet, STDWIParams
from .stdwi_estimator import stdwi_seed

#: defaults of the single-connection runs (the reference's Fig. 7 notebook)
PAIR_DEFAULTS: dict[str, dict[str, Any]] = {
    "sal": {"sal_lr": 0.05, "batch_size": 8, "t_ref": 10},
    "rdd": {"update_clock": "cumulative"},
    "stdwi": {"weight_normalization": "none", "rescale": "none"},
}


class _History:
    """``time_s``, ``angle``, ``corr`` and ``slope`` of B against W over time."""

    def __init__(self, W: np.ndarray):
        self.W = W
        self.data: dict[str, list] = {"time_s": [], "angle": [], "corr": [], "slope": []}

    def add(self, t: float, B: np.ndarray) -> None:
        m = alignment_metrics(self.W, B)
        self.data["time_s"].append(float(t))
        for key in ("angle", "corr", "slope"):
            self.data[key].append(m[key])

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.data.items()}


def _run_sal(W, B, s, seed, n_rec, step_s, hist, wrap) -> np.ndarray:
    n_out, n_in = W.shape
    net = make_sal_net([n_in, n_out], s, seed, "cpu")
    net.W[1] = torch.as_tensor(W, dtype=net.dtype)
    net.B[0] = torch.as_tensor(B.T.copy(), dtype=net.dtype)
    ticks_per_s = 1000.0 * s["t_ref"] / s["batch_size"]
    per_rec = round(step_s * ticks_per_s)
    updates_per_rec = max(1, round(step_s))
    for r in wrap(range(n_rec)):
        for u in range(updates_per_rec):
            lo = (u * per_rec) // updates_per_rec
            hi = ((u + 1) * per_rec) // updates_per_rec
            net.run(hi - lo)
            net.apply_update()
        hist.add((r + 1) * step_s, to_numpy(net.B[0]).T)
    return to_numpy(net.B[0]).T.copy()


def _run_rdd(W, B, s, seed, n_rec, step_s, hist, wrap) -> np.ndarray:
    n_out, n_in = W.shape
    net = make_rdd_net([n_in, n_out], s, seed)
    net.set_weight(1, W)
    net.set_feedback(0, B.T)
    for r in wrap(range(n_rec)):
        net.run_phase(step_s, parts=[0])
        hist.add((r + 1) * step_s, net.feedback(0).T)
    return net.feedback(0).T.copy()


def _run_stdwi(W, B, s, seed, n_rec, step_s, hist, wrap) -> np.ndarray:
    net = STDWINet(W, B, seed=stdwi_seed(seed, 0), params=STDWIParams.from_settings(s))
    for r in wrap(range(n_rec)):
        net.run(step_s * 1000.0)
        hist.add((r + 1) * step_s, net.B)
    return net.B.copy()


_RUNNERS = {"sal": _run_sal, "rdd": _run_rdd, "stdwi": _run_stdwi}


def estimate(
    name: str,
    W,
    B,
    seconds: float,
    seed: int = 0,
    settings: dict | None = None,
    record_every_s: float = 1.0,
    progress=None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run estimator ``name`` on one connection and return ``(B_new, history)``.

    Parameters
    ----------
    W : forward matrix (n_out, n_in), (post, pre).
    B : initial feedback estimate, same orientation (out, in).
    seconds : simulated duration.  SAL counts time as the reference notebook does: one tick is
        ``1/t_ref`` ms and a second is ``1000 t_ref / batch_size`` ticks of all replicas
        together (1250 ticks with 8 replicas); RDD steps are 1 ms; STDWI steps are ``dt_ms``.
    seed : root seed (noise, drive, stimulus and SAL's biases derive from it).
    settings : estimator settings over :data:`PAIR_DEFAULTS` (the Fig. 7 notebook's values).
        SAL's feedback is updated once per simulated second; RDD's every ``update_interval_s``
        of its clock (``cumulative`` by default; ``phase`` reproduces the notebook, whose
        per-second clock never reaches 10 s, so RDD's ``B`` never changes); STDWI on every
        output spike.
    record_every_s : history sampling period (must divide into whole seconds).
    progress : optional callable wrapping an iterable (e.g. ``tqdm``).

    Returns
    -------
    B_new : (n_out, n_in) array.
    history : ``time_s``, ``angle`` (degrees), ``corr``, ``slope`` (of B on W) arrays.
    """
    estimator_class(name)
    if name not in _RUNNERS:
        raise ValueError(f"estimator {name!r} has no single-connection mode (known: {', '.join(_RUNNERS)})")
    W = np.asarray(W, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if W.ndim != 2 or W.shape != B.shape:
        raise ValueError(f"W and B must be 2-D arrays of the same shape, got {W.shape} and {B.shape}")
    s = validate_settings(name, {**PAIR_DEFAULTS[name], **(settings or {})})
    n_rec = max(1, round(seconds / record_every_s))
    hist = _History(W)
    hist.add(0.0, B)
    B_new = _RUNNERS[name](W, B, s, seed, n_rec, seconds / n_rec, hist, progress or (lambda it: it))
    return B_new, hist.arrays()


def random_connection(n: int = 50, seed: int = 43) -> tuple[np.ndarray, np.ndarray]:
    """The Fig. 7 connection: ``W`` (n, n) then ``B_td`` (n, n) ~ U(+-sqrt(3/n)) from ``default_rng(seed)``.

    Returns ``(W, B)`` with ``B`` in forward orientation (``B_td.T``), as :func:`estimate` expects.
    """
    rng = np.random.default_rng(seed)
    bound = math.sqrt(3.0 / n)
    W = rng.uniform(-bound, bound, (n, n))
    B_td = rng.uniform(-bound, bound, (n, n))
    return W, B_td.T.copy()
