"""PSP kernels and input checks of the theory family (and the re-exported STDP window).

The PSP kernels ``kappa(z; R, ts)`` enter the two-neuron chain (see :mod:`.chain`) at the lag
``z >= 1`` between the partner's last spike and the new time step.  ``R = t_ref`` (integer steps),
``ts = t_syn`` (shape parameter).  With ``A(R, ts) = (R/ts) / (1 - exp(-R/ts))``:

======== ==========================================================================
rect     ``1`` for ``0 <= z < R``, else ``0`` (ignores ``ts``; on lags ``1..R-1``)
exp      ``A exp(-z/ts)`` (area over ``[0, R]`` equals ``R``; not truncated)
cutoff   ``A exp(-z/ts)`` for ``z <= R``, ``0`` beyond
tail     ``1`` for ``z <= R``, ``A exp(-z/ts)`` beyond (discontinuous)
alpha    ``(R/ts^2) z exp(-z/ts)`` for ``z > 0``, else ``0`` (area ``R``, peak at ``z = ts``)
======== ==========================================================================

The rect kernel raises the partner's potential for exactly the ``R - 1`` steps during which the
sender itself may not fire; this equality of PSP window and dead time makes the rect case exactly
time-symmetric at symmetric weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import UserError
from ..spiking.stdp import exp_window  # noqa: F401 (re-exported: part of the theory API)

PSP_SHAPES = ("rect", "exp", "cutoff", "tail", "alpha")
FILL_MIDDLE = ("nan", "zero", "smooth")


# --------------------------------------------------------------------------- input checks
def check_finite(name: str, value: float | np.ndarray) -> np.ndarray:
    """Return ``value`` as a float array; raise :class:`UserError` if any entry is not finite."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a finite real number, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise UserError(f"{name} must be finite (no nan or inf), got {value!r}")
    return arr


def check_times(t_ref: int, t_max: int) -> tuple[int, int]:
    """Validate the refractory time ``t_ref`` and the state-space size ``t_max`` (both in steps).

    Allowed: integers with ``1 <= t_ref < t_max``.
    """
    for name, v in (("t_ref", t_ref), ("t_max", t_max)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            if isinstance(v, float) and float(v).is_integer():
                continue
            raise UserError(f"{name} must be an integer number of time steps, got {v!r}")
    t_ref, t_max = int(t_ref), int(t_max)
    if t_ref < 1:
        raise UserError(f"t_ref must be >= 1 time step, got {t_ref}")
    if t_ref >= t_max:
        raise UserError(
            f"t_ref must be smaller than t_max (allowed: 1 <= t_ref < t_max), got t_ref={t_ref}, t_max={t_max}"
        )
    return t_ref, t_max


def check_psp(psp: str, t_syn: float | None, t_ref: int) -> float:
    """Validate the PSP shape name and return the effective ``t_syn`` (``None`` means ``t_ref``)."""
    if psp not in PSP_SHAPES:
        raise UserError(f"unknown psp {psp!r} (allowed: {', '.join(PSP_SHAPES)})")
    ts = float(t_ref) if t_syn is None else float(check_finite("t_syn", t_syn))
    if ts <= 0:
        raise UserError(f"t_syn must be > 0, got {t_syn!r}")
    return ts


def check_fill(fill_middle: str) -> str:
    if fill_middle not in FILL_MIDDLE:
        raise UserError(f"unknown fill_middle {fill_middle!r} (allowed: {', '.join(FILL_MIDDLE)})")
    return fill_middle


# --------------------------------------------------------------------------- kernels
def _amplitude(t_ref: float, t_syn: float) -> float:
    """``A = (R/ts) / (1 - exp(-R/ts))``: makes ``int_0^R A exp(-z/ts) dz = R``."""
    return (t_ref / t_syn) / (1 - math.exp(-t_ref / t_syn))


def psp_rect(z: np.ndarray, t_ref: float, t_syn: float | None = None) -> np.ndarray:
    """Rectangular PSP: ``kappa(z) = 1`` for ``0 <= z < t_ref``, else ``0``."""
    z = np.asarray(z, dtype=float)
    return np.where((z >= 0) & (z < t_ref), 1.0, 0.0)


def psp_exp(z: np.ndarray, t_ref: float, t_syn: float) -> np.ndarray:
    """Exponential PSP ``kappa(z) = A exp(-z/ts)`` with ``A = (R/ts)/(1 - exp(-R/ts))`` (all z)."""
    z = np.asarray(z, dtype=float)
    return _amplitude(t_ref, t_syn) * np.exp(-z / t_syn)


def psp_cutoff(z: np.ndarray, t_ref: float, t_syn: float) -> np.ndarray:
    """Exponential PSP cut off after ``t_ref``: ``A exp(-z/ts)`` for ``z <= R``, else ``0``."""
    z = np.asarray(z, dtype=float)
    return np.where(z <= t_ref, _amplitude(t_ref, t_syn) * np.exp(-z / t_syn), 0.0)


def psp_tail(z: np.ndarray, t_ref: float, t_syn: float) -> np.ndarray:
    """Rectangle with exponential tail: ``1`` for ``z <= R``, ``A exp(-z/ts)`` beyond."""
    z = np.asarray(z, dtype=float)
    return np.where(z <= t_ref, 1.0, _amplitude(t_ref, t_syn) * np.exp(-z / t_syn))


def psp_alpha(z: np.ndarray, t_ref: float, t_syn: float) -> np.ndarray:
    """Alpha PSP ``kappa(z) = (R/ts^2) z exp(-z/ts)`` for ``z > 0``, else ``0`` (area ``R``)."""
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, t_ref / t_syn**2 * z * np.exp(-z / t_syn), 0.0)


PSP_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "rect": psp_rect,
    "exp": psp_exp,
    "cutoff": psp_cutoff,
    "tail": psp_tail,
    "alpha": psp_alpha,
}


def psp_kernel(psp: str, z: np.ndarray, t_ref: float, t_syn: float | None = None) -> np.ndarray:
    """Evaluate the PSP kernel named ``psp`` at lags ``z`` (``t_syn=None`` means ``t_ref``)."""
    ts = check_psp(psp, t_syn if t_syn is not None else float(t_ref), 1)
    return PSP_FUNCTIONS[psp](z, float(t_ref), ts)


def kernel_table(psp: str, t_ref: int, t_max: int, t_syn: float | None = None) -> np.ndarray:
    """``kappa(z)`` for the counter values ``z = 0..t_max-1`` used by the chain (``z = 0`` never enters)."""
    t_ref, t_max = check_times(t_ref, t_max)
    ts = check_psp(psp, t_syn, t_ref)
    return PSP_FUNCTIONS[psp](np.arange(t_max, dtype=float), t_ref, ts)


# --------------------------------------------------------------------------- STDP window
# The exponential window ``K(dt)`` lives in :mod:`spikealign.spiking.stdp` (one compiled
# implementation for every family); it is re-exported here for the theory API.
