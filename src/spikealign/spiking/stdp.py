r"""The exponential STDP window, the one implementation every family uses.

For a pair with time difference ``x = t_post - t_pre``

.. math::

    K(x) = a_+ e^{-x/\tau_+} \; (x > 0), \qquad K(x) = a_- e^{x/\tau_-} \; (x < 0), \qquad K(0) = 0.

SAL uses ``a_+ = -1, a_- = +1`` (causal pairs depress, anti-causal pairs potentiate: the mirror
image of classic STDP) with ``tau_+ = tau_- = t_ref``; see docs/theory.md, "The SAL signal".

:func:`exp_window_at` is a compiled scalar function that numba kernels of every family inline;
:func:`exp_window` evaluates it on arrays from Python.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from ..errors import UserError


@nb.njit(cache=True, inline="always")
def exp_window_at(x: float, a_plus: float, a_minus: float, tau_plus: float, tau_minus: float) -> float:
    """``K(x)`` for one time difference ``x = t_post - t_pre`` (0 at ``x = 0``)."""
    if x > 0.0:
        return a_plus * math.exp(-x / tau_plus)
    if x < 0.0:
        return a_minus * math.exp(x / tau_minus)
    return 0.0


class StdpWindow(NamedTuple):
    """The parameters of ``K(x)``: amplitudes ``a_+`` (``x > 0``), ``a_-`` (``x < 0``) and time constants."""

    a_plus: float
    a_minus: float
    tau_plus: float
    tau_minus: float


@nb.njit(cache=True, inline="always")
def window_value(x: float, window: StdpWindow) -> float:
    """``K(x)`` of :func:`exp_window_at` with the parameters of ``window``."""
    return exp_window_at(x, window.a_plus, window.a_minus, window.tau_plus, window.tau_minus)


@nb.njit(cache=True)
def _exp_window_array(dt, a_plus, a_minus, tau_plus, tau_minus):
    out = np.empty(dt.size)
    flat = dt.ravel()
    for i in range(flat.size):
        out[i] = exp_window_at(flat[i], a_plus, a_minus, tau_plus, tau_minus)
    return out


def exp_window(
    dt: np.ndarray, a_plus: float = -1.0, a_minus: float = 1.0, tau_plus: float = 1.0, tau_minus: float | None = None
) -> np.ndarray:
    """Exponential STDP window ``K(dt)`` elementwise, ``dt = t_post - t_pre`` (any shape)."""
    if tau_minus is None:
        tau_minus = tau_plus
    if not (tau_plus > 0 and tau_minus > 0):
        raise UserError(f"window time constants must be > 0, got tau_plus={tau_plus}, tau_minus={tau_minus}")
    dt = np.asarray(dt, dtype=float)
    flat = np.ascontiguousarray(dt).ravel()
    return _exp_window_array(flat, float(a_plus), float(a_minus), float(tau_plus), float(tau_minus)).reshape(dt.shape)
