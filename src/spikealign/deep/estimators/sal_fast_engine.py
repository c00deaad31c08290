r"""The fast SAL engine (``engine="fast"``): the same network and rule, its own random stream.

It simulates the network of :mod:`.sal` (see its docstring for the equations) with the
constraints of the exact engines dropped: it is a different sample of the same process, not the
same bits, and is statistically equivalent to them (tests/deep/test_sal_fast_engine.py compares
the W-B angles and spike rates over seeds).

* **Random numbers, counter-based** (:mod:`spikealign.spiking.counter_rng`).  The uniform of
  neuron ``q`` of replica ``r`` at tick ``t`` of a run is a hash of ``(key, t, r, q)``; ``key``
  is drawn from the net's ``torch.Generator`` at the start of every ``run``, so a seed gives the
  same spikes and a saved state continues the stream.
  Every replica draws its own numbers in parallel, independent of the thread count.
* **Spike decision without a libm call**: ``s = [xi (1 + e^{\ln t_ref - u}) < 1]`` on neurons
  outside their refractory period, with a branch- and table-free float32 exponential
  (:func:`~spikealign.spiking.counter_rng.exp32_vec`, relative error below 1.2e-5) and a hash
  in 32-bit lanes, in passes that each write one array, so that they compile to SIMD
  instructions; the spiking neurons are listed with a bit scan over 64-bit words.
* **float32 input sums, work only where neurons spike.**  Every neuron ``q`` of layer ``l`` has
  one outgoing row: its column of ``W_{l+1}`` (forward input of layer ``l + 1``) then its column
  of ``B_{l-1}`` (feedback input of layer ``l - 1``).  A spike adds the row to the replica's
  contribution slot ``P[r, t mod t_ref]``; the input is ``U = \sum_{slots} P`` kept up to date
  as ``U \leftarrow U - P_{old} + P_{new}`` (the slot's previous spikes stop acting after
  ``t_ref`` ticks).  ``U`` is recomputed from the spike memory at the start of every run, so
  the float32 rounding of the running sum never grows beyond one run.  Eight (else four)
  consecutive spikes of one layer share their targets, so their rows are added in one pass over
  the slot: one load and store of the destination for eight rows.
* **Pair terms from one side, grouped by neuron** (:func:`_pair_traces`, :func:`_sal_accumulate`).
  ``\sum_t (-s_i x_j + x_i s_j)`` counts every pair of spikes of ``i`` (at ``a``) and ``j``
  (at ``b``) within ``K`` ticks once, with weight ``+e^{-(b-a)/t_ref}`` when ``j`` spikes later and
  ``-e^{-(a-b)/t_ref}`` when earlier, so it equals ``\sum_a s_i(a) z_j(a)`` with the pair trace
  ``z = y - x``: the backward trace ``y_j(a) = \sum_{m<K} e^{-m/t_ref} s_j(a + m)`` minus the
  trace.  Only the spikes of the lower layer ``l`` do work for ``Delta_l`` (half of the additions
  of reading both layers' traces), but a tick's pair terms wait until its next ``K - 1`` ticks are
  simulated: a group keeps a window of the ``K`` ticks before its block and the block, with the
  spikes as lists; after the block it computes the targets' traces forwards and the backward
  traces backwards over the window (sparse adds of the spikes, one SIMD pass per tick), and every
  neuron adds, for each (tick, replica) in which it spiked, ``z`` of its forward targets to its row
  of ``Delta_l`` in the accumulator, target tile by target tile, eight (else four) rows per pass.
  The window's last ``K`` ticks move to its front for the next block; at the end of a run every
  tick is done (the spikes to come pair with it in the next run).  The net's traces are
  recomputed from the spike memory at the end of the run.
* **Replica groups in parallel, no synchronisation within a run.**  The replicas are split into
  groups of ``REPLICAS_PER_GROUP``; a group is one task that runs the whole run (its blocks and
  their pair terms) into its own accumulator, and the accumulators are summed in group order at
  the end, so the bits do not depend on the thread count and a thread that shares its core with
  another process never holds the other threads up before the run ends.
* **Little serial work per run.**  Each group task zeroes its own accumulator and recomputes its
  replicas' initial inputs; the accumulators are summed in parallel slices (group order kept);
  the outgoing rows are rebuilt only when a weight tensor changed (torch's version counter) and a
  run of zero ticks only draws its key.

Why not blocks of ticks with GEMMs: the layers are coupled both ways within a tick's window
(``u_l`` reads ``z_{l-1}`` and, through ``B_l``, ``z_{l+1}``, one tick back), so no layer can run
ahead of its neighbours, and the inputs must be advanced tick by tick.  The pair terms could be
one GEMM ``S^T Z`` per block, but the dense product does ``1 / rate`` (about 20) times the
work of the event-driven sum.

State is the net's own (``counter``, ``ring``, ``trace``, ``pos``, ``delta``, ``spike_count``),
so ``state_dict``/``load_state_dict``, ``rates`` and ``apply_update`` work unchanged.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np
import torch

from ...spiking.bitscan import trailing_zeros
from ...spiking.counter_rng import EXP_RANGE, exp32_vec, tick_key, uniform
from .sal import _rows_by_neuron

BIG_COUNTER = 1 << 30  # "never spiked", as in the exact engines
#: ticks simulated before their pair terms are accumulated (speed only)
BLOCK_TICKS = 40
#: replicas simulated and accumulated together by one thread (fixed, so the float sums do not
#: depend on the thread count; speed only)
REPLICAS_PER_GROUP = 8
#: targets per accumulation task (speed only: a block's traces of one tile stay in the cache)
ACC_TILE = 512


class FastModel(NamedTuple):
    """What a run reads and never writes: the outgoing rows, their layout and the neuron constants.

    Neuron ``q``'s outgoing row starts at ``out_start[q]`` in ``rows``: ``fwd_len[q]`` weights onto
    the inputs ``fwd_dst[q] ..`` (its column of ``W_{l+1}``), then ``bwd_len[q]`` onto
    ``bwd_dst[q] ..`` (its column of ``B_{l-1}``).
    """

    out_start: np.ndarray
    fwd_len: np.ndarray
    fwd_dst: np.ndarray
    bwd_len: np.ndarray
    bwd_dst: np.ndarray
    rows: np.ndarray  # float32
    c: np.ndarray  # biases, float32
    first_target: np.int64  # the first neuron with forward inputs (layer 1)
    t_ref: np.int64
    log_t_ref: np.float32
    decay: np.floating  # e^{-1/t_ref}, e^{-K/t_ref}, the snap threshold: in the traces' dtype
    decay_k: np.floating
    snap: np.floating


class FastState(NamedTuple):
    """The net's own state arrays (written in place): ticks since the last spike, spike memory, traces."""

    counter: np.ndarray
    ring: np.ndarray
    trace: np.ndarray


class FastWork(NamedTuple):
    """Work arrays of a run.  ``P[r, slot]``: the inputs caused by replica ``r``'s spikes of one of
    the last ``t_ref`` ticks; ``U[r]`` their sum; ``spiked[r]`` a scratch row.  Per replica group
    ``g``: row ``i * n_g + (r - r_g)`` of ``X[g]`` (traces of the targets, then their pair traces),
    ``fired[g]``/``n_fired[g]`` (spiking neurons, ascending) is tick ``i`` of the window (the ``K``
    ticks before the block, then the block) for replica ``r``; ``y[g]`` one replica's forward, then
    backward trace; ``ptr[g]``/``rows_of[g]`` the spikes grouped by neuron; ``acc[g]`` the group's
    pair terms (the rows of every ``Delta_l``, in task order); ``counts[g]`` its spikes per neuron."""

    P: np.ndarray
    U: np.ndarray
    spiked: np.ndarray
    X: np.ndarray
    fired: np.ndarray
    n_fired: np.ndarray
    y: np.ndarray
    ptr: np.ndarray
    rows_of: np.ndarray
    acc: np.ndarray
    counts: np.ndarray


class FastRun(NamedTuple):
    """A run's scalars: its random key, the spike memory's position at its start, its length, the
    block length and the replicas per group."""

    key: np.uint64
    pos: np.int64
    n_ticks: np.int64
    block: np.int64
    replicas_per_group: np.int64


@nb.njit(cache=True, error_model="numpy", inline="always")
def _add(dst, src):
    """``dst += src`` (same length)."""
    for k in range(dst.shape[0]):
        dst[k] += src[k]


@nb.njit(cache=True, error_model="numpy", inline="always")
def _add4(dst, a, b, c, d):
    """``dst += ((a + b) + (c + d))`` (same length): one pass over ``dst`` for four rows."""
    for k in range(dst.shape[0]):
        dst[k] += (a[k] + b[k]) + (c[k] + d[k])


@nb.njit(cache=True, error_model="numpy", inline="always")
def _add8(dst, a, b, c, d, e, f, g, h):
    """``dst += ((a + b) + (c + d)) + ((e + f) + (g + h))`` (same length): one pass for eight rows."""
    for k in range(dst.shape[0]):
        dst[k] += ((a[k] + b[k]) + (c[k] + d[k])) + ((e[k] + f[k]) + (g[k] + h[k]))


@nb.njit(cache=True, error_model="numpy", inline="always")
def _add_outgoing_rows8(model, qs, P_r):
    """Add the outgoing rows of the eight neurons ``qs`` of one layer to ``P_r`` in one pass."""
    rows, st = model.rows, model.out_start
    n_fwd, n_bwd = model.fwd_len[qs[0]], model.bwd_len[qs[0]]
    for part in range(2):
        d, o, n_p = (model.fwd_dst[qs[0]], 0, n_fwd) if part == 0 else (model.bwd_dst[qs[0]], n_fwd, n_bwd)
        if n_p > 0:
            _add8(
                P_r[d : d + n_p],
                rows[st[qs[0]] + o : st[qs[0]] + o + n_p],
                rows[st[qs[1]] + o : st[qs[1]] + o + n_p],
                rows[st[qs[2]] + o : st[qs[2]] + o + n_p],
                rows[st[qs[3]] + o : st[qs[3]] + o + n_p],
                rows[st[qs[4]] + o : st[qs[4]] + o + n_p],
                rows[st[qs[5]] + o : st[qs[5]] + o + n_p],
                rows[st[qs[6]] + o : st[qs[6]] + o + n_p],
                rows[st[qs[7]] + o : st[qs[7]] + o + n_p],
            )


@nb.njit(cache=True, error_model="numpy", inline="always")
def _add_outgoing_rows4(model, q0, q1, q2, q3, P_r):
    """Add the outgoing rows of four neurons of one layer to one replica's inputs ``P_r`` in one pass."""
    rows = model.rows
    a0, a1, a2, a3 = model.out_start[q0], model.out_start[q1], model.out_start[q2], model.out_start[q3]
    n_fwd, n_bwd = model.fwd_len[q0], model.bwd_len[q0]
    d = model.fwd_dst[q0]
    _add4(
        P_r[d : d + n_fwd], rows[a0 : a0 + n_fwd], rows[a1 : a1 + n_fwd], rows[a2 : a2 + n_fwd], rows[a3 : a3 + n_fwd]
    )
    d = model.bwd_dst[q0]
    a0, a1, a2, a3 = a0 + n_fwd, a1 + n_fwd, a2 + n_fwd, a3 + n_fwd
    _add4(
        P_r[d : d + n_bwd], rows[a0 : a0 + n_bwd], rows[a1 : a1 + n_bwd], rows[a2 : a2 + n_bwd], rows[a3 : a3 + n_bwd]
    )


@nb.njit(cache=True, error_model="numpy", inline="always")
def _add_outgoing_row(model, q, P_r):
    """Add neuron ``q``'s outgoing row to one replica's inputs ``P_r`` (forward part, then feedback)."""
    a, n_fwd, n_bwd = model.out_start[q], model.fwd_len[q], model.bwd_len[q]
    d = model.fwd_dst[q]
    _add(P_r[d : d + n_fwd], model.rows[a : a + n_fwd])
    d = model.bwd_dst[q]
    _add(P_r[d : d + n_bwd], model.rows[a + n_fwd : a + n_fwd + n_bwd])


@nb.njit(cache=True, error_model="numpy", inline="always")
def _decide(model, tkey, counter_r, ring_row, U_r, spiked_r):
    r"""Spike decision of one replica at one tick.

    ``s = [\xi (1 + e^{\ln t_ref - u}) < 1]`` outside the refractory period (the sigmoid without a
    division); ``ring_row`` (the spike memory's row of ``K`` ticks ago) receives ``s``.  Separate
    passes that each write one array, so that every pass compiles to SIMD instructions (a pass
    writing several arrays needs aliasing checks that the compiler does not make, and stays scalar).
    """
    c, log_t_ref = model.c, model.log_t_ref
    t_ref = counter_r.dtype.type(model.t_ref)  # compared in the counters' width (int32: 16 per SIMD instruction)
    n = c.shape[0]
    ft = ring_row.dtype.type
    lim = np.float32(EXP_RANGE - 1)
    for q in range(n):
        x = min(max(log_t_ref - (c[q] + U_r[q]), -lim), lim)
        spiked_r[q] = (counter_r[q] > t_ref) & (uniform(tkey, q) * (np.float32(1.0) + exp32_vec(x)) < np.float32(1.0))
    for q in range(n):
        counter_r[q] = 1 if spiked_r[q] else min(counter_r[q] + 1, BIG_COUNTER)
    for q in range(n):
        ring_row[q] = ft(spiked_r[q])


@nb.njit(cache=True, error_model="numpy", inline="always")
def _tick(r, t, g, row, key, ring_row, model, state, work):
    """Tick ``t`` of the run for replica ``r`` of group ``g``: its spikes (into ``ring_row``, the
    spike memory's row of ``K`` ticks ago, and as a list into row ``row`` of the group's window)
    and the inputs they cause.
    """
    n = model.c.shape[0]
    b = state.counter.shape[0]
    spiked_r, fired_r = work.spiked[r], work.fired[g, row]
    tkey = tick_key(key, t, r, b)
    _decide(model, tkey, state.counter[r], ring_row, work.U[r], spiked_r)
    nf = 0
    words = spiked_r.view(np.uint64)  # 8 neurons at a time: most words hold no spike
    for w in range(words.shape[0]):
        word = words[w]
        while word != 0:  # the spiking neurons among these eight, lowest first (a spike is the byte 0x01)
            low = trailing_zeros(word)  # type: ignore[call-arg]  # an intrinsic: numba passes the typing context
            fired_r[nf] = 8 * w + int(low >> np.uint64(3))
            nf += 1
            word &= word - np.uint64(1)
    work.n_fired[g, row] = nf
    # inputs: the slot of t_ref ticks ago leaves, this tick's spikes enter
    P_r, U_r = work.P[r, t % model.t_ref], work.U[r]
    for k in range(n):
        U_r[k] -= P_r[k]
        P_r[k] = 0.0
    _add_outgoing_rows(model, fired_r, nf, P_r)
    _add(U_r, P_r)


@nb.njit(cache=True, error_model="numpy", inline="always")
def _add_outgoing_rows(model, fired_r, nf, P_r):
    """Add the outgoing rows of the neurons ``fired_r[:nf]`` (ascending) to ``P_r``: eight or four rows
    at a time while consecutive neurons share a layer (the same targets)."""
    m = 0
    while m < nf:
        q = fired_r[m]
        if (
            m + 7 < nf
            and model.fwd_dst[q] == model.fwd_dst[fired_r[m + 7]]
            and model.bwd_dst[q] == model.bwd_dst[fired_r[m + 7]]
        ):
            _add_outgoing_rows8(model, fired_r[m : m + 8], P_r)
            m += 8
        elif (
            m + 3 < nf
            and model.fwd_dst[q] == model.fwd_dst[fired_r[m + 3]]
            and model.bwd_dst[q] == model.bwd_dst[fired_r[m + 3]]
        ):
            _add_outgoing_rows4(model, q, fired_r[m + 1], fired_r[m + 2], fired_r[m + 3], P_r)
            m += 4
        else:
            _add_outgoing_row(model, q, P_r)
            m += 1


@nb.njit(cache=True, error_model="numpy")
def _pair_traces(X, fired, n_fired, y, n_g, n_window, n_final, first_own, K, model):
    r"""The targets' traces of the block's ticks (window ticks ``K ..``), then their pair traces
    ``z_j(a) = y_j(a) - x_j(a)`` in the rows of the window's ticks ``0 .. n_final - 1`` (row
    ``i * n_g + rr`` of ``X`` for tick ``i`` of replica ``rr``).

    The traces ``x_j(a) = \sum_{m=0}^{K-1} e^{-m/t_ref} s_j(a - m)`` run forwards from the window's
    first tick, ``x(a) = e^{-1/t_ref} x(a - 1) + s(a) - e^{-K/t_ref} s(a - K)``, snapped to 0 below
    half of ``e^{-(K-1)/t_ref}`` (the recursion's rounding residue), so they are exact from tick
    ``K - 1`` on.  The backward traces ``y_j(a) = \sum_{m=0}^{K-1} e^{-m/t_ref} s_j(a + m)``, over
    this run's spikes only (ticks ``first_own ..``: the ticks before are the previous run's, whose
    pairs among themselves that run counted), run backwards from the window's last tick in the
    same way, so they are exact for every tick whose next ``K - 1`` ticks are in the window (at the
    end of a run: the spikes to come belong to the next run).
    """
    n0, n = np.uint64(model.first_target), np.uint64(y.shape[0])  # unsigned loops: SIMD, no wraparound test
    decay, decay_k, snap = model.decay, model.decay_k, model.snap
    zero = y.dtype.type(0.0)
    for rr in range(n_g):
        y[:] = 0.0  # x, then y; holds e^{-1/t_ref} times the previous tick's value when a tick's spikes are added
        for i in range(n_window):
            row = i * n_g + rr
            for m in range(n_fired[row]):
                y[fired[row, m]] += 1.0  # entries below n0 (no targets) are never read
            if i >= K:
                old = row - K * n_g
                for m in range(n_fired[old]):
                    y[fired[old, m]] -= decay_k
                x = X[row]
                for q in range(n0, n):
                    x[q] = y[q] if y[q] >= snap else zero
            for q in range(n0, n):
                y[q] = (y[q] if y[q] >= snap else zero) * decay
        y[:] = 0.0
        for i in range(n_window - 1, -1, -1):
            row = i * n_g + rr
            if i >= first_own:
                for m in range(n_fired[row]):
                    y[fired[row, m]] += 1.0
            if first_own <= i + K < n_window:
                old = row + K * n_g
                for m in range(n_fired[old]):
                    y[fired[old, m]] -= decay_k
            if i < n_final:
                z = X[row]
                for q in range(n0, n):
                    z[q] = (y[q] if y[q] >= snap else zero) - z[q]
            for q in range(n0, n):
                y[q] = (y[q] if y[q] >= snap else zero) * decay


@nb.njit(cache=True, error_model="numpy")
def _sal_accumulate(X, ptr, rows_of, tasks, acc):
    r"""The SAL pair terms of the window's final ticks, event-driven and grouped by neuron:

    .. math:: \Delta_l[i, j] \mathrel{+}= \sum_{a,\, b} s_i^b(a)\, z_j^b(a)

    with the pair traces ``z = y - x`` of :func:`_pair_traces` (so each pair of spikes of ``i`` and
    ``j`` within ``K`` ticks counts once, from ``i``'s side: the same sum as
    ``\sum_t -s_i x_j + x_i s_j``).  Task ``(q, a, x0, length)`` adds ``X[row, x0:x0 + length]`` to
    ``acc[a:a + length]`` for every row ``rows_of[ptr[q]:ptr[q + 1]]`` in which ``q`` spiked (see
    :func:`accumulation_tasks`); eight (else four) rows per pass over the accumulator.
    """
    for i in range(tasks.shape[0]):
        q, a, x0, m = tasks[i]
        d = acc[a : a + m]
        p, p1 = ptr[q], ptr[q + 1]
        while p + 7 < p1:
            r8 = rows_of[p : p + 8]
            _add8(
                d,
                X[r8[0], x0 : x0 + m],
                X[r8[1], x0 : x0 + m],
                X[r8[2], x0 : x0 + m],
                X[r8[3], x0 : x0 + m],
                X[r8[4], x0 : x0 + m],
                X[r8[5], x0 : x0 + m],
                X[r8[6], x0 : x0 + m],
                X[r8[7], x0 : x0 + m],
            )
            p += 8
        while p + 3 < p1:
            _add4(
                d,
                X[rows_of[p], x0 : x0 + m],
                X[rows_of[p + 1], x0 : x0 + m],
                X[rows_of[p + 2], x0 : x0 + m],
                X[rows_of[p + 3], x0 : x0 + m],
            )
            p += 4
        for rest in range(p, p1):
            _add(d, X[rows_of[rest], x0 : x0 + m])


@nb.njit(cache=True, error_model="numpy")
def _previous_spikes(g, r0, r1, pos, state, work, model):
    """Ticks ``0 .. K - 1`` of the group's first window: the spikes of the ``K`` ticks before the run
    (from the spike memory), no traces (these ticks' own pair terms were the previous run's).  They
    are not this run's spikes: taken off the counts that grouping them will add."""
    K, n_g = state.ring.shape[0], r1 - r0
    n0, n = model.first_target, model.c.shape[0]
    counts = work.counts[g]
    for r in range(r0, r1):
        for i in range(K):
            row = i * n_g + (r - r0)
            old, fired_r = state.ring[(pos - K + i) % K, r], work.fired[g, row]
            nf = 0
            for q in range(n):
                if old[q] != 0:
                    fired_r[nf] = q
                    nf += 1
                    counts[q] -= 1
            work.n_fired[g, row] = nf
            work.X[g, row, n0:n] = 0.0


@nb.njit(cache=True, error_model="numpy")
def _traces_from_spikes(g, r0, r1, pos, state, model):
    """The net's traces after the run, from the spike memory (the recursion of :func:`_pair_traces`
    over its ``K`` ticks; the run itself keeps the targets' traces in the window only)."""
    K, n = state.ring.shape[0], model.c.shape[0]
    decay, snap = model.decay, model.snap
    for r in range(r0, r1):
        x = state.trace[r]
        x[:] = 0.0
        for i in range(K):
            s = state.ring[(pos - K + i) % K, r]  # ticks T - K .. T - 1, oldest first
            for q in range(n):
                v = x[q] * decay + s[q]
                x[q] = v if v >= snap else x.dtype.type(0.0)


@nb.njit(cache=True, error_model="numpy")
def _run_group(g, run, tasks, model, state, work):
    """The whole run for the replicas of group ``g``, block by block: its ticks, then the pair terms
    (:func:`_pair_traces`, :func:`_sal_accumulate`) of the window's ticks whose next ``K - 1`` ticks
    are known, into the group's own accumulator; the window's last ``K`` ticks move to its front
    for the next block."""
    b = state.counter.shape[0]
    K = state.ring.shape[0]
    work.acc[g][:] = 0.0  # here rather than before the run: in parallel, one group per thread
    work.counts[g][:] = 0
    r0 = g * run.replicas_per_group
    r1 = min(b, r0 + run.replicas_per_group)
    n_g = r1 - r0
    n0, n = model.first_target, model.c.shape[0]
    _previous_spikes(g, r0, r1, run.pos, state, work, model)
    _initial_inputs(g, r0, r1, K, model, work)
    first_own = K
    for t0 in range(0, run.n_ticks, run.block):
        k = min(run.block, run.n_ticks - t0)
        for r in range(r0, r1):
            for i in range(k):
                t = t0 + i
                row = (K + i) * n_g + (r - r0)
                _tick(r, t, g, row, run.key, state.ring[(run.pos + t) % K, r], model, state, work)
        n_window = K + k
        n_final = n_window if t0 + k == run.n_ticks else k
        X, fired, n_fired = work.X[g], work.fired[g], work.n_fired[g]
        _pair_traces(X, fired, n_fired, work.y[g], n_g, n_window, n_final, first_own, K, model)
        _rows_by_neuron(fired, n_fired[: n_final * n_g], work.ptr[g], work.rows_of[g], work.counts[g])
        _sal_accumulate(X, work.ptr[g], work.rows_of[g], tasks, work.acc[g])
        if n_final < n_window:  # the last K ticks to the front (in order: the ranges may overlap)
            for row in range(0, K * n_g):
                src = n_final * n_g + row
                X[row, n0:n] = X[src, n0:n]
                n_fired[row] = n_fired[src]
                fired[row, : n_fired[src]] = fired[src, : n_fired[src]]
        first_own = max(0, first_own - n_final)
    _traces_from_spikes(g, r0, r1, run.pos + run.n_ticks, state, model)


@nb.njit(cache=True, error_model="numpy", parallel=True)
def _run_groups(run, tasks, model, state, work):
    """All replica groups of a run, one task per group (no synchronisation until the run ends)."""
    for g in nb.prange(work.acc.shape[0]):
        _run_group(g, run, tasks, model, state, work)


@nb.njit(cache=True, error_model="numpy", parallel=True)
def _sum_groups(acc):
    """``acc[0] + acc[1] + ...`` in group order (the same bits as adding them one after the other), in
    parallel over slices of the accumulator."""
    G, n = acc.shape
    out = np.empty(n, dtype=acc.dtype)
    step = 1 << 16
    for s0 in nb.prange((n + step - 1) // step):
        lo, hi = s0 * step, min(n, (s0 + 1) * step)
        for k in range(lo, hi):
            out[k] = acc[0, k]
        for g in range(1, G):
            for k in range(lo, hi):
                out[k] += acc[g, k]
    return out


def accumulation_tasks(layout: tuple[np.ndarray, ...], tile: int = ACC_TILE) -> tuple[np.ndarray, list[tuple]]:
    """The accumulation's tasks ``(q, a, x0, length)``, one per neuron and tile of its forward
    targets, and the accumulator's blocks.

    Tasks run target tile by target tile, so the window's pair traces of one tile (``BLOCK_TICKS *
    batch`` rows of at most ``tile`` values) stay in the cache while all neurons that read them add
    them up; their segments ``acc[a:a + length]`` follow each other in task order.  Block
    ``(x0, length, a, n_q)`` is the ``n_q x length`` matrix at ``acc[a:]``: the columns ``x0 ..``
    (as neuron indices) of the rows of one ``Delta_l``.
    """
    _, fwd_len, fwd_dst, _, _ = layout
    tasks, blocks, a = [], [], 0
    for dst in np.unique(fwd_dst[fwd_len > 0]):
        qs = np.flatnonzero((fwd_dst == dst) & (fwd_len > 0))
        length = int(fwd_len[qs[0]])
        n_tiles = -(-length // tile)
        for k in range(n_tiles):  # equal tiles
            j0, j1 = k * length // n_tiles, (k + 1) * length // n_tiles
            blocks.append((int(dst + j0), j1 - j0, a, len(qs)))
            for q in qs:
                tasks.append((q, a, dst + j0, j1 - j0))
                a += j1 - j0
    return np.array(tasks, dtype=np.int64).reshape(-1, 4), blocks


@nb.njit(cache=True, error_model="numpy")
def _initial_inputs(g, r0, r1, K, model, work):
    """For the replicas ``r0 .. r1 - 1`` of group ``g``: ``P[r, (-m) mod t_ref]``, the inputs caused by
    the spikes ``m = 1 .. t_ref`` ticks ago (the spike lists of the window's ticks ``K - m``:
    ``t_ref <= K``), and ``U[r]`` their sum."""
    n_g, t_ref = r1 - r0, model.t_ref
    for r in range(r0, r1):
        work.P[r][:] = 0.0
        work.U[r][:] = 0.0
        for m in range(1, t_ref + 1):
            row, P_r = (K - m) * n_g + (r - r0), work.P[r, (-m) % t_ref]
            _add_outgoing_rows(model, work.fired[g, row], work.n_fired[g, row], P_r)
            _add(work.U[r], P_r)


def outgoing_layout(sizes: list[int]) -> tuple[np.ndarray, ...]:
    """Per neuron: start of its outgoing row, forward length and first target, feedback length and first target."""
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    L = len(sizes)
    fwd_len, fwd_dst, bwd_len, bwd_dst = (np.zeros(offsets[-1], dtype=np.int64) for _ in range(4))
    for l in range(L):
        sl = slice(offsets[l], offsets[l + 1])
        if l + 1 < L:
            fwd_len[sl], fwd_dst[sl] = sizes[l + 1], offsets[l + 1]
        if l >= 1:
            bwd_len[sl], bwd_dst[sl] = sizes[l - 1], offsets[l - 1]
    out_start = np.concatenate([[0], np.cumsum(fwd_len + bwd_len)[:-1]]).astype(np.int64)
    return out_start, fwd_len, fwd_dst, bwd_len, bwd_dst


def outgoing_rows(net) -> np.ndarray:
    """Every neuron's outgoing row (float32): its column of ``W_{l+1}``, then its column of ``B_{l-1}``.

    Kept on the net while the weight tensors are the same objects with the same contents (torch's
    version counter counts their in-place changes)."""
    tensors = [*net.W[1:], *net.B]
    versions = [t._version for t in tensors]
    cached = getattr(net, "_fast_rows", None)  # (tensors, versions, rows): holding the tensors keeps their ids unique
    if (
        cached is None
        or len(cached[0]) != len(tensors)
        or any(a is not b for a, b in zip(cached[0], tensors, strict=True))
        or cached[1] != versions
    ):
        net._fast_rows = (tensors, versions, _outgoing_rows(net))
    return net._fast_rows[2]


def _outgoing_rows(net) -> np.ndarray:
    parts = []
    f32 = lambda t: t.detach().to(torch.float32).cpu().numpy()  # noqa: E731
    for l in range(net.L):
        fwd = f32(net.W[l + 1]).T if l + 1 < net.L else np.zeros((net.sizes[l], 0), np.float32)
        bwd = f32(net.B[l - 1]).T if l >= 1 else np.zeros((net.sizes[l], 0), np.float32)
        parts.append(np.concatenate([fwd, bwd], axis=1).ravel())
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def pair_terms(net, acc: np.ndarray, blocks: list[tuple]) -> list[np.ndarray]:
    """Every ``Delta_l`` from the accumulator's blocks (:func:`accumulation_tasks`)."""
    deltas = [np.empty((net.sizes[l], net.sizes[l + 1]), dtype=acc.dtype) for l in range(net.L - 1)]
    for x0, length, a, n_q in blocks:
        l = int(np.searchsorted(net.offsets, x0, side="right")) - 2  # x0 is in layer l + 1
        j0 = x0 - int(net.offsets[l + 1])
        deltas[l][:, j0 : j0 + length] = acc[a : a + n_q * length].reshape(n_q, length)
    return deltas


def _model(net, layout: tuple[np.ndarray, ...]) -> FastModel:
    """The run's :class:`FastModel`: the current weights as outgoing rows, biases and constants."""
    c = np.concatenate([cl.detach().to(torch.float32).cpu().numpy() for cl in net.c])
    ft = net.trace.numpy().dtype.type
    f32 = np.float32
    out_start, fwd_len, fwd_dst, bwd_len, bwd_dst = layout
    return FastModel(
        out_start,
        fwd_len,
        fwd_dst,
        bwd_len,
        bwd_dst,
        outgoing_rows(net),
        c,
        np.int64(net.offsets[1]),
        np.int64(net.t_ref),
        f32(net.log_t_ref),
        ft(net.decay),
        ft(net.decay_k),
        ft(net.snap),
    )


def _work(net, block: int) -> tuple[FastWork, np.ndarray, tuple]:
    """The work arrays for blocks of ``block`` ticks, the accumulation tasks, the layout and the
    accumulator's blocks, kept on the net between runs (fresh arrays cost page faults every run)."""
    b, n = net.batch, net.N
    key = (b, n, net.t_ref, net.K, block)
    cached = getattr(net, "_fast_work", None)
    if cached is None or cached[0] != key:
        groups = -(-b // REPLICAS_PER_GROUP)
        rows = (net.K + block) * min(b, REPLICAS_PER_GROUP)  # the window: K ticks, then the block
        n8 = -(-n // 8) * 8
        layout = outgoing_layout(net.sizes)
        tasks, blocks = accumulation_tasks(layout)
        n_acc = int(layout[1].sum())
        work = FastWork(
            P=np.empty((b, net.t_ref, n), dtype=np.float32),
            U=np.empty((b, n), dtype=np.float32),
            spiked=np.zeros((b, n8), dtype=np.uint8),  # padded to whole 64-bit words (zeros)
            X=np.empty((groups, rows, n), dtype=np.float32),
            fired=np.empty((groups, rows, n8), dtype=np.int32),
            n_fired=np.zeros((groups, rows), dtype=np.int64),
            y=np.empty((groups, n), dtype=np.float32),
            ptr=np.empty((groups, n + 1), dtype=np.int64),
            rows_of=np.empty((groups, rows * n), dtype=np.int64),
            acc=np.empty((groups, n_acc), dtype=np.float32),
            counts=np.empty((groups, n), dtype=np.int64),
        )
        net._fast_work = (key, work, tasks, (layout, blocks))
    return net._fast_work[1], net._fast_work[2], net._fast_work[3]


def run_fast(net, n_ticks: int) -> None:
    """Simulate ``n_ticks`` ticks of ``net`` (a :class:`~.sal.SALNet` on the CPU) with the fast engine.

    Adds the pair terms to ``net.delta`` and the spikes to ``net.spike_count``; the weights must not
    change during the call.  The caller sets numba's thread count; the replica groups run in
    parallel and their accumulators are summed in group order, so the bits do not depend on it.
    """
    key = np.uint64(int(torch.randint(0, 2**62, (1,), generator=net.generator)))
    if n_ticks <= 0:
        return
    block = min(BLOCK_TICKS, n_ticks)
    work, tasks, (layout, blocks) = _work(net, block)
    model = _model(net, layout)
    state = FastState(net.counter.numpy(), net.ring.numpy(), net.trace.numpy())
    run = FastRun(key, np.int64(net.pos), np.int64(n_ticks), np.int64(block), np.int64(REPLICAS_PER_GROUP))
    _run_groups(run, tasks, model, state, work)
    net.pos = (net.pos + n_ticks) % net.K
    for l, d in enumerate(pair_terms(net, _sum_groups(work.acc), blocks)):
        net.delta[l] += torch.from_numpy(d).to(net.delta[l].dtype)
    net.spike_count += torch.from_numpy(work.counts.sum(axis=0)).to(torch.float64)
    net.ticks_accumulated += n_ticks
    net.ticks_total += n_ticks
