r"""Fast sampling kernels: an event kernel with one random draw per spike, a per-step kernel for large N.

The process is the one of :mod:`spikealign.sampling.simulator` (``W[post, pre]``)::

    u_i(t)   = b_i + sum_j W_ij P_j(t),      P_j(t) = #{spikes s of j with 0 < t - s < tau_syn}
    rho_i(t) = 1 / (1 + t_ref * exp(-u_i(t)))
    i spikes at t  with probability rho_i(t)  iff  t >= s_i + t_ref + 1

Both kernels draw other random numbers than the exact kernel (``simulate_spikes``, which stays the
default and the one the trainer uses): their spike trains are other samples of the same process
(tests/sampling/test_simulator_fast.py compares rates and pairwise activity over seeds).

**Event kernel (small N).**  Between events (a spike, or a PSP switching off) every hazard
``lambda_i = -ln(1 - rho_i) = ln(1 + e^{u_i} / t_ref)`` is constant.  Each neuron holds a budget
``E_i ~ Exp(1)``, drawn when it spikes and counted from the step ``s_i`` its refractoriness ends; it
spikes at ``s_i + floor(E_i / lambda_i)`` (``P(no spike in k steps) = e^{-k lambda_i} = (1 -
rho_i)^k``).  When its potential changes at step ``c`` before that spike (time rescaling)::

    E_i <- E_i - lambda_i (c - s_i),   s_i <- c,   lambda_i <- lambda_i(new u)     (only if c > s_i)

The spent budget's remainder is again Exp(1) given no spike before ``c`` (memorylessness), so the
next spike step is drawn exactly without a new random number: one exponential variate per spike
instead of one per eligible neuron and event (the exact kernel's redraws).  For N <=
``TABLE_MAX_N`` ``lambda`` and ``1 / lambda`` are read from per-phase tables over the 2^N patterns of
active PSPs; PSP ends wait in a first-in-first-out queue (they end in the order the spikes came).
Its cost per event is O(N): the paper's N = 7 networks.

**Per-step kernel (large N).**  With many spikes per step every potential changes many times per
step, and stepping through time is cheaper:

* every step, every neuron compares a counter-based uniform (:mod:`spikealign.spiking.counter_rng`,
  a hash of ``(seed, step, neuron)``) with its probability, written without a division or a libm
  call as ``xi (1 + e^{\ln t_ref - u_i}) < 1`` (float32 exponential, relative error below 2e-6);
* a spike adds its column of ``W`` to the potentials at the next step and removes it ``tau_syn``
  steps after it (float64 sums of the float32-rounded weights, so the sums do not drift; sparse
  weights, at most half non-zero, as CSR columns).

``simulate_spikes_fast`` picks the event kernel for ``N <= EVENT_MAX_N`` and the per-step kernel
above; ``bench sampling_scaling`` measures them side by side with the exact kernel.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from ..errors import UserError
from ..spiking.counter_rng import EXP_RANGE, exp32, tick_key, uniform
from ..spiking.neuron import escape_rate
from .simulator import NEVER, TABLE_MAX_N, SpikeTrains, _as_seeds, _collect, _uniform, check_network, seed_states

__all__ = ["EVENT_MAX_N", "KERNELS", "simulate_spikes_fast"]

EVENT_MAX_N = TABLE_MAX_N  # simulate_spikes_fast: event kernel up to here, per-step kernel above
KERNELS = ("auto", "event", "per_step")
AIM_MAX = 1e15  # a spike aimed further than this many steps ahead: never (beyond any phase, exact in float64)
INV_MAX_RECIPROCAL = 1e-300  # 1 / lambda is capped at 1e300 (lambda = 0: no spike; budget 0 stays 0, no NaN)


class Timing(NamedTuple):
    """The phase's length and the neurons' time constants, in steps."""

    T: np.int64  # steps simulated
    t_ref: np.int64  # refractory period: a neuron spiking at s may spike again at s + t_ref + 1
    tau_syn: np.int64  # PSP of a spike at s is on for s + 1 .. s + tau_syn - 1


class SpikeBuffer(NamedTuple):
    """Where a kernel writes one replica's spikes (step, neuron); capacity ``times.size``."""

    times: np.ndarray  # int32
    ids: np.ndarray  # int16


class HazardTables(NamedTuple):
    """``lam[m, i] = ln(1 + e^{b_i + sum_{j in m} W_ij} / t_ref)`` and ``inv = 1 / lam`` for every
    PSP pattern ``m`` (bit j: PSP of j on); zero rows: no tables (computed from the potential)."""

    lam: np.ndarray  # (2^N, N) or (0, N)
    inv: np.ndarray  # (2^N, N) or (0, N)


class StepWeights(NamedTuple):
    """One replica's weights for the per-step kernel: dense columns or CSR columns."""

    WT: np.ndarray  # (N, N) float32, WT[j] = W[:, j] (dense) or (1, 1) unused
    ptr: np.ndarray  # (N + 1,) int64 column starts (sparse)
    idx: np.ndarray  # row of each non-zero (sparse)
    val: np.ndarray  # float32 value of each non-zero (sparse)
    sparse: bool


# --------------------------------------------------------------------------- event kernel
@nb.njit(cache=True)
def _hazard_tables(W: np.ndarray, b: np.ndarray, t_ref: np.int64) -> HazardTables:
    """The :class:`HazardTables` of the network ``(W, b)``: potentials summed over the patterns in
    Gray-code-free order (pattern ``m`` = pattern ``m`` without its lowest bit ``j``, plus ``W[:, j]``)."""
    N = b.size
    M = np.int64(1) << N
    lam = np.empty((M, N))
    inv = np.empty((M, N))
    uu = np.empty((M, N))
    uu[0] = b
    for m in range(1, M):
        j = 0
        while not (m >> j) & 1:
            j += 1
        prev = m ^ (np.int64(1) << j)
        for i in range(N):
            uu[m, i] = uu[prev, i] + W[i, j]
    for m in range(M):
        for i in range(N):
            lam[m, i] = escape_rate(uu[m, i], t_ref)
            inv[m, i] = 1.0 / max(lam[m, i], INV_MAX_RECIPROCAL)
    return HazardTables(lam, inv)


@nb.njit(cache=True, inline="always")
def _exp_variate(rng: np.ndarray) -> float:
    """``E ~ Exp(1)`` from the xoshiro256** state ``rng`` (``-ln(1 - U)``, ``1 - U`` in (0, 1])."""
    return -np.log(1.0 - _uniform(rng))


@nb.njit(cache=True)
def _budget_phase(W: np.ndarray, b: np.ndarray, tables: HazardTables, timing: Timing, rng: np.ndarray,
                  out: SpikeBuffer) -> np.int64:  # fmt: skip
    """One replica, ``timing.T`` steps from silence, with the budget event kernel (module docstring).

    Spikes go to ``out``; returns their number.  ``rng`` is the replica's xoshiro256** state.
    """
    T, t_ref, tau_syn = timing
    N = b.size
    use_tab = tables.lam.shape[0] > 0
    u = b.copy()
    WT = np.ascontiguousarray(W.T)  # WT[j] = W[:, j]: the potentials a PSP of j changes
    mask = np.int64(0)
    budget = np.empty(N)  # E_i, counted from step start[i]
    start = np.zeros(N)  # steps as float64 (exact below 2**53): the loops over neurons vectorise
    lam = np.zeros(N)
    nxt = np.empty(N)
    q_time = np.empty(N + 1)  # PSP ends, first in first out (at most one per neuron)
    q_id = np.empty(N + 1, dtype=np.int64)
    q_head = 0
    q_len = 0
    for i in range(N):
        budget[i] = _exp_variate(rng)
    n_spikes = np.int64(0)
    change = 0.0  # the potentials changed from this step on
    T_f = np.float64(T)
    never = np.float64(NEVER)
    while True:
        # the hazards from step `change` on: spend the budgets up to it, re-aim (branch-free: vectorises)
        if use_tab:
            lam_m = tables.lam[mask]
            inv_m = tables.inv[mask]
            for i in range(N):
                budget[i] -= lam[i] * max(change - start[i], 0.0)
                start[i] = max(start[i], change)
                lam[i] = lam_m[i]
                nxt[i] = start[i] + np.floor(min(max(budget[i] * inv_m[i], 0.0), AIM_MAX))
        else:
            for i in range(N):
                budget[i] -= lam[i] * max(change - start[i], 0.0)
                start[i] = max(start[i], change)
                lam[i] = escape_rate(u[i], t_ref)
                nxt[i] = start[i] + np.floor(min(max(budget[i] / max(lam[i], INV_MAX_RECIPROCAL), 0.0), AIM_MAX))
        tf = never
        for i in range(N):
            tf = min(tf, nxt[i])
        toff = q_time[q_head] if q_len > 0 else never
        if toff <= tf and toff < T_f:  # PSPs end: from step toff on
            while q_len > 0 and q_time[q_head] == toff:
                j = q_id[q_head]
                q_head = q_head + 1 if q_head < N else 0
                q_len -= 1
                if use_tab:
                    mask &= ~(np.int64(1) << j)
                else:
                    for i in range(N):
                        u[i] -= WT[j, i]
            change = toff
            continue
        if tf >= T_f:
            break
        for i in range(N):
            if nxt[i] == tf:  # spikes at tf: a new budget from the end of refractoriness on
                out.times[n_spikes] = np.int32(tf)
                out.ids[n_spikes] = i
                n_spikes += 1
                budget[i] = _exp_variate(rng)
                start[i] = tf + t_ref + 1
                if tau_syn > 1:  # the PSP acts from tf + 1 on and ends at tf + tau_syn
                    tail = q_head + q_len
                    tail = tail - (N + 1) if tail > N else tail
                    q_time[tail] = tf + tau_syn
                    q_id[tail] = i
                    q_len += 1
                    if use_tab:
                        mask |= np.int64(1) << i
                    else:
                        for k in range(N):
                            u[k] += WT[i, k]
        change = tf + 1
    return n_spikes


@nb.njit(cache=True, parallel=True)
def _budget_batch(W, b, t_ref_tau_syn, T, rng, times, ids, nspk):
    """``_budget_phase`` for every replica (prange); ``t_ref_tau_syn`` = (t_ref, tau_syn)."""
    R, N = b.shape
    timing = Timing(T, t_ref_tau_syn[0], t_ref_tau_syn[1])
    for r in nb.prange(R):
        if N <= TABLE_MAX_N:
            tables = _hazard_tables(W[r], b[r], timing.t_ref)
        else:
            tables = HazardTables(np.empty((0, N)), np.empty((0, N)))
        nspk[r] = _budget_phase(W[r], b[r], tables, timing, rng[r], SpikeBuffer(times[r], ids[r]))


# --------------------------------------------------------------------------- per-step kernel
@nb.njit(cache=True, error_model="numpy")
def _add_column(u, j, weights, sign):
    """``u += sign * W[:, j]`` from the CSR columns of ``weights``."""
    for k in range(weights.ptr[j], weights.ptr[j + 1]):
        u[weights.idx[k]] += sign * weights.val[k]


@nb.njit(cache=True, error_model="numpy")
def _add_dense(u, col, sign):
    """``u += sign * col``."""
    for i in range(u.shape[0]):
        u[i] += sign * col[i]


@nb.njit(cache=True, error_model="numpy")
def _switch_psp(u, j, weights, sign):
    """The PSP of ``j`` switches on (``sign`` 1) or off (-1): ``u += sign * W[:, j]``."""
    if weights.sparse:
        _add_column(u, j, weights, sign)
    else:
        _add_dense(u, weights.WT[j], sign)


@nb.njit(cache=True, error_model="numpy")
def _step_phase(weights: StepWeights, b, timing: Timing, key, out: SpikeBuffer):
    """One replica, ``timing.T`` steps from silence; records spikes; returns their number."""
    T, t_ref, tau_syn = timing
    N = b.shape[0]
    u = b.copy()
    elig = np.zeros(N, dtype=np.int32)  # first step at which i may spike (steps < 2**31)
    ring = np.empty((max(tau_syn, 1), N), dtype=np.int64)  # spikes of the last tau_syn steps
    ring_n = np.zeros(max(tau_syn, 1), dtype=np.int64)
    sv = np.empty(N, dtype=np.int32)
    fired = np.empty(N, dtype=np.int64)
    lim = np.float32(EXP_RANGE - 1)
    log_t_ref = np.float32(np.log(t_ref))
    n_spikes = 0
    for t in range(T):
        slot = t % tau_syn
        if tau_syn > 1:  # the PSPs of the spikes tau_syn steps ago end now
            for m in range(ring_n[slot]):
                _switch_psp(u, ring[slot, m], weights, -1.0)
        tkey = tick_key(key, t, 0, 1)
        t32 = np.int32(t)
        for i in range(N):  # the spike decision (vectorised)
            x = min(max(log_t_ref - np.float32(u[i]), -lim), lim)
            sv[i] = (t32 >= elig[i]) & (uniform(tkey, i) * (np.float32(1.0) + exp32(x)) < np.float32(1.0))
        nf = 0
        for i in range(N):  # compaction, branch-free
            fired[nf] = i
            nf += sv[i]
        for m in range(nf):
            i = fired[m]
            elig[i] = np.int32(t + t_ref + 1)
            out.times[n_spikes] = t
            out.ids[n_spikes] = i
            n_spikes += 1
            if tau_syn > 1:  # the PSP acts from the next step on
                ring[slot, m] = i
                _switch_psp(u, i, weights, 1.0)
        ring_n[slot] = nf if tau_syn > 1 else 0
    return n_spikes


@nb.njit(cache=True, parallel=True)
def _step_batch(weights: StepWeights, b, timing: Timing, keys, times, ids, nspk):
    """``_step_phase`` for every replica (prange); ``weights`` holds every replica's arrays stacked."""
    for r in nb.prange(b.shape[0]):
        w = StepWeights(weights.WT[r], weights.ptr[r], weights.idx[r], weights.val[r], weights.sparse)
        nspk[r] = _step_phase(w, b[r], timing, keys[r], SpikeBuffer(times[r], ids[r]))


def _csr_columns(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per replica, the non-zero entries of every column ``j`` of ``W[r]`` (rows ``idx``, values ``val``),
    padded to the largest count over the replicas."""
    R, N, _ = W.shape
    nz = [np.nonzero(W[r].T) for r in range(R)]
    width = max(1, max(len(j) for j, _ in nz))
    ptr = np.zeros((R, N + 1), dtype=np.int64)
    idx = np.zeros((R, width), dtype=np.int64)
    val = np.zeros((R, width), dtype=np.float32)
    for r, (j, i) in enumerate(nz):
        ptr[r, 1:] = np.cumsum(np.bincount(j, minlength=N))
        idx[r, : len(i)] = i
        val[r, : len(i)] = W[r, i, j]
    return ptr, idx, val


def _step_weights(W: np.ndarray) -> StepWeights:
    """Every replica's weights for the per-step kernel (CSR columns when at most half are non-zero)."""
    R = W.shape[0]
    if np.count_nonzero(W) <= W.size // 2:
        ptr, idx, val = _csr_columns(W)
        return StepWeights(np.zeros((R, 1, 1), dtype=np.float32), ptr, idx, val, True)
    WT = np.ascontiguousarray(W.transpose(0, 2, 1), dtype=np.float32)
    return StepWeights(WT, np.zeros((R, 1), np.int64), np.zeros((R, 1), np.int64), np.zeros((R, 1), np.float32), False)


def simulate_spikes_fast(
    W: np.ndarray,
    b: np.ndarray,
    n_steps: int,
    *,
    t_ref: int,
    tau_syn: int,
    seeds: np.ndarray,
    kernel: str = "auto",
) -> SpikeTrains:
    """Simulate R independent free-running networks with a fast kernel (module docstring).

    Same arguments and result as :func:`spikealign.sampling.simulate_spikes`; other random numbers
    (``seeds[r]`` seeds replica ``r``), the same process.  ``kernel``: ``"event"`` (one random draw
    per spike; best for small networks), ``"per_step"`` (counter-based uniforms every step; best
    for large ones) or ``"auto"`` (event for ``N <= EVENT_MAX_N``).
    """
    if kernel not in KERNELS:
        raise UserError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    W, b = check_network(W, b, n_steps, t_ref, tau_syn)
    R, N = b.shape
    seeds = _as_seeds(seeds, R)
    T = int(n_steps)
    cap = N * (T // (int(t_ref) + 1) + 1)
    times = np.empty((R, cap), dtype=np.int32)
    ids = np.empty((R, cap), dtype=np.int16)
    nspk = np.zeros(R, dtype=np.int64)
    if kernel == "event" or (kernel == "auto" and N <= EVENT_MAX_N):
        timing = np.array([t_ref, tau_syn], dtype=np.int64)
        _budget_batch(W, b, timing, np.int64(T), seed_states(seeds), times, ids, nspk)
    else:
        timing = Timing(np.int64(T), np.int64(t_ref), np.int64(tau_syn))
        _step_batch(_step_weights(W), b, timing, seeds.astype(np.uint64), times, ids, nspk)
    return _collect(times, ids, nspk, N, T)
