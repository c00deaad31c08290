"""Pair-based STDP with per-synapse amplitudes: the wake-sleep (WS) and SAL "rulers".

See docs/sampling.md, "STDP rulers".

A ruler holds four (N, N) matrices indexed (post i, pre j): A+ and A- (amplitudes of the causal and
anti-causal halves) and tau+ and tau- (time constants), plus a kernel:

* triangular:  K(x) = A+ (1 - x/tau+) for 0 < x < tau+,  A- (1 - |x|/tau-) for -tau- < x < 0;
* exponential: K(x) = A+ exp(-x/tau+) for x > 0,          A- exp(x/tau-) for x < 0;

with x = t_post - t_pre and K(0) = 0.  The WS ruler has A+ = A- = a (gain a_ij ~ 1 + eta); the SAL
ruler has A+ = -a', A- = +a' (causal pairs depress, anti-causal pairs potentiate).

Accumulation: walking the spikes in time order, a spike of i at t pairs with the stored
spike times s of every other neuron j (Delta = t - s >= 0):
``S[i, j] += K(+Delta; ij)`` and ``S[j, i] += K(-Delta; ji)``; then t is pushed into i's store of
depth L.  The caller normalises: S_hat = S t_ref / T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from ..errors import UserError
from ..spiking.stdp import exp_window_at

KERNELS = {"triangular": 0, "exponential": 1}
TRIANGULAR = KERNELS["triangular"]

__all__ = ["KERNELS", "Ruler", "gain_matrix", "pairbased_stdp", "sal_ruler", "window_at", "ws_ruler"]


@nb.njit(cache=True, inline="always")
def window_at(kind: np.int64, x: float, ap: float, am: float, taup: float, taum: float) -> float:
    """STDP window K(x) of kernel ``kind`` (:data:`KERNELS`), x = t_post - t_pre; 0 at x = 0.

    The exponential kernel is the shared :func:`spikealign.spiking.stdp.exp_window_at`.
    """
    if kind != TRIANGULAR:
        return exp_window_at(x, ap, am, taup, taum)
    if x > 0.0:
        return ap * (1.0 - x / taup) if x < taup else 0.0
    if x < 0.0:
        return am * (1.0 + x / taum) if -x < taum else 0.0
    return 0.0


@dataclass
class Ruler:
    """Per-synapse STDP window: amplitudes and time constants (N, N), indexed (post, pre)."""

    a_plus: np.ndarray
    a_minus: np.ndarray
    tau_plus: np.ndarray
    tau_minus: np.ndarray
    kernel: str = "triangular"

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise UserError(f"unknown STDP kernel {self.kernel!r} (allowed: {', '.join(KERNELS)})")
        shapes = {np.shape(m) for m in (self.a_plus, self.a_minus, self.tau_plus, self.tau_minus)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[0] != next(iter(shapes))[1]:
            raise UserError(f"ruler matrices must be square and of equal shape, got {sorted(shapes)}")
        if np.any(np.asarray(self.tau_plus) <= 0) or np.any(np.asarray(self.tau_minus) <= 0):
            raise UserError("STDP time constants must be positive")

    @property
    def kind(self) -> int:
        return KERNELS[self.kernel]

    def stacked(self) -> np.ndarray:
        """(4, N, N) float64: A+, A-, tau+, tau-."""
        return np.stack(
            [np.asarray(m, dtype=np.float64) for m in (self.a_plus, self.a_minus, self.tau_plus, self.tau_minus)]
        )


def gain_matrix(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Per-synapse gains as the reference assigns them.

    The forward matrix fills the strict upper triangle (j > i); the backward matrix then fills
    ``tril_indices(k=1)`` (j <= i + 1), overwriting the first super-diagonal.
    """
    forward = np.asarray(forward, dtype=np.float64)
    n = forward.shape[0]
    out = np.zeros((n, n))
    iu = np.triu_indices(n, k=1)
    out[iu] = forward[iu]
    il = np.tril_indices(n, k=1)
    out[il] = np.asarray(backward, dtype=np.float64)[il]
    return out


def ws_ruler(gains: np.ndarray, tau: float = 50.0, kernel: str = "triangular") -> Ruler:
    """Wake-sleep ruler: A+ = A- = gains."""
    g = np.asarray(gains, dtype=np.float64)
    t = np.full_like(g, float(tau))
    return Ruler(g.copy(), g.copy(), t, t.copy(), kernel)


def sal_ruler(gains: np.ndarray, tau: float = 50.0, kernel: str = "triangular") -> Ruler:
    """SAL ruler: A+ = -gains (causal: depression), A- = +gains (anti-causal: potentiation)."""
    g = np.asarray(gains, dtype=np.float64)
    t = np.full_like(g, float(tau))
    return Ruler(-g, g.copy(), t, t.copy(), kernel)


@nb.njit(cache=True)
def _pairbased(times, neurons, n, depth, kind, ap, am, taup, taum):
    S = np.zeros((n, n))
    store = np.full((n, depth), -(2**62), dtype=np.int64)
    pos = np.zeros(n, dtype=np.int64)
    for k in range(times.size):
        t = times[k]
        i = neurons[k]
        for j in range(n):
            if j == i:
                continue
            for m in range(depth):
                s = store[j, m]
                if s <= -(2**62):
                    continue
                d = float(t - s)
                S[i, j] += window_at(kind, d, ap[i, j], am[i, j], taup[i, j], taum[i, j])
                S[j, i] += window_at(kind, -d, ap[j, i], am[j, i], taup[j, i], taum[j, i])
        store[i, pos[i]] = t
        pos[i] = (pos[i] + 1) % depth
    return S


def pairbased_stdp(times: np.ndarray, neurons: np.ndarray, n: int, ruler: Ruler, depth: int = 1) -> np.ndarray:
    """Raw pair-based STDP sums S (N, N) of a spike train; normalise with t_ref / T.

    Parameters
    ----------
    times, neurons : spike steps (sorted; same-step spikes ordered by neuron) and 0-based ids.
    n : number of neurons.
    ruler : amplitudes, time constants and kernel.
    depth : number of most recent spikes stored per neuron (the reference's ``num_last_spikes``).
    """
    if depth < 1:
        raise UserError(f"STDP depth (num_last_spikes) must be >= 1, got {depth}")
    st = ruler.stacked()
    if st.shape[1] != n:
        raise UserError(f"ruler is for {st.shape[1]} neurons, spike train for {n}")
    return _pairbased(
        np.asarray(times, dtype=np.int64), np.asarray(neurons, dtype=np.int64), int(n), int(depth), ruler.kind,
        st[0], st[1], st[2], st[3],
    )  # fmt: skip
