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

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UserError
from ..spiking.stdp import StdpWindow, exp_window

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


def check_times(t_ref: int | None, t_max: int | None) -> tuple[int, int]:
    """Validate the refractory time ``t_ref`` and the state-space size ``t_max`` (both in steps).

    Allowed: integers with ``1 <= t_ref < t_max``.
    """
    steps = []
    for name, v in (("t_ref", t_ref), ("t_max", t_max)):
        whole_float = isinstance(v, float) and float(v).is_integer()
        if not whole_float and (isinstance(v, bool) or not isinstance(v, int | np.integer)):
            raise UserError(f"{name} must be an integer number of time steps, got {v!r}")
        steps.append(int(v))  # type: ignore[arg-type]  # an int or a whole float here
    t_ref, t_max = steps
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
# implementation for every family); it is re-exported here for the theory API (``exp_window``).

Window = Callable[[np.ndarray], np.ndarray]


def window_values(dt: np.ndarray, a_plus: float, a_minus: float, tau: float, window: Window | None) -> np.ndarray:
    """``K(dt)``: ``window(dt)`` if given, else the exponential window with ``(a_plus, a_minus, tau, tau)``."""
    if window is not None:
        k = np.asarray(window(np.asarray(dt, dtype=float)), dtype=float)
        if k.shape != np.shape(dt):
            raise UserError(f"window must return one value per lag (shape {np.shape(dt)}), got shape {k.shape}")
        return k
    return exp_window(dt, a_plus, a_minus, tau, tau)


# --------------------------------------------------------------------------- the shared setting
@dataclass(frozen=True)
class SalSetup:
    """The two-neuron setting that the theory entry points share (times in steps).

    Neurons and PSP: ``t_ref`` (refractory time ``R``, the minimal inter-spike interval, also the
    rate scale of the escape noise), ``t_max`` (counter range ``M`` of the chain, lags ``>= M``
    truncated; not used by the spiking simulation), ``psp`` (kernel name, :data:`PSP_SHAPES`),
    ``t_syn`` (PSP shape parameter; ``None``: ``t_ref``).  STDP window: ``a_plus exp(-dt/tau)``
    (``dt > 0``), ``a_minus exp(dt/tau)`` (``dt < 0``) with ``tau`` (``None``: ``t_ref``), or any
    ``window(dt) -> K`` instead.  The run configs build it with ``setup()``.
    """

    t_ref: int
    t_max: int | None = None
    psp: str = "rect"
    t_syn: float | None = None
    a_plus: float = -1.0
    a_minus: float = 1.0
    tau: float | None = None
    window: Window | None = None

    def times(self) -> tuple[int, int]:
        """``(t_ref, t_max)`` checked for the chain (``1 <= t_ref < t_max``, integers)."""
        return check_times(self.t_ref, self.t_max)

    @property
    def tau_steps(self) -> float:
        """The window's time constant (``t_ref`` when ``tau`` is None)."""
        return float(self.t_ref if self.tau is None else self.tau)

    @property
    def t_syn_steps(self) -> float:
        """The PSP shape parameter (``t_ref`` when ``t_syn`` is None)."""
        return float(self.t_ref if self.t_syn is None else self.t_syn)

    def stdp_window(self) -> StdpWindow:
        """The exponential window as the compiled kernels take it (``tau_+ = tau_- = tau``)."""
        return StdpWindow(float(self.a_plus), float(self.a_minus), self.tau_steps, self.tau_steps)

    def window_kernel(self, dt: np.ndarray) -> np.ndarray:
        """``K(dt)`` of this setting (``window`` if given, else the exponential window)."""
        return window_values(dt, self.a_plus, self.a_minus, self.tau_steps, self.window)


SETUP_FIELDS = tuple(f.name for f in dataclasses.fields(SalSetup))


def with_setup(setup: SalSetup | None, options: dict[str, Any]) -> SalSetup:
    """``setup`` with the keyword ``options`` (:class:`SalSetup` fields) replacing its fields.

    Without ``setup`` the options make a fresh one (``t_ref`` needed).  This keeps the keyword
    style of the theory functions (``sal_batch(..., t_ref=10, t_max=30)``) working.
    """
    for name in options:
        if name not in SETUP_FIELDS:
            raise UserError(f"unknown theory setting {name!r} (allowed: {', '.join(SETUP_FIELDS)})")
    if setup is None:
        if "t_ref" not in options:
            raise UserError("t_ref is required: pass setup=SalSetup(t_ref=..., ...) or t_ref=...")
        return SalSetup(**options)
    return dataclasses.replace(setup, **options)
