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
step, and stepping through time is cheaper.  Each neuron keeps a survival product instead of
drawing a uniform every step:

* when neuron ``i`` spikes it draws ``U_i`` uniform on (0, 1] (one random number per spike) and
  sets ``R_i = 1 / U_i``; every step it is eligible, ``R_i <- R_i (1 - rho_i)`` and it spikes at the
  first step with ``R_i < 1``.  Given no spike so far, that happens at step ``t`` with probability
  ``rho_i(t)`` (the product falls below ``U_i`` there), so this samples the process exactly;
  ``1 - rho_i = q_i / (1 + q_i)`` with ``q_i = t_ref e^{-u_i}``: one division per neuron and step,
  vectorised in float32 (a hazard below ``2^-25`` per step, ``u_i < ln t_ref - 17.3``, rounds to
  zero);
* the spikes of a step multiply ``q`` by the product of their columns of ``e^{-W}`` (float32, the
  dense columns read four at a time), which is kept and divides ``q`` again ``tau_syn`` steps
  later: one pass over the neurons per step for all PSPs switching on and off.  Every
  ``RESYNC_STEPS`` steps ``q`` is recomputed (in float64) from the PSPs that are on, so the float32
  rounding of the running product cannot drift.  Weights with at most ``SPARSE_MAX_FRACTION``
  non-zero are stored as CSR columns (a scattered update costs more than a contiguous one, so
  denser ones are faster as dense columns).  Potentials must stay within ``+-POTENTIAL_MAX``
  (float32's range for ``q``); ``kernel="auto"`` falls back to the event kernel otherwise.

``simulate_spikes_fast`` picks the event kernel for ``N <= EVENT_MAX_N`` and the per-step kernel
above; ``bench sampling_scaling`` measures them side by side with the exact kernel.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from ..errors import UserError
from ..spiking.bitscan import trailing_zeros
from ..spiking.neuron import escape_rate
from .simulator import (
    NEVER,
    TABLE_MAX_N,
    SpikeTrains,
    _as_seeds,
    _collect,
    _next_u64,
    _uniform,
    check_network,
    seed_states,
)

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
    """One replica's weights for the per-step kernel, column by column (``j``: the presynaptic neuron).

    Dense: column ``j`` is ``[j N, (j + 1) N)`` of the flat arrays (rows 0 .. N-1); sparse (CSR):
    ``[ptr[j], ptr[j + 1])``, rows ``idx``.  ``factor`` holds ``f_ij = e^{-W_ij}``
    rounded to float32 (``q_i = t_ref e^{-u_i}`` is multiplied by it when the PSP of ``j`` switches on
    and divided by it when it switches off: float32 halves the bytes a spike reads; it shifts a
    weight by at most 6e-8).
    """

    factor: np.ndarray  # float32
    ptr: np.ndarray  # (N + 1,) int64 (sparse)
    idx: np.ndarray  # int32 rows (sparse)
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


def _ziggurat_tables(n: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Marsaglia and Tsang's (2000) ziggurat of the density ``e^{-x}`` with ``n`` layers of equal area, for
    53-bit integers ``j``: ``x = j w[i]``; accepted at once when ``j < k[i]`` (inside layer ``i``'s core);
    ``f[i] = e^{-x_i}``.  Layer 0 is the base strip with the tail beyond ``ZIGGURAT_R``."""
    m = 2.0**53
    r = ZIGGURAT_R
    v = 3.949659822581572e-3  # the layers' common area
    k = np.zeros(n, dtype=np.uint64)
    w = np.zeros(n)
    f = np.zeros(n)
    q = v / np.exp(-r)
    k[0] = np.uint64((r / q) * m)
    w[0], w[n - 1] = q / m, r / m
    f[0], f[n - 1] = 1.0, np.exp(-r)
    x, x_prev = r, r
    for i in range(n - 2, 0, -1):
        x = -np.log(v / x + np.exp(-x))
        k[i + 1] = np.uint64((x / x_prev) * m)
        x_prev = x
        f[i] = np.exp(-x)
        w[i] = x / m
    return k, w, f


ZIGGURAT_R = 7.697117470131487  # the base strip's edge: beyond it, the tail
_ZIG_K, _ZIG_W, _ZIG_F = _ziggurat_tables()


@nb.njit(cache=True, inline="always")
def _exp_variate(rng: np.ndarray) -> float:
    """``E ~ Exp(1)`` from the xoshiro256** state ``rng``, by the ziggurat (one 64-bit draw 99 % of the time:
    layer from the low 8 bits, position from the high 53); the tail by memorylessness, ``R - ln(1 - U)``."""
    while True:
        bits = _next_u64(rng)
        i = np.int64(bits & np.uint64(255))
        j = bits >> np.uint64(11)
        if j < _ZIG_K[i]:
            return np.float64(j) * _ZIG_W[i]
        if i == 0:
            return ZIGGURAT_R - np.log(1.0 - _uniform(rng))
        x = np.float64(j) * _ZIG_W[i]
        if _ZIG_F[i] + _uniform(rng) * (_ZIG_F[i - 1] - _ZIG_F[i]) < np.exp(-x):
            return x


@nb.njit(cache=True)
def _budget_phase(W: np.ndarray, b: np.ndarray, tables: HazardTables, timing: Timing, rng: np.ndarray,
                  out: SpikeBuffer) -> np.int64:  # fmt: skip
    """One replica, ``timing.T`` steps from silence, with the budget event kernel (module docstring).

    Spikes go to ``out``; returns their number.  ``rng`` is the replica's xoshiro256** state.
    """
    T, t_ref, tau_syn = timing
    N = b.size
    use_tab = tables.lam.shape[0] > 0
    tab_lam, tab_inv = tables.lam, tables.inv
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
            for i in range(N):  # (indexing the tables directly: a row view would cost reference counting per event)
                budget[i] -= lam[i] * max(change - start[i], 0.0)
                start[i] = max(start[i], change)
                lam[i] = tab_lam[mask, i]
                nxt[i] = start[i] + np.floor(min(max(budget[i] * tab_inv[mask, i], 0.0), AIM_MAX))
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
def _budget_batch(W, b, timing: Timing, rng, times, ids, nspk):
    """``_budget_phase`` for every replica (prange)."""
    R, N = b.shape
    for r in nb.prange(R):
        if N <= TABLE_MAX_N:
            tables = _hazard_tables(W[r], b[r], timing.t_ref)
        else:
            tables = HazardTables(np.empty((0, N)), np.empty((0, N)))
        nspk[r] = _budget_phase(W[r], b[r], tables, timing, rng[r], SpikeBuffer(times[r], ids[r]))


# --------------------------------------------------------------------------- per-step kernel
RESYNC_STEPS = 1 << 14  # q is recomputed from the active PSPs this often (bounds its float32 rounding drift)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _product_of_columns(products, slot, f, ptr, idx, sparse, ring, n):
    """``products[slot, i] = prod_m f_{i, ring[slot, m]}`` over ``m < n``: the factor by which the PSPs of
    one step's spikes scale ``q`` (``f``: the float32 ``e^{-W}``, flat by column, or CSR with ``ptr``,
    ``idx``).  Multiplied in the order of the spikes for dense and sparse storage alike (the same
    bits); dense columns are read up to four at a time (four streams from the cache at once), indexed
    with unsigned offsets so that the loops compile to SIMD instructions."""
    N = products.shape[1]
    if sparse:
        for i in range(N):
            products[slot, i] = 1.0
        for m in range(n):
            j = ring[slot, m]
            for k in range(ptr[j], ptr[j + 1]):
                products[slot, idx[k]] *= f[k]
        return
    m = 0
    while m < n:
        step = min(n - m, 4)
        o0 = np.uint64(ring[slot, m] * N)
        o1 = np.uint64(ring[slot, m + min(1, step - 1)] * N)
        o2 = np.uint64(ring[slot, m + min(2, step - 1)] * N)
        o3 = np.uint64(ring[slot, m + step - 1] * N)
        first = m == 0  # the product starts here (1 * f = f: the same bits as the sparse path)
        if step == 1:
            for i in range(N):
                c = f[o0 + np.uint64(i)]
                products[slot, i] = c if first else products[slot, i] * c
        elif step == 2:
            for i in range(N):
                k = np.uint64(i)
                c = (products[slot, i] if not first else np.float32(1.0)) * f[o0 + k]
                products[slot, i] = c * f[o1 + k]
        elif step == 3:
            for i in range(N):
                k = np.uint64(i)
                c = (products[slot, i] if not first else np.float32(1.0)) * f[o0 + k]
                products[slot, i] = (c * f[o1 + k]) * f[o2 + k]
        else:
            for i in range(N):
                k = np.uint64(i)
                c = (products[slot, i] if not first else np.float32(1.0)) * f[o0 + k]
                products[slot, i] = ((c * f[o1 + k]) * f[o2 + k]) * f[o3 + k]
        m += step


@nb.njit(cache=True, error_model="numpy")
def _resync(q, b, ring, ring_n, weights, t_ref):
    """``q_i = t_ref e^{-b_i} prod_j f_ij`` (float64, then rounded to float32) over the PSPs in ``ring``:
    removes the rounding that multiplying and dividing ``q`` accumulated."""
    N = b.shape[0]
    f = weights.factor
    exact = np.empty(N)
    for i in range(N):
        exact[i] = t_ref * np.exp(-b[i])
    for slot in range(ring_n.shape[0]):
        for m in range(ring_n[slot]):
            j = ring[slot, m]
            if weights.sparse:
                for k in range(weights.ptr[j], weights.ptr[j + 1]):
                    exact[weights.idx[k]] *= f[k]
            else:
                for i in range(N):
                    exact[i] *= f[j * N + i]
    for i in range(N):
        q[i] = np.float32(exact[i])


@nb.njit(cache=True, inline="always")
def _survival_threshold(rng: np.ndarray) -> np.float32:
    """``1 / U`` with ``U`` uniform on (0, 1] (24 bits): a neuron spikes once its survival product falls
    below ``U``."""
    return np.float32(16777216.0) / np.float32((_next_u64(rng) >> np.uint64(40)) + np.uint64(1))


@nb.njit(cache=True, error_model="numpy")
def _step_phase(weights: StepWeights, b, timing: Timing, rng, out: SpikeBuffer):
    """One replica, ``timing.T`` steps from silence; records spikes; returns their number.

    Neuron ``i`` keeps ``R_i = prod (1 - rho_i) / U_i`` over its eligible steps since its last spike
    (``U_i`` drawn then) and spikes at the first step with ``R_i < 1``; ``1 - rho_i = q_i / (1 + q_i)``
    with ``q_i = t_ref e^{-u_i}``.  The spikes of a step multiply ``q`` by the product of their
    columns of ``e^{-W}``, which is kept in ``products`` and divides ``q`` again ``tau_syn`` steps
    later; both are applied in the next step's decision pass (row ``width`` of ``products``: ones).
    """
    T, t_ref, tau_syn = timing
    N = b.shape[0]
    q = np.empty(N, dtype=np.float32)
    R = np.empty(N, dtype=np.float32)
    for i in range(N):
        R[i] = _survival_threshold(rng)
    elig = np.zeros(N, dtype=np.int32)  # first step at which i may spike (steps < 2**31)
    width = max(int(tau_syn), 1)
    ring = np.empty((width, N), dtype=np.int64)  # spikes of the last tau_syn steps: the PSPs on
    ring_n = np.zeros(width, dtype=np.int64)
    products = np.ones((width + 1, N), dtype=np.float32)  # the factor of each slot's spikes; then ones
    _resync(q, b, ring, ring_n, weights, t_ref)
    n_words = (N + 7) // 8
    fired = np.zeros(8 * n_words, dtype=np.uint8)
    fired_words = fired.view(np.uint64)  # eight neurons at a time: a step without spikes is skipped fast
    one = np.float32(1.0)
    f, ptr, idx, sparse = weights.factor, weights.ptr, weights.idx, weights.sparse  # hoisted: no refcounts
    times, ids = out.times, out.ids
    n_spikes = 0
    slot = 0  # t % width: where the spikes of step t go
    on_slot = off_slot = width  # the PSPs switching on / off before this step's decision (width: none)
    for t in range(T):
        t32 = np.int32(t)
        if on_slot == width and off_slot == width:
            for i in range(N):  # the survival products and the spike decision (vectorised, float32)
                qi = q[i]
                eligible = t32 >= elig[i]
                r = R[i] * (qi / (one + qi))
                R[i] = r if eligible else R[i]
                fired[i] = eligible & (r < one)
        else:
            for i in range(N):  # the same, after the PSPs switching on and off scale q
                qi = q[i] * products[on_slot, i] / products[off_slot, i]
                q[i] = qi
                eligible = t32 >= elig[i]
                r = R[i] * (qi / (one + qi))
                R[i] = r if eligible else R[i]
                fired[i] = eligible & (r < one)
        nf = 0
        for w in range(n_words):
            word = fired_words[w]
            while word != 0:  # the fired neurons among these eight, lowest first (a fired byte is 0x01)
                low: np.uint64 = trailing_zeros(word)  # type: ignore[call-arg]  # an intrinsic: numba passes the typing context
                i = 8 * w + int(low >> np.uint64(3))
                word &= word - np.uint64(1)
                elig[i] = np.int32(t + t_ref + 1)
                R[i] = _survival_threshold(rng)
                times[n_spikes] = t
                ids[n_spikes] = i
                n_spikes += 1
                ring[slot, nf] = i
                nf += 1
        on_slot = off_slot = width
        if tau_syn > 1:  # step t + 1: the spikes of t act, those of t + 1 - tau_syn stop acting
            nxt = slot + 1 if slot + 1 < width else 0
            if nf > 0:
                _product_of_columns(products, slot, f, ptr, idx, sparse, ring, nf)
                on_slot = slot
            if ring_n[nxt] > 0:
                off_slot = nxt  # read in the next decision pass, before step t + 1's spikes overwrite it
            ring_n[slot] = nf
            ring_n[nxt] = 0
            slot = nxt
            if t % RESYNC_STEPS == RESYNC_STEPS - 1:  # q from the PSPs on at t + 1: nothing left to apply
                _resync(q, b, ring, ring_n, weights, t_ref)
                on_slot = off_slot = width
    return n_spikes


@nb.njit(cache=True, parallel=True)
def _step_batch(weights: StepWeights, b, timing: Timing, rng, times, ids, nspk):
    """``_step_phase`` for every replica (prange); ``weights`` holds every replica's arrays stacked."""
    for r in nb.prange(b.shape[0]):
        w = StepWeights(weights.factor[r], weights.ptr[r], weights.idx[r], weights.sparse)
        nspk[r] = _step_phase(w, b[r], timing, rng[r], SpikeBuffer(times[r], ids[r]))


def _csr_columns(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per replica, the non-zero entries of every column ``j`` of ``W[r]`` (rows ``idx``, values ``val``),
    padded to the largest count over the replicas."""
    R, N, _ = W.shape
    nz = [np.nonzero(W[r].T) for r in range(R)]
    width = max(1, max(len(j) for j, _ in nz))
    ptr = np.zeros((R, N + 1), dtype=np.int64)
    idx = np.zeros((R, width), dtype=np.int32)
    val = np.zeros((R, width))
    for r, (j, i) in enumerate(nz):
        ptr[r, 1:] = np.cumsum(np.bincount(j, minlength=N))
        idx[r, : len(i)] = i
        val[r, : len(i)] = W[r, i, j]
    return ptr, idx, val


SPARSE_MAX_FRACTION = 0.0625  # CSR columns when at most this fraction of the weights is non-zero


def _step_weights(W: np.ndarray) -> StepWeights:
    """Every replica's weights for the per-step kernel (CSR columns when few are non-zero: a scattered
    update costs several times a contiguous one)."""
    R, N, _ = W.shape
    sparse = bool(np.count_nonzero(W) <= SPARSE_MAX_FRACTION * W.size)
    if sparse:
        ptr, idx, w = _csr_columns(W)
    else:
        ptr, idx = np.zeros((R, 1), np.int64), np.zeros((R, 1), np.int32)
        w = np.ascontiguousarray(W.transpose(0, 2, 1)).reshape(R, N * N)
    factor = np.exp(-w).astype(np.float32)
    return StepWeights(factor, ptr, idx, sparse)


POTENTIAL_MAX = 80.0  # the per-step kernel's float32 q = t_ref e^-u stays finite and non-zero within |u| <= 80


def potential_reach(W: np.ndarray, b: np.ndarray, t_ref: int, tau_syn: int) -> float:
    """The largest ``|u_i|`` the network can reach: ``|b_i| + sum_j |W_ij| k`` with ``k`` the most PSPs of
    one neuron that can be on at once (``ceil((tau_syn - 1) / (t_ref + 1))``)."""
    k = max(0, -(-(int(tau_syn) - 1) // (int(t_ref) + 1)))
    return float(np.max(np.abs(b) + k * np.abs(W).sum(axis=2))) if b.size else 0.0


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
    per spike; best for small networks), ``"per_step"`` (a survival product per neuron and step;
    best for large ones) or ``"auto"`` (event for ``N <= EVENT_MAX_N`` and for potentials that may
    leave ``+-POTENTIAL_MAX``, per-step otherwise).
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
    timing = Timing(np.int64(T), np.int64(t_ref), np.int64(tau_syn))
    reach = potential_reach(W, b, t_ref, tau_syn)
    if kernel == "per_step" and reach > POTENTIAL_MAX:
        raise UserError(
            f"kernel 'per_step' keeps t_ref e^-u in float32 and needs |u| <= {POTENTIAL_MAX:g}, but these "
            f"weights and biases can reach |u| = {reach:.3g}; use kernel='event' or 'auto'"
        )
    if kernel == "event" or (kernel == "auto" and (N <= EVENT_MAX_N or reach > POTENTIAL_MAX)):
        _budget_batch(W, b, timing, seed_states(seeds), times, ids, nspk)
    else:
        _step_batch(_step_weights(W), b, timing, seed_states(seeds), times, ids, nspk)
    return _collect(times, ids, nspk, N, T)
