"""Analytic spike-timing-difference distribution (STDD) of the two-neuron chain, and the SAL signal.

Argument semantics (clean, no swaps): ``w_12`` is the weight onto neuron 1 from neuron 2 (post 1,
pre 2), ``w_21`` onto neuron 2 from neuron 1; ``b_1``, ``b_2`` are the biases.  The STDD is indexed
by ``dt = t_1 - t_2`` in ``-(M-1) ... M-1`` (``M = t_max``): the right half (``dt > 0``) holds
pairs where neuron 2 fired first, the left half pairs where neuron 1 fired first.

One half-histogram ``H(S -> O)`` for a starter ``S`` (first chain coordinate ``a``) and the other
neuron ``O`` (coordinate ``c``):

1. ``q_0(a, c) = pi(0, c) / sum_c pi(0, c)`` for ``a = 0`` (conditioned on an S spike; this
   includes ``c = 0``, O firing on the same step);
2. readout ``h(a, c) = [c' >= R] s(b_O + w_{O<-S} kappa(a + 1))`` for ``a <= M - 2``: the
   probability that O fires on the next step (marginal over S, so including the both-fire
   transition), credited to lag ``L = a + 1``; saturated states ``a = M - 1`` contribute nothing
   (lags ``>= M`` are truncated);
3. the killed propagator ``T~`` is ``T`` with the rows of the targets ``(0, c >= 1)`` (S fired
   alone: discard) and ``(a >= 1, 0)`` (O fired alone: recorded, stop) removed; the row of
   ``(0, 0)`` (both fired) is **kept**: the pair is recorded and the clock restarts;
4. ``f(L) = sum_{n=0}^{M} sum_c [T~^n q_0](L-1, c) h(L-1, c)`` (exactly ``M`` propagation steps);
5. ``f <- f / (2 sum f)``: each half carries mass 1/2.

Right half: S = neuron 2, O = neuron 1, value at ``dt = +L``; left half: S = neuron 1, O = neuron 2,
value at ``dt = -L``.  The middle bin ``dt = 0`` is never computed: ``fill_middle`` is ``"zero"``,
``"nan"`` or ``"smooth"`` (mean of ``p(-1)`` and ``p(+1)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from ..errors import UserError
from .chain import fire_tables, stationary_batch
from .kernels import (
    SalSetup,
    Window,
    check_fill,
    check_finite,
    check_psp,
    check_times,
    kernel_table,
    window_values,
    with_setup,
)

# chain states handled per chunk by the reduced solver (bounds the memory of the batch)
_MAX_STATES_PER_CHUNK = 120_000


@numba.njit(cache=True)
def _half_histograms_kernel(pi, s_first, s_second, t_ref, t_max, out):  # pragma: no cover - compiled
    """Numba core of steps 1-5 above for a batch of chains; writes ``out[k, L-1]`` for ``L = 1..M-1``."""
    n_chains = pi.shape[0]
    m = t_max
    q = np.empty((m, m))
    qn = np.empty((m, m))
    acc = np.empty((m, m))
    for k in range(n_chains):
        norm = 0.0
        for c in range(m):
            norm += pi[k, c]
        for a in range(m):
            for c in range(m):
                q[a, c] = pi[k, c] / norm if a == 0 else 0.0
                acc[a, c] = q[a, c]
        for _n in range(m):
            for a in range(m):
                for c in range(m):
                    qn[a, c] = 0.0
            for a in range(m):
                ap = min(a + 1, m - 1)
                elig_f = ap >= t_ref
                ps_a = s_second[k, ap]
                for c in range(m):
                    x = q[a, c]
                    if x == 0.0:
                        continue
                    cp = min(c + 1, m - 1)
                    pf = s_first[k, cp] if elig_f else 0.0
                    ps = ps_a if cp >= t_ref else 0.0
                    qn[0, 0] += x * pf * ps
                    qn[ap, cp] += x * (1.0 - pf) * (1.0 - ps)
            for a in range(m):
                for c in range(m):
                    q[a, c] = qn[a, c]
                    acc[a, c] += qn[a, c]
        total = 0.0
        for a in range(m - 1):
            ps_a = s_second[k, a + 1]
            f = 0.0
            for c in range(t_ref - 1, m):
                f += acc[a, c] * ps_a
            out[k, a] = f
            total += f
        for a in range(m - 1):
            out[k, a] /= 2.0 * total


def half_histograms(
    kappa: np.ndarray,
    t_ref: int,
    t_max: int,
    w_first_in: np.ndarray,
    w_second_in: np.ndarray,
    b_first: np.ndarray,
    b_second: np.ndarray,
    method: str = "reduced",
) -> np.ndarray:
    """Half-histograms ``H(first -> second)`` at lags ``1..M-1`` for a batch of chains, shape ``(K, M-1)``.

    The first neuron is the starter S (bias ``b_first``, incoming weight ``w_first_in``), the second
    the other neuron O.  Inputs are broadcast to a common length ``K``; no validation (see :func:`stdd`).
    ``method`` selects the stationary solver (see :func:`spikealign.theory.chain.stationary_batch`).
    """
    w_first_in, w_second_in, b_first, b_second = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(x, dtype=float)) for x in (w_first_in, w_second_in, b_first, b_second))
    )
    k_total = w_first_in.shape[0]
    n_states = t_max * t_max
    out = np.empty((k_total, t_max - 1))
    # the sparse solver factorises chain by chain: SuperLU's fill-in grows badly on block-diagonal stacks
    per_solve = max(1, _MAX_STATES_PER_CHUNK // n_states) if method == "reduced" else 1
    for start in range(0, k_total, per_solve):
        sl = slice(start, min(k_total, start + per_solve))
        s_f = fire_tables(kappa, t_ref, w_first_in[sl], b_first[sl])
        s_s = fire_tables(kappa, t_ref, w_second_in[sl], b_second[sl])
        pi = stationary_batch(s_f, s_s, t_ref, t_max, method)
        _half_histograms_kernel(pi, s_f, s_s, t_ref, t_max, out[sl])
    return out


@dataclass(frozen=True)
class STDDResult:
    """An STDD ``p`` over ``dt = t_1 - t_2`` with the parameters that produced it.

    Attributes
    ----------
    dt : integer lags ``-(t_max-1) ... t_max-1``.
    p : probabilities; each half sums to 1/2; ``p[t_max-1]`` (``dt = 0``) follows ``fill_middle``.
    """

    dt: np.ndarray
    p: np.ndarray
    w_12: float
    w_21: float
    b_1: float
    b_2: float
    t_ref: int
    t_max: int
    psp: str
    t_syn: float
    fill_middle: str

    @property
    def left(self) -> np.ndarray:
        """``p`` at ``dt = -(M-1) ... -1`` (neuron 1 fired first)."""
        return self.p[: self.t_max - 1]

    @property
    def right(self) -> np.ndarray:
        """``p`` at ``dt = 1 ... M-1`` (neuron 2 fired first)."""
        return self.p[self.t_max :]


def _assemble(left_lags: np.ndarray, right_lags: np.ndarray, fill_middle: str) -> np.ndarray:
    """``[left reversed (dt=-(M-1)..-1), middle, right (dt=1..M-1)]`` for a batch (last axis lags)."""
    left = left_lags[..., ::-1]
    if fill_middle == "nan":
        mid = np.full((*left.shape[:-1], 1), np.nan)
    elif fill_middle == "zero":
        mid = np.zeros((*left.shape[:-1], 1))
    else:
        mid = 0.5 * (left[..., -1:] + right_lags[..., :1])
    return np.concatenate([left, mid, right_lags], axis=-1)


def _validate(w_12, w_21, b_1, b_2, t_ref, t_max, psp, t_syn, fill_middle):
    t_ref, t_max = check_times(t_ref, t_max)
    ts = check_psp(psp, t_syn, t_ref)
    check_fill(fill_middle)
    arrays = [check_finite(n, v) for n, v in (("w_12", w_12), ("w_21", w_21), ("b_1", b_1), ("b_2", b_2))]
    return t_ref, t_max, ts, arrays


def stdd_batch(
    w_12: npt.ArrayLike,
    w_21: npt.ArrayLike,
    b_1: npt.ArrayLike,
    b_2: npt.ArrayLike,
    *,
    t_ref: int,
    t_max: int,
    psp: str = "rect",
    t_syn: float | None = None,
    fill_middle: str = "zero",
    method: str = "reduced",
) -> np.ndarray:
    """STDDs for many parameter sets at once (arguments broadcast), shape ``(..., 2*t_max - 1)``.

    Same semantics as :func:`stdd`; all chains of the batch share one sparse factorisation per
    block of ~10^5 states and one compiled propagation call.  ``method`` picks the stationary
    solver: ``"reduced"`` (default) or ``"sparse"`` (full sparse LU; same numbers, slower).
    """
    t_ref, t_max, ts, (w12, w21, b1, b2) = _validate(w_12, w_21, b_1, b_2, t_ref, t_max, psp, t_syn, fill_middle)
    w12, w21, b1, b2 = np.broadcast_arrays(w12, w21, b1, b2)
    shape = w12.shape
    w12, w21, b1, b2 = (x.ravel() for x in (w12, w21, b1, b2))
    kappa = kernel_table(psp, t_ref, t_max, ts)
    k = w12.size
    # right half: S = neuron 2 (bias b_2, input w_21), O = neuron 1; left half: S = 1, O = 2.
    halves = half_histograms(
        kappa,
        t_ref,
        t_max,
        np.concatenate([w21, w12]),
        np.concatenate([w12, w21]),
        np.concatenate([b2, b1]),
        np.concatenate([b1, b2]),
        method,
    )
    p = _assemble(halves[k:], halves[:k], fill_middle)
    return p.reshape(*shape, 2 * t_max - 1)


def stdd(
    w_12: float,
    w_21: float,
    b_1: float,
    b_2: float,
    *,
    t_ref: int,
    t_max: int,
    psp: str = "rect",
    t_syn: float | None = None,
    fill_middle: str = "zero",
) -> STDDResult:
    """The analytic STDD of the two-neuron chain (see the module docstring).

    Parameters
    ----------
    w_12, w_21 : weights onto neuron 1 from 2 and onto neuron 2 from 1.
    b_1, b_2 : biases.
    t_ref : refractory time ``R`` in steps (minimal inter-spike interval), ``1 <= t_ref < t_max``.
    t_max : counter range ``M`` in steps; lags ``>= M`` are truncated.
    psp : PSP kernel, one of ``rect, exp, cutoff, tail, alpha``.
    t_syn : PSP shape parameter (``None``: ``t_ref``); ignored by ``rect``.
    fill_middle : value of the never-computed ``dt = 0`` bin: ``zero``, ``nan`` or ``smooth``.

    Returns
    -------
    STDDResult with ``dt = t_1 - t_2`` and ``p`` (each half sums to 1/2).
    """
    for name, v in (("w_12", w_12), ("w_21", w_21), ("b_1", b_1), ("b_2", b_2)):
        if np.ndim(v) != 0:
            raise UserError(f"{name} must be a scalar for stdd(); use stdd_batch() for arrays")
    p = stdd_batch(w_12, w_21, b_1, b_2, t_ref=t_ref, t_max=t_max, psp=psp, t_syn=t_syn, fill_middle=fill_middle)
    t_ref, t_max = int(t_ref), int(t_max)
    return STDDResult(
        dt=np.arange(-t_max + 1, t_max),
        p=p,
        w_12=float(w_12),
        w_21=float(w_21),
        b_1=float(b_1),
        b_2=float(b_2),
        t_ref=t_ref,
        t_max=t_max,
        psp=psp,
        t_syn=float(t_ref if t_syn is None else t_syn),
        fill_middle=fill_middle,
    )


# --------------------------------------------------------------------------- SAL signal
def sal_from_p(p: np.ndarray, kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``dW_12 = sum_dt p(dt) K(dt)`` and ``dW_21 = sum_dt p(dt) K(-dt)`` over the last axis, middle bin as 0.

    ``p`` is indexed by ``dt = t_1 - t_2``, which is post-minus-pre for ``W_12`` (post 1, pre 2).
    """
    p = np.array(p, dtype=float, copy=True)
    mid = p.shape[-1] // 2
    p[..., mid] = 0.0
    return np.sum(p * kernel, axis=-1), np.sum(p * kernel[::-1], axis=-1)


def sal_signal(
    stdd_result: STDDResult,
    a_plus: float = -1.0,
    a_minus: float = 1.0,
    tau: float | None = None,
    *,
    window: Window | None = None,
) -> tuple[float, float]:
    """The SAL weight changes ``(dW_12, dW_21)`` implied by an STDD.

    ``dW_12 = sum_dt p(dt) K(dt)`` and ``dW_21 = sum_dt p(dt) K(-dt)`` with ``dt = t_1 - t_2``
    and the ``dt = 0`` bin taken as 0.  ``K`` is the exponential window
    ``a_plus exp(-dt/tau)`` (``dt > 0``), ``a_minus exp(dt/tau)`` (``dt < 0``) with ``tau``
    defaulting to ``t_ref``, or any ``window(dt) -> K`` given.  With the antisymmetric SAL window
    (``a_plus = -1, a_minus = 1``) ``dW_21 = -dW_12`` and ``dW_12`` has the sign of ``w_21 - w_12``.
    """
    if not isinstance(stdd_result, STDDResult):
        raise UserError("sal_signal expects the result of spikealign.theory.stdd(...)")
    tau = float(stdd_result.t_ref) if tau is None else float(tau)
    kernel = window_values(stdd_result.dt, a_plus, a_minus, tau, window)
    d12, d21 = sal_from_p(stdd_result.p, kernel)
    return float(d12), float(d21)


def sal_batch(
    w_12: npt.ArrayLike,
    w_21: npt.ArrayLike,
    b_1: npt.ArrayLike,
    b_2: npt.ArrayLike,
    setup: SalSetup | None = None,
    **setting: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """SAL signals ``(dW_12, dW_21)`` for many parameter sets (arguments broadcast).

    ``setup`` (:class:`~spikealign.theory.kernels.SalSetup`, ``t_max`` needed) or its fields as
    keywords (``t_ref=..., t_max=..., psp=..., t_syn=..., a_plus=..., a_minus=..., tau=...,
    window=...``; keywords replace the fields of a given ``setup``).
    """
    setup = with_setup(setup, setting)
    t_ref, t_max = setup.times()
    p = stdd_batch(w_12, w_21, b_1, b_2, t_ref=t_ref, t_max=t_max, psp=setup.psp, t_syn=setup.t_syn, fill_middle="zero")
    return sal_from_p(p, setup.window_kernel(np.arange(-t_max + 1, t_max)))
