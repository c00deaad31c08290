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
  outside their refractory period, with the table-and-polynomial float32 exponential
  (relative error below 2e-6).
* **float32 input sums, work only where neurons spike.**  Every neuron ``q`` of layer ``l`` has
  one outgoing row: its column of ``W_{l+1}`` (forward input of layer ``l + 1``) then its column
  of ``B_{l-1}`` (feedback input of layer ``l - 1``).  A spike adds the row to the replica's
  contribution slot ``P[r, t mod t_ref]``; the input is ``U = \sum_{slots} P`` kept up to date
  as ``U \leftarrow U - P_{old} + P_{new}`` (the slot's previous spikes stop acting after
  ``t_ref`` ticks).  ``U`` is recomputed from the spike memory at the start of every run, so
  the float32 rounding of the running sum never grows beyond one run.
* **Pair terms grouped by neuron.**  Blocks of ``BLOCK_TICKS`` ticks are simulated with one
  task per replica; then every neuron ``q`` adds, for each row (tick, replica) in which it
  spiked, ``-x`` of layer ``l + 1`` and ``+x`` of layer ``l - 1`` to an accumulator with the
  layout of its outgoing row, one neuron per task.  After the run
  ``\Delta_l = A^{fwd}_l + (A^{bwd}_{l+1})^T``.

State is the net's own (``counter``, ``ring``, ``trace``, ``pos``, ``delta``, ``spike_count``),
so ``state_dict``/``load_state_dict``, ``rates`` and ``apply_update`` work unchanged.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import torch

from ...spiking.counter_rng import EXP_RANGE, exp32, tick_key, uniform
from .sal import _rows_by_neuron

BIG_COUNTER = 1 << 30  # "never spiked", as in the exact engines
#: ticks simulated before their pair terms are accumulated (speed only)
BLOCK_TICKS = 10
#: neurons handed to a thread at a time in the accumulation (speed only)
ACC_TASK_CHUNK = 16


@nb.njit(cache=True, error_model="numpy")
def _add(dst, src):
    """``dst += src`` (same length)."""
    for k in range(dst.shape[0]):
        dst[k] += src[k]


@nb.njit(cache=True, error_model="numpy")
def _sub(dst, src):
    """``dst -= src`` (same length)."""
    for k in range(dst.shape[0]):
        dst[k] -= src[k]


@nb.njit(cache=True, error_model="numpy")
def _tick(r, t, key, counter, ring_row, trace, P, U, layout, rows, consts, x_row, sv, fired):
    """Tick ``t`` of the run for replica ``r``: spikes, traces, inputs.  Returns the number of spikes.

    ``ring_row`` holds the replica's spikes of ``K`` ticks ago (replaced by this tick's), ``x_row``
    receives the traces, ``fired`` the spiking neurons in ascending order.
    """
    out_start, fwd_len, fwd_dst, bwd_len, bwd_dst = layout
    c, t_ref, log_t_ref, decay, decay_k, snap = consts
    n = c.shape[0]
    cr, tr, Ur = counter[r], trace[r], U[r]
    tkey = tick_key(key, t, r, counter.shape[0])
    lim = np.float32(EXP_RANGE - 1)
    ft = tr.dtype.type
    # spike decision and traces (vectorisable: no branch, no call)
    for q in range(n):
        x = min(max(log_t_ref - (c[q] + Ur[q]), -lim), lim)
        s = (cr[q] > t_ref) & (uniform(tkey, q) * (np.float32(1.0) + exp32(x)) < np.float32(1.0))
        cr[q] = 1 if s else min(cr[q] + 1, BIG_COUNTER)
        sq = ft(1.0) if s else ft(0.0)
        v = tr[q] * decay + sq - decay_k * ring_row[q]
        v = v if v >= snap else ft(0.0)
        tr[q] = v
        x_row[q] = v
        ring_row[q] = sq
        sv[q] = s
    nf = 0
    for q in range(n):  # compaction, branch-free
        fired[nf] = q
        nf += sv[q]
    # inputs: the slot of t_ref ticks ago leaves, this tick's spikes enter
    Pr = P[r, t % t_ref]
    for k in range(n):
        Ur[k] -= Pr[k]
        Pr[k] = 0.0
    for m in range(nf):
        q = fired[m]
        a, nf_, nb_ = out_start[q], fwd_len[q], bwd_len[q]
        _add(Pr[fwd_dst[q] : fwd_dst[q] + nf_], rows[a : a + nf_])
        _add(Pr[bwd_dst[q] : bwd_dst[q] + nb_], rows[a + nf_ : a + nf_ + nb_])
    for k in range(n):
        Ur[k] += Pr[k]
    return nf


@nb.njit(cache=True, error_model="numpy", parallel=True)
def _simulate_block(t0, n_ticks, key, state, pos, P, U, layout, rows, consts, X, fired, n_fired, sv):
    """Ticks ``t0 .. t0 + n_ticks - 1`` of the run, one task per replica; row ``i * b + r`` of ``X``,
    ``fired`` and ``n_fired`` is tick ``t0 + i`` of replica ``r``."""
    counter, ring, trace = state
    b = counter.shape[0]
    K = ring.shape[0]
    for r in nb.prange(b):
        for i in range(n_ticks):
            t = t0 + i
            row = i * b + r
            n_fired[row] = _tick(
                r, t, key, counter, ring[(pos + t) % K, r], trace, P, U, layout, rows, consts, X[row], sv[r], fired[row]
            )


@nb.njit(cache=True, error_model="numpy", parallel=True)
def _accumulate(X, ptr, rows_of, tasks, acc):
    """Pair terms of a block: task ``(q, a, x0, length, sign)`` adds ``sign * X[row, x0:x0 + length]``
    to ``acc[a:a + length]`` for every row in which neuron ``q`` spiked (see :func:`accumulation_tasks`)."""
    for i in nb.prange(tasks.shape[0]):
        q, a, x0, m, sign = tasks[i]
        d = acc[a : a + m]
        for p in range(ptr[q], ptr[q + 1]):
            if sign > 0:
                _add(d, X[rows_of[p], x0 : x0 + m])
            else:
                _sub(d, X[rows_of[p], x0 : x0 + m])


def accumulation_tasks(layout: tuple[np.ndarray, ...], tile: int = 512) -> np.ndarray:
    """The accumulation's tasks ``(q, a, x0, length, sign)``, one per neuron and tile of its targets.

    Neuron ``q`` subtracts the traces of its forward targets (``D_l`` rows) and adds those of its
    feedback targets (``D_{l-1}`` columns).  Tasks run target tile by target tile, so the block's
    traces of one tile (``BLOCK_TICKS * batch`` rows of at most ``tile`` values) stay in the cache
    while all neurons that read them add them up.
    """
    out_start, fwd_len, fwd_dst, bwd_len, bwd_dst = layout
    tasks = []
    for kind in (0, 1):
        seg_len, seg_dst = (fwd_len, fwd_dst) if kind == 0 else (bwd_len, bwd_dst)
        for dst in np.unique(seg_dst[seg_len > 0]):
            qs = np.flatnonzero((seg_dst == dst) & (seg_len > 0))
            length = int(seg_len[qs[0]])
            n_tiles = -(-length // tile)
            for k in range(n_tiles):  # equal tiles
                j0, j1 = k * length // n_tiles, (k + 1) * length // n_tiles
                for q in qs:
                    a = out_start[q] + (0 if kind == 0 else fwd_len[q]) + j0
                    tasks.append((q, a, dst + j0, j1 - j0, -1 if kind == 0 else 1))
    return np.array(tasks, dtype=np.int64).reshape(-1, 5)


@nb.njit(cache=True, error_model="numpy")
def _initial_inputs(ring, pos, t_ref, layout, rows, P, U):
    """``P[r, (-m) mod t_ref]``: the inputs caused by the spikes ``m = 1 .. t_ref`` ticks ago; ``U`` their sum."""
    out_start, fwd_len, fwd_dst, bwd_len, bwd_dst = layout
    K, b, n = ring.shape
    P[:] = 0.0
    U[:] = 0.0
    for r in range(b):
        for m in range(1, t_ref + 1):
            old, Pr = ring[(pos - m) % K, r], P[r, (-m) % t_ref]
            for q in range(n):
                if old[q] != 0:
                    a, nf, nb_ = out_start[q], fwd_len[q], bwd_len[q]
                    _add(Pr[fwd_dst[q] : fwd_dst[q] + nf], rows[a : a + nf])
                    _add(Pr[bwd_dst[q] : bwd_dst[q] + nb_], rows[a + nf : a + nf + nb_])
            for k in range(n):
                U[r, k] += Pr[k]


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
    """Every neuron's outgoing row (float32): its column of ``W_{l+1}``, then its column of ``B_{l-1}``."""
    parts = []
    f32 = lambda t: t.detach().to(torch.float32).cpu().numpy()  # noqa: E731
    for l in range(net.L):
        fwd = f32(net.W[l + 1]).T if l + 1 < net.L else np.zeros((net.sizes[l], 0), np.float32)
        bwd = f32(net.B[l - 1]).T if l >= 1 else np.zeros((net.sizes[l], 0), np.float32)
        parts.append(np.concatenate([fwd, bwd], axis=1).ravel())
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def pair_terms(net, acc: np.ndarray, layout: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """``Delta_l = A^fwd_l + (A^bwd_{l+1})^T`` from the accumulator with the outgoing rows' layout."""
    out_start = layout[0]
    deltas = []
    for l in range(net.L - 1):
        lo, up = net.sizes[l], net.sizes[l + 1]
        a = out_start[net.offsets[l]]
        fwd = acc[a : a + lo * (up + (net.sizes[l - 1] if l >= 1 else 0))].reshape(lo, -1)[:, :up]
        a = out_start[net.offsets[l + 1]]
        n_fwd_up = net.sizes[l + 2] if l + 2 < net.L else 0
        bwd = acc[a : a + up * (n_fwd_up + lo)].reshape(up, -1)[:, n_fwd_up:]
        deltas.append(fwd + bwd.T)
    return deltas


def run_fast(net, n_ticks: int) -> None:
    """Simulate ``n_ticks`` ticks of ``net`` (a :class:`~.sal.SALNet` on the CPU) with the fast engine.

    Adds the pair terms to ``net.delta`` and the spikes to ``net.spike_count``; the weights must not
    change during the call.  The caller sets numba's thread count.
    """
    b, n, t_ref = net.batch, net.N, net.t_ref
    layout = outgoing_layout(net.sizes)
    rows = outgoing_rows(net)
    f32 = np.float32
    c = np.concatenate([cl.detach().to(torch.float32).cpu().numpy() for cl in net.c])
    ft = net.trace.numpy().dtype.type
    consts = (c, np.int32(t_ref), f32(net.log_t_ref), ft(net.decay), ft(net.decay_k), ft(net.snap))
    key = np.uint64(int(torch.randint(0, 2**62, (1,), generator=net.generator)))
    block = min(BLOCK_TICKS, max(1, n_ticks))
    P = np.empty((b, t_ref, n), dtype=np.float32)
    U = np.empty((b, n), dtype=np.float32)
    X = np.empty((block * b, n), dtype=np.float32)
    fired = np.empty((block * b, n), dtype=np.int32)
    n_fired = np.zeros(block * b, dtype=np.int64)
    sv = np.empty((b, n), dtype=np.int32)
    ptr = np.empty(n + 1, dtype=np.int64)
    rows_of = np.empty(block * b * n, dtype=np.int64)
    acc = np.zeros(rows.shape[0], dtype=np.float32)
    tasks = accumulation_tasks(layout)
    counts = np.zeros(n, dtype=np.int64)
    state = (net.counter.numpy(), net.ring.numpy(), net.trace.numpy())
    _initial_inputs(state[1], net.pos, t_ref, layout, rows, P, U)
    parallel = nb.get_num_threads() > 1
    for t0 in range(0, n_ticks, block):
        k = min(block, n_ticks - t0)
        if parallel:
            nb.set_parallel_chunksize(1)
        _simulate_block(t0, k, key, state, net.pos, P, U, layout, rows, consts, X, fired, n_fired[: k * b], sv)
        _rows_by_neuron(fired, n_fired[: k * b], ptr, rows_of, counts)  # the exact engine's grouping
        if parallel:
            nb.set_parallel_chunksize(ACC_TASK_CHUNK)
        _accumulate(X, ptr, rows_of, tasks, acc)
    net.pos = (net.pos + n_ticks) % net.K
    for l, d in enumerate(pair_terms(net, acc, layout)):
        net.delta[l] += torch.from_numpy(d).to(net.delta[l].dtype)
    net.spike_count += torch.from_numpy(counts).to(torch.float64)
    net.ticks_accumulated += n_ticks
    net.ticks_total += n_ticks
