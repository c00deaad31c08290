"""Phase planes of the SAL flow in the (W_12, W_21) plane, their zero sets and deviation metric.

A phase-plane grid ``sal[i, j] = (dW_12, dW_21)`` is evaluated at ``W_12 = w[i]``, ``W_21 = w[j]``.
The zero set ("attractor line", the reference's "BOA") of ``dW_12`` is found, for each ``W_21``
value, as all roots along ``W_12`` of a cubic spline through ``dW_12`` (no extrapolation).  Its
deviation from the diagonal is

    D = 1/(W_21[-1] - W_21[0]) * trapz_{W_21} ( |W_21 - W_12*| / (2 |m|) ),  m = (W_21 + W_12*)/2,

the "average relative deviation of attractors from the diagonal" (it blows up near mean 0).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.integrate import trapezoid
from scipy.interpolate import CubicSpline, RegularGridInterpolator

from ..errors import UserError
from .distribution import sal_batch
from .kernels import SalSetup, check_finite, with_setup


def sal_grid(w_values: np.ndarray, b_1: float, b_2: float, setup: SalSetup | None = None, **setting: Any) -> np.ndarray:
    """SAL signals on the grid ``W_12 = w[i]``, ``W_21 = w[j]``: array ``(n, n, 2)`` of ``(dW_12, dW_21)``.

    ``setup`` and ``setting`` as in :func:`~spikealign.theory.distribution.sal_batch`.
    """
    w = check_finite("w_values", w_values)
    if w.ndim != 1 or w.size < 2:
        raise UserError(f"w_values must be a 1-d list of at least 2 weights, got shape {w.shape}")
    w12, w21 = np.meshgrid(w, w, indexing="ij")
    d12, d21 = sal_batch(w12, w21, b_1, b_2, with_setup(setup, setting))
    return np.stack([d12, d21], axis=-1)


def upscale_grid(w_values: np.ndarray, grid: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-cubic interpolation (extrapolation allowed) of a ``(k, k, ...)`` grid onto ``n`` points.

    Returns ``(w_hd, grid_hd)`` with ``w_hd = linspace(w[0], w[-1], n)``.
    """
    w = np.asarray(w_values, dtype=float)
    if n < 2:
        raise UserError(f"upscale must be >= 2 points, got {n}")
    w_hd = np.linspace(w[0], w[-1], n)
    g = np.asarray(grid, dtype=float)
    ww, vv = np.meshgrid(w_hd, w_hd, indexing="ij", sparse=True)
    layers = g.reshape(g.shape[0], g.shape[1], -1)
    out = np.empty((n, n, layers.shape[-1]))
    for i in range(layers.shape[-1]):
        ip = RegularGridInterpolator((w, w), layers[:, :, i], bounds_error=False, fill_value=None, method="cubic")
        out[:, :, i] = ip((ww, vv))
    return w_hd, out.reshape((n, n, *g.shape[2:]))


def zero_set(w_values: np.ndarray, dw_12: np.ndarray, *, warn: bool = False) -> np.ndarray:
    """Zero set of ``dW_12`` (grid indexed ``[i, j]`` at ``W_12 = w[i], W_21 = w[j]``).

    For each ``W_21 = w[j]`` a cubic spline of ``dW_12`` along ``W_12`` (no extrapolation) gives
    all roots ``W_12*``.  Returns rows ``[W_21, W_12*]`` (shape ``(n_roots, 2)``), ordered by
    ``W_21``.  In the exactly diagonal rect case roots may appear twice (round-off); ``warn`` warns
    when a slice has more than one root.
    """
    w = np.asarray(w_values, dtype=float)
    vals = np.asarray(dw_12, dtype=float).T  # row j: dW_12 along W_12 at W_21 = w[j]
    rows: list[list[float]] = []
    for j, w21 in enumerate(w):
        roots = CubicSpline(w, vals[j], extrapolate=False).roots()
        if len(roots) > 1 and warn:
            warnings.warn(f"{len(roots)} zeros of dW_12 at W_21 = {w21:g}", RuntimeWarning, stacklevel=2)
        rows.extend([float(w21), float(r)] for r in roots)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def rotate_zero_set(zeros: np.ndarray) -> np.ndarray:
    """Rotate zero-set rows ``[W_21, W_12*]`` to ``[mean, (W_12* - W_21)/2]``."""
    z = np.asarray(zeros, dtype=float)
    return np.column_stack([0.5 * (z[:, 0] + z[:, 1]), 0.5 * (z[:, 1] - z[:, 0])])


def deviation_from_diagonal(zeros: np.ndarray) -> float:
    """Average relative deviation of the zero set from the diagonal (see the module docstring).

    ``nan`` if the zero set has fewer than two points or spans no ``W_21`` range.  A zero exactly at
    the origin (``0/0``) counts as deviation 0 (the reference gives ``nan`` there).
    """
    z = np.asarray(zeros, dtype=float)
    if z.shape[0] < 2:
        return float("nan")
    span = abs(z[-1, 0] - z[0, 0])
    if span == 0:
        return float("nan")
    mean = 0.5 * (z[:, 0] + z[:, 1])
    diff = 0.5 * np.abs(z[:, 0] - z[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where((diff == 0) & (mean == 0), 0.0, diff / np.abs(mean))
    return float(trapezoid(rel, x=z[:, 0]) / span)


def mean_signed_offset(zeros: np.ndarray) -> float:
    """Mean of ``W_12* - W_21`` over the zero set: > 0 when it bends above the diagonal."""
    z = np.asarray(zeros, dtype=float)
    return float(np.mean(z[:, 1] - z[:, 0])) if z.size else float("nan")


def sign_agreement(w_values: np.ndarray, dw_12: np.ndarray) -> float:
    """Fraction of off-diagonal grid points where ``sign(dW_12) == sign(W_21 - W_12)``."""
    w = np.asarray(w_values, dtype=float)
    w12, w21 = np.meshgrid(w, w, indexing="ij")
    off = w12 != w21
    return float(np.mean(np.sign(np.asarray(dw_12)[off]) == np.sign((w21 - w12)[off])))


def integrate_flow(
    w_start: tuple[float, float],
    b_1: float,
    b_2: float,
    setup: SalSetup | None = None,
    *,
    eta: float,
    n_steps: int,
    frozen: str | None = None,
    **setting: Any,
) -> np.ndarray:
    """Euler integration of the mean SAL flow ``dW/dt = eta * SAL(W)``.

    ``W_{n+1} = W_n + eta * (dW_12(W_n), dW_21(W_n))``; ``frozen`` (``"w_12"`` or ``"w_21"``)
    keeps that weight fixed.  Returns the trajectory ``(n_steps + 1, 2)`` of ``(W_12, W_21)``.
    With the antisymmetric window the sum is conserved when both are plastic.  ``setup`` and
    ``setting`` as in :func:`~spikealign.theory.distribution.sal_batch`.
    """
    if frozen not in (None, "none", "w_12", "w_21"):
        raise UserError(f"frozen must be one of none, w_12, w_21, got {frozen!r}")
    check_finite("w_start", np.asarray(w_start, dtype=float))
    check_finite("eta", eta)
    setup = with_setup(setup, setting)
    traj = np.empty((int(n_steps) + 1, 2))
    traj[0] = w_start
    for n in range(int(n_steps)):
        w12, w21 = traj[n]
        d12, d21 = sal_batch(w12, w21, b_1, b_2, setup)
        step = eta * np.array([float(d12), float(d21)])
        if frozen == "w_12":
            step[0] = 0.0
        elif frozen == "w_21":
            step[1] = 0.0
        traj[n + 1] = traj[n] + step
    return traj
