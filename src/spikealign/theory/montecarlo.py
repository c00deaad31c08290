"""Monte-Carlo simulation of the two-neuron chain with the exact pairing of the analytic STDD.

The chain is the one of :mod:`spikealign.theory.chain` (parallel update, refractoriness via the
tentative counter ``>= t_ref``, firing probability ``1 / (1 + R exp(-u))``, counters saturating at
``t_max - 1``), simulated for many independent chains in one compiled call.

Pairing (the event semantics the analytic half-histogram ``H(S -> O)`` computes): every spike of the
starter S opens a *scan* at its time ``t0``; then, step by step,

- O fires alone at ``t``: every open scan records the lag ``L = t - t_r`` and closes;
- S fires alone: every open scan closes without recording;
- both fire: every open scan records ``L`` and stays open with its clock restarted (``t_r = t``);
  the S spike also opens a new scan;

where ``t_r`` is the time of the last S spike (the restart time shared by all open scans).  A scan
only records while ``t - t0 <= t_max + 1`` (the analytic sum runs over ``t_max`` propagation steps)
and only lags ``L <= t_max - 1``.  Scans are opened only after ``burn_in`` and early enough to
finish before the end of the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numba
import numpy as np

from ..seeding import replica_seeds
from ..spiking.neuron import EscapeNoise, fires
from .kernels import SalSetup, check_finite, check_psp, kernel_table, with_setup


class Chain(NamedTuple):
    """One two-neuron chain as the compiled simulation reads it (see :mod:`spikealign.theory.chain`)."""

    t_ref: int  # R: refractory period and rate scale of the escape noise
    t_max: int  # M: counters saturate at M - 1
    kappa: np.ndarray  # PSP kernel table kappa(0 .. M-1)
    w_12: float  # weight onto neuron 1 from neuron 2
    w_21: float
    b_1: float
    b_2: float


class PairCounts(NamedTuple):
    """Outputs per chain ``k``: pair counts at ``dt = +L`` and ``dt = -L`` (``L = 1 .. M-1``), spike counts."""

    right: np.ndarray  # (K, M - 1)
    left: np.ndarray  # (K, M - 1)
    n_spikes: np.ndarray  # (K, 2)


@numba.njit(cache=True)
def _pair_event(fire_s, fire_o, t, t_max, starts, n_open, t_r, counts, k, recorded):
    """Update the open scans of one direction for the events at step ``t``; returns ``(n_open, t_r)``.

    ``recorded = (first, last)``: the steps at which a scan may start.
    """
    record_from, record_until = recorded
    if not (fire_s or fire_o):
        return n_open, t_r
    lag = t - t_r
    if fire_o:
        for i in range(n_open):
            if t - starts[i] <= t_max + 1 and 1 <= lag <= t_max - 1:
                counts[k, lag - 1] += 1.0
    if fire_s:
        if fire_o:  # both fired: keep the scans that may still record, restart their clock
            kept = 0
            for i in range(n_open):
                if t - starts[i] < t_max + 1:
                    starts[kept] = starts[i]
                    kept += 1
            n_open = kept
        else:
            n_open = 0
        t_r = t
        if record_from <= t <= record_until:
            starts[n_open] = t
            n_open += 1
    else:  # O fired alone: every scan closes
        n_open = 0
    return n_open, t_r


@numba.njit(cache=True)
def _simulate_chains(seeds, n_steps, burn_in, chain, counts):  # pragma: no cover - compiled
    """Simulate one chain per seed for ``n_steps`` steps; counts pairs after ``burn_in`` into ``counts``."""
    t_ref, m, kappa, w_12, w_21, b_1, b_2 = chain
    counts_right, counts_left, n_spikes = counts
    neuron = EscapeNoise(t_ref, np.log(t_ref))
    recorded = (burn_in, n_steps - 1 - (m + 1))
    for k in range(seeds.shape[0]):
        np.random.seed(seeds[k])  # noqa: NPY002 (numba's own per-thread generator)
        a1 = m - 1
        a2 = m - 1
        starts_r = np.empty(m + 2, dtype=np.int64)  # S = neuron 2, O = neuron 1 (dt = t_1 - t_2 > 0)
        starts_l = np.empty(m + 2, dtype=np.int64)  # S = neuron 1, O = neuron 2 (dt < 0)
        n_r = 0
        n_l = 0
        tr_r = -(10 * m)
        tr_l = -(10 * m)
        for t in range(n_steps):
            ap1 = min(a1 + 1, m - 1)
            ap2 = min(a2 + 1, m - 1)
            u1 = b_1 + w_12 * kappa[ap2]
            u2 = b_2 + w_21 * kappa[ap1]
            r1 = np.random.random()  # noqa: NPY002
            r2 = np.random.random()  # noqa: NPY002
            f1 = fires(r1, u1, ap1, neuron)
            f2 = fires(r2, u2, ap2, neuron)
            a1 = 0 if f1 else ap1
            a2 = 0 if f2 else ap2
            if t >= burn_in:
                n_spikes[k, 0] += f1
                n_spikes[k, 1] += f2
            n_r, tr_r = _pair_event(f2, f1, t, m, starts_r, n_r, tr_r, counts_right, k, recorded)
            n_l, tr_l = _pair_event(f1, f2, t, m, starts_l, n_l, tr_l, counts_left, k, recorded)


@dataclass
class MonteCarloSTDD:
    """Pair counts of simulated chains, per chain (rows) and lag ``L = 1..t_max-1`` (columns).

    ``counts_right[k, L-1]``: pairs at ``dt = +L`` (neuron 2 first); ``counts_left``: ``dt = -L``.
    """

    counts_right: np.ndarray
    counts_left: np.ndarray
    n_spikes: np.ndarray
    t_max: int

    @property
    def dt(self) -> np.ndarray:
        return np.arange(-self.t_max + 1, self.t_max)

    def p(self) -> np.ndarray:
        """Pooled estimate on ``dt = -(M-1)..M-1`` with each half normalised to 1/2 (middle bin 0)."""
        right = 0.5 * self.counts_right.sum(0) / self.counts_right.sum()
        left = 0.5 * self.counts_left.sum(0) / self.counts_left.sum()
        return np.concatenate([left[::-1], [0.0], right])

    def standard_error(self) -> np.ndarray:
        """Per-bin standard error of :meth:`p` from the spread across independent chains.

        Each half is a ratio estimator ``p(L) = 0.5 sum_k n_k(L) / sum_k N_k`` (``N_k`` = pairs of
        chain ``k``); with chains i.i.d., the delta method gives
        ``Var p(L) = 0.25 * s^2 / (K * mean(N)^2)`` where ``s^2`` is the sample variance over chains of
        ``n_k(L) - 2 p(L) N_k``.  Using the spread across chains accounts for the serial correlation
        of pairs within a chain, which a binomial formula would ignore.
        """
        out = []
        for counts in (self.counts_left, self.counts_right):
            n_k = counts.sum(1)
            k = counts.shape[0]
            ratio = counts.sum(0) / n_k.sum()
            resid = counts - ratio[None, :] * n_k[:, None]
            var = resid.var(0, ddof=1) / (k * n_k.mean() ** 2)
            out.append(0.5 * np.sqrt(var))
        left, right = out
        return np.concatenate([left[::-1], [np.inf], right])

    def sal(self, kernel: np.ndarray) -> tuple[float, float]:
        """SAL estimate ``sum_dt p(dt) K(dt)`` (``K`` on :attr:`dt`) and its standard error.

        The error combines the two halves' ratio-estimator variances (delta method over chains, as in
        :meth:`standard_error`; the halves are treated as independent, a slight approximation).
        """
        m = self.t_max
        k_left = np.asarray(kernel, dtype=float)[: m - 1][::-1]  # lags L = 1..M-1 at dt = -L
        k_right = np.asarray(kernel, dtype=float)[m:]
        est, var = 0.0, 0.0
        for counts, kk in ((self.counts_left, k_left), (self.counts_right, k_right)):
            y = counts @ kk
            x = counts.sum(1)
            ratio = y.sum() / x.sum()
            est += 0.5 * ratio
            var += 0.25 * np.var(y - ratio * x, ddof=1) / (len(x) * x.mean() ** 2)
        return float(est), float(np.sqrt(var))


def simulate_stdd(
    w_12: float,
    w_21: float,
    b_1: float,
    b_2: float,
    setup: SalSetup | None = None,
    *,
    n_chains: int = 64,
    n_steps: int = 20_000,
    burn_in: int = 200,
    seed: int = 0,
    **setting: Any,
) -> MonteCarloSTDD:
    """Simulate ``n_chains`` independent chains for ``n_steps`` steps and count pairs (module docstring).

    Each chain has its own seed derived from ``seed`` (:func:`spikealign.seeding.replica_seeds`);
    the same ``seed`` gives the same counts.  The chain is ``setup`` (its ``t_ref``, ``t_max``,
    ``psp``, ``t_syn``) or those fields as keywords, as in
    :func:`~spikealign.theory.distribution.sal_batch`.
    """
    setup = with_setup(setup, setting)
    t_ref, t_max = setup.times()
    ts = check_psp(setup.psp, setup.t_syn, t_ref)
    for name, v in (("w_12", w_12), ("w_21", w_21), ("b_1", b_1), ("b_2", b_2)):
        check_finite(name, v)
    kappa = kernel_table(setup.psp, t_ref, t_max, ts)
    seeds = (replica_seeds(seed, n_chains, "theory-chain-mc") % np.uint64(2**32)).astype(np.int64)
    right = np.zeros((n_chains, t_max - 1))
    left = np.zeros((n_chains, t_max - 1))
    spikes = np.zeros((n_chains, 2))
    chain = Chain(t_ref, t_max, kappa, float(w_12), float(w_21), float(b_1), float(b_2))
    _simulate_chains(seeds, int(n_steps), int(burn_in), chain, PairCounts(right, left, spikes))
    return MonteCarloSTDD(right, left, spikes, t_max)
