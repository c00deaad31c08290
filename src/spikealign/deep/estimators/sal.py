r"""Spike-based alignment learning (SAL) in a spiking network that mirrors an FC stack.

Network (see docs/deep.md, "SAL estimator").  Layers ``l = 0..L-1`` with sizes ``n_l``; forward
matrices ``W_l`` (n_l, n_{l-1}) for ``l >= 1`` (post, pre), feedback matrices ``B_l`` (n_l, n_{l+1})
for ``l <= L-2`` stored top-down (post = lower neuron ``i``, pre = upper neuron ``j``; the FA
layer's ``.feedback`` is ``B_l^T``), biases ``c_l``.  ``batch`` independent replicas share the
weights.

One tick (all layers use the spikes up to ``t-1``):

.. math::

    z_k(t) &= \sum_{m=1}^{t_\mathrm{ref}} s_k(t-m) \in \{0, 1\}
             \quad(= \text{ticks since last spike} \le t_\mathrm{ref})\\
    u_l &= W_l z_{l-1} + B_l z_{l+1} + c_l\\
    s_l(t) &= [\xi < \sigma(u_l - \ln t_\mathrm{ref})]\;\wedge\;[\text{ticks since last spike} > t_\mathrm{ref}],
             \quad \xi\sim U(0,1)

Exact truncated exponential traces over the ``K = buffer_length * t_ref`` most recent ticks,
the current tick included, computed recursively:

.. math:: x_k(t) = \sum_{m=0}^{K-1} e^{-m/t_\mathrm{ref}} s_k(t-m)
          = e^{-1/t_\mathrm{ref}} x_k(t-1) + s_k(t) - e^{-K/t_\mathrm{ref}} s_k(t-K)

SAL accumulation per tick, summed over replicas ``b`` (causal pairs depress, anti-causal pairs
potentiate):

.. math:: \Delta_l[i, j] \mathrel{+}= \sum_b \big(-s_i^b(t)\,x_j^b(t) + x_i^b(t)\,s_j^b(t)\big)

Update after each SAL iteration (``len_epoch * t_ref`` ticks):

.. math:: B_l \leftarrow B_l + \frac{\eta_l}{K}\,\frac{1}{\mathrm{batch}}\,\Delta_l,\qquad \Delta_l \leftarrow 0

i.e. a SUM over ticks and a MEAN over replicas (so the step grows with ``len_epoch`` and not
with ``batch``), exactly as the reference.

The recursion's rounding residue is snapped to exactly 0 (true values are 0 or at least
``exp(-(K-1)/t_ref)``), which keeps the traces exact and free of denormal numbers.

Engines (same spikes, same ``Delta``, same ``B`` on the same seed):

``numba`` (default on the CPU)
    Compiled kernels run blocks of ``ACC_TICKS`` ticks.  The inputs change only through
    spikes: a spike adds the neuron's row of ``W^T`` / ``B^T`` to its partners' inputs, and
    ``t_ref`` ticks later the same contribution ends.  The kernel keeps the contributions of
    the last ``t_ref`` ticks in a ring (float64) and their running sum, so a tick costs one row
    per spike (about 20x fewer operations than the dense products at the usual 5 % rate) plus
    one pass over the inputs (``U = (U - old) + new``, tile by tile of the inputs, the new
    contribution summed in a small buffer).  With ``threads`` > 1 the replicas run in parallel,
    and the rows of ``Delta``; every replica and every entry computes the same operations in the
    same order whatever the thread count, so the results are identical.  The tasks are handed out
    dynamically (replicas one at a time, rows ``ACC_TASK_CHUNK`` at a time), so a thread that
    shares its core with another process takes fewer of them instead of holding the others up.  The spike decision
    ``xi < sigmoid(u - ln t_ref)`` uses the potential rounded to the simulation dtype in the torch
    engine's order (``(c + W z) + B z``)
    and a vectorised float32 sigmoid accurate to 1e-6; when ``xi`` lies closer than that, the
    sigmoid is recomputed with the torch engine's operations and roundings.  The two engines can
    therefore differ only when the last bit of a float32 potential decides a spike (the dense
    products round differently), which the tests never saw on small nets and the benchmark did
    not see in 2,100 ticks of the paper's [1600, 384, 192, 10] net; after such a flip the two
    runs would be different samples of the same process.  The pair terms are accumulated event-driven (a
    spike adds its partners' trace row) grouped by neuron, every entry of ``Delta`` adding its
    terms in the torch engine's row order, so the float sums are bit-identical.  The weights
    must not change during a ``run`` (they are read once per call).
``torch`` (default on GPUs)
    A per-tick loop of torch operations with one dense GEMM per layer and tick; the chunk's
    pair terms are accumulated event-driven on the CPU (the numba kernel
    :func:`_accumulate_events`) or, on GPUs or with ``event_driven = False``, with one dense
    GEMM ``[-S_l | X_l]^T [X_{l+1} ; S_{l+1}]`` per chunk.

Random numbers: uniforms are drawn from a ``torch.Generator`` in blocks of ``chunk`` ticks as
``torch.rand((chunk, batch, N))`` with the layers concatenated in order (``N = sum n_l``); the
last block of a run may be shorter.  The same seed therefore gives the same spikes for the same
sequence of ``run`` lengths and the same ``chunk``, with either engine.  (The numba engine draws
the same stream in pieces of ``ACC_TICKS`` ticks into one reused buffer: torch's CPU generator
gives the same numbers.)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np
import torch

BIG_COUNTER = 1 << 30  # stands for "never spiked" (the reference's +inf)
ENGINES = ("numba", "torch", "fast")  # "fast": sal_fast_engine.py, statistically equivalent
#: ticks simulated before their pair terms are accumulated (numba engine; speed only)
ACC_TICKS = 10
#: Delta rows handed to a thread at a time (numba engine with more than one thread; speed only)
ACC_TASK_CHUNK = 32


# --------------------------------------------------------------------------- torch engine accumulation
@nb.njit(cache=True, error_model="numpy")
def _accumulate_events(S, X, lo0, lo1, up0, up1, D, DT):
    """Event-driven ``D -= S_lo^T X_up`` and ``DT += S_up^T X_lo`` over the rows of ``S`` (spikes, 0/1)."""
    n_up = up1 - up0
    n_lo = lo1 - lo0
    for r in range(S.shape[0]):
        xu = X[r, up0:up1]
        xl = X[r, lo0:lo1]
        for i in range(n_lo):
            if S[r, lo0 + i] != 0:
                d = D[i]
                for j in range(n_up):
                    d[j] -= xu[j]
        for j in range(n_up):
            if S[r, up0 + j] != 0:
                d = DT[j]
                for i in range(n_lo):
                    d[i] += xl[i]


# --------------------------------------------------------------------------- numba engine
@nb.njit(cache=True, error_model="numpy")
def _add_row(dst, row):
    for i in range(dst.shape[0]):
        dst[i] += row[i]


@nb.njit(cache=True, error_model="numpy")
def _add_spike_inputs(P, spikes, n_spikes, params):
    """Add the output rows of neurons ``spikes[:n_spikes]`` to one replica's inputs ``P`` (2N,).

    A neuron ``q`` of layer ``l`` adds its row of ``W_{l+1}^T`` to the forward inputs ``P[:N]`` of
    layer ``l + 1`` and its row of ``B_{l-1}^T`` to the feedback inputs ``P[N:]`` of layer ``l - 1``.
    """
    offsets, layer_of, wt, w_start, bt, b_start = params
    L = offsets.shape[0] - 1
    n = offsets[L]
    for m in range(n_spikes):
        q = spikes[m]
        l = layer_of[q]
        qi = q - offsets[l]
        if l <= L - 2:
            n_up = offsets[l + 2] - offsets[l + 1]
            a = w_start[l + 1] + qi * n_up
            _add_row(P[offsets[l + 1] : offsets[l + 2]], wt[a : a + n_up])
        if l >= 1:
            n_lo = offsets[l] - offsets[l - 1]
            a = b_start[l - 1] + qi * n_lo
            _add_row(P[n + offsets[l - 1] : n + offsets[l]], bt[a : a + n_lo])


@nb.njit(cache=True, error_model="numpy")
def _initial_inputs(ring, pos, t_ref, params, P, U):
    """Inputs caused by the spikes of the last ``t_ref`` ticks (read from the spike ring).

    ``P[slot, r]`` (float64, forward then feedback inputs) holds the inputs caused by the spikes
    ``t_ref - slot`` ticks ago, ``U[r]`` their sum: the inputs ``W z`` and ``B z`` of the next tick.
    """
    K, b, n = ring.shape
    spikes = np.empty(n, np.int64)
    P[:] = 0.0
    U[:] = 0.0
    for m in range(t_ref, 0, -1):
        slot = t_ref - m
        old = ring[(pos - m) % K]
        for r in range(b):
            ns = 0
            for q in range(n):
                if old[r, q] != 0:
                    spikes[ns] = q
                    ns += 1
            _add_spike_inputs(P[slot, r], spikes, ns, params)
            _add_row(U[r], P[slot, r])


# The vectorised float32 sigmoid of the spike decision: e^x = e^(k/2 + 1/4) e^g with k = floor(2x)
# from a table and |g| <= 1/4 by its Taylor polynomial of degree 5 (relative error 3.4e-7, float32
# roundings add < 6e-7); x is clipped to +-(EXP_RANGE - 1/4), where the sigmoid is within 1e-17 of 0 or 1.
EXP_RANGE = 40
_EXP_TABLE = np.exp(np.arange(-2 * EXP_RANGE, 2 * EXP_RANGE) / 2 + 0.25).astype(np.float32)
_F32 = np.float32
_X_MAX, _QUARTER, _ONE, _TWO = _F32(EXP_RANGE - 0.25), _F32(0.25), _F32(1.0), _F32(2.0)
_TAYLOR = tuple(_F32(1.0 / math.factorial(m)) for m in range(6))
#: |xi - approximate sigmoid| below which the exact sigmoid decides: the approximation is within
#: 1e-6 of the exact value, which is within 2e-7 (three float32 roundings) of the true sigmoid
CLOSE = 4e-6


@nb.njit(cache=True, error_model="numpy")
def _sigmoid_exact(q, Ur, c, log_t_ref):
    """Neuron ``q``'s spike probability with the torch engine's operations, each rounded to the dtype.

    ``u = (c + W z) + B z`` (as ``addmm`` twice), then ``1 / (1 + exp(-(u - ln t_ref)))``.
    """
    n = c.shape[0]
    ft = c.dtype.type
    u = (c[q] + ft(Ur[q])) + ft(Ur[n + q])
    e = ft(math.exp(-np.float64(u - log_t_ref)))
    return ft(1.0) / (ft(1.0) + e)


@nb.njit(cache=True, error_model="numpy")
def _margins(xr, Ur, c, log_t_ref, out):
    """``out = xi - sigmoid(u - ln t_ref)`` within 1e-6 for one replica (vectorised float32, no libm call)."""
    n = xr.shape[0]
    for q in range(n):
        u = (c[q] + c.dtype.type(Ur[q])) + c.dtype.type(Ur[n + q])
        x = min(max(_F32(log_t_ref - u), -_X_MAX), _X_MAX)
        k = math.floor(_TWO * x)
        g = x - _F32(k) / _TWO - _QUARTER
        p = ((((_TAYLOR[5] * g + _TAYLOR[4]) * g + _TAYLOR[3]) * g + _TAYLOR[2]) * g + _TAYLOR[1]) * g + _TAYLOR[0]
        out[q] = xr[q] - _ONE / (_ONE + _EXP_TABLE[k + 2 * EXP_RANGE] * p)


@nb.njit(cache=True, error_model="numpy")
def _decide(xr, cr, Ur, c, t_ref, log_t_ref, margin, fired):
    """One replica's spikes this tick (into ``fired``, ascending); counters advanced in place."""
    n = cr.shape[0]
    _margins(xr, Ur, c, log_t_ref, margin)
    n_close = 0
    for q in range(n):
        n_close += (cr[q] > t_ref) & (abs(margin[q]) < CLOSE)
    if n_close > 0:  # about once in 10^4 ticks: decide with the exact float32 sigmoid
        for q in range(n):
            if (cr[q] > t_ref) & (abs(margin[q]) < CLOSE):
                margin[q] = -1 if xr[q] < _sigmoid_exact(q, Ur, c, log_t_ref) else 1
    for q in range(n):
        margin[q] = 1 if (cr[q] > t_ref) & (margin[q] < 0) else 0
        cr[q] = 1 if margin[q] > 0 else min(cr[q] + 1, BIG_COUNTER)
    nf = 0
    for q in range(n):
        if margin[q] > 0:
            fired[nf] = q
            nf += 1
    return nf


@nb.njit(cache=True, error_model="numpy")
def _tick_replica(r, t, xi, state, pos, consts, work, offsets, t_ref, scratch):
    """Tick ``t`` of replica ``r``: spikes (and where each layer's start in ``fired``), traces.

    ``scratch`` = (margin (N,) float32, sv (N,) zeros in the trace dtype): work space.
    """
    margin, sv = scratch
    counter, ring, trace = state
    c, decay, decay_k, snap, log_t_ref = consts
    U, X, fired, n_fired, lptr = work[1:]
    b, n = xi.shape[1], xi.shape[2]
    zero = trace.dtype.type(0.0)
    cr, tr, Ur = counter[r], trace[r], U[r]
    row = t * b + r
    fr = fired[row]
    nf = _decide(xi[t, r], cr, Ur, c, t_ref, log_t_ref, margin, fr)
    n_fired[row] = nf
    for m in range(nf):
        sv[fr[m]] = 1
    rg, xrow = ring[(pos + t) % ring.shape[0], r], X[row]
    for q in range(n):
        x = tr[q] * decay + sv[q] - decay_k * rg[q]
        if x < snap:
            x = zero
        tr[q] = x
        xrow[q] = x
        rg[q] = sv[q]
    for m in range(nf):
        sv[fr[m]] = 0
    m = 0
    for l in range(offsets.shape[0]):
        while m < nf and fr[m] < offsets[l]:
            m += 1
        lptr[row, l] = m


#: destination entries per tile of :func:`_update_inputs` (speed only; at the paper's sizes 128-2048 measured equal)
TILE = 512


@nb.njit(cache=True, error_model="numpy")
def _update_inputs(Ps, U, work, row0, r0, r1, params, acc):
    """Replace the inputs of ``t_ref`` ticks ago in ``Ps`` (slot, (batch, 2N)) by this tick's, and update ``U``.

    For every destination entry of replicas ``r0 .. r1 - 1`` (rows ``row0 + r``): the new input
    ``0 + w_q1 + w_q2 + ...`` over the spiking source neurons ``q`` in ascending order (the order of
    :func:`_add_spike_inputs`), then ``U = (U - old) + new``.  Tiled over the destination entries:
    the sum runs in a small buffer and the weight tile is reused by all replicas.  A neuron of layer
    ``l`` adds its row of ``W_{l+1}^T`` to the forward inputs of layer ``l + 1`` and its row of
    ``B_{l-1}^T`` to the feedback inputs of layer ``l - 1``.
    """
    offsets, _, wt, w_start, bt, b_start = params
    fired, lptr = work[3], work[5]
    L = offsets.shape[0] - 1
    n = offsets[L]
    for d in range(L):
        n_d = offsets[d + 1] - offsets[d]
        for side in range(2):
            if (side == 0 and d == 0) or (side == 1 and d == L - 1):
                continue
            src = d - 1 if side == 0 else d + 1
            mat = wt if side == 0 else bt
            start = w_start[d] if side == 0 else b_start[d]
            o0 = offsets[d] if side == 0 else n + offsets[d]
            for j0 in range(0, n_d, TILE):
                jn = min(TILE, n_d - j0)
                for r in range(r0, r1):
                    row = row0 + r
                    acc[:jn] = 0.0
                    for m in range(lptr[row, src], lptr[row, src + 1]):
                        base = start + (fired[row, m] - offsets[src]) * n_d + j0
                        _add_row(acc[:jn], mat[base : base + jn])
                    Pr, Ur = Ps[r, o0 + j0 : o0 + j0 + jn], U[r, o0 + j0 : o0 + j0 + jn]
                    for j in range(jn):
                        Ur[j] = (Ur[j] - Pr[j]) + acc[j]
                        Pr[j] = acc[j]


@nb.njit(cache=True, error_model="numpy")
def _simulate_replicas(r0, r1, xi, state, pos, params, consts, work, t_ref, tick0):
    """Run ``xi.shape[0]`` ticks of the replicas ``r0 .. r1 - 1`` (see :func:`_simulate_chunk`)."""
    P, U = work[0], work[1]
    k, b, n = xi.shape
    scratch = (np.empty(n, dtype=np.float32), np.zeros(n, dtype=state[2].dtype))
    acc = np.empty(TILE)
    for t in range(k):
        for r in range(r0, r1):
            _tick_replica(r, t, xi, state, pos, consts, work, params[0], t_ref, scratch)
        _update_inputs(P[(tick0 + t) % t_ref], U, work, t * b, r0, r1, params, acc)


@nb.njit(cache=True, error_model="numpy", parallel=True)
def _simulate_chunk(xi, state, pos, params, consts, work, t_ref, tick0, groups):
    """Run ``xi.shape[0]`` ticks in place on ``state`` = (counter, ring, trace); return the new ring position.

    ``consts`` = (c, decay, decay_K, snap, ln t_ref) in the simulation dtype; ``work`` = (P, U, X,
    fired, n_fired, lptr): the input ring and sums of :func:`_initial_inputs` (continued), the
    traces after every tick (row ``t * batch + r``) and the spiking neurons of every row
    (``fired[row, :n_fired[row]]``, ascending; layer ``l``'s from ``lptr[row, l]`` to
    ``lptr[row, l + 1]``).  ``tick0`` is the tick index within the run (selects the input ring
    slot).  The replicas are split into ``groups`` (consecutive replicas) that run in parallel;
    every replica computes the same operations in the same order whatever the grouping.
    """
    b = xi.shape[1]
    for g in nb.prange(groups):
        _simulate_replicas(g * b // groups, (g + 1) * b // groups, xi, state, pos, params, consts, work, t_ref, tick0)
    return (pos + xi.shape[0]) % state[1].shape[0]


@nb.njit(cache=True, error_model="numpy")
def _rows_by_neuron(fired, n_fired, ptr, rows, counts):
    """Group the spikes by neuron: neuron ``q`` spiked in rows ``rows[ptr[q]:ptr[q + 1]]``, ascending.

    Adds every neuron's spikes to ``counts``.
    """
    n = ptr.shape[0] - 1
    ptr[:] = 0
    for row in range(n_fired.shape[0]):
        for m in range(n_fired[row]):
            ptr[fired[row, m] + 1] += 1
    for q in range(n):
        counts[q] += ptr[q + 1]
        ptr[q + 1] += ptr[q]
    fill = ptr[:n].copy()
    for row in range(n_fired.shape[0]):
        for m in range(n_fired[row]):
            q = fired[row, m]
            rows[fill[q]] = row
            fill[q] += 1


@nb.njit(cache=True, error_model="numpy")
def _add_chunk_delta(delta, D, DT):
    """``delta += D; delta += DT^T``, two roundings per entry as the torch engine's two in-place adds."""
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            delta[i, j] = (delta[i, j] + D[i, j]) + DT[j, i]


@nb.njit(cache=True, error_model="numpy")
def _accumulate_row(X, ptr, rows, q, src0, n_src, d, sign):
    """``d += sign * X[row, src0:src0 + n_src]`` for every row in which neuron ``q`` spiked, in ascending order."""
    for p in range(ptr[q], ptr[q + 1]):
        xr = X[rows[p], src0 : src0 + n_src]
        if sign > 0:
            for j in range(n_src):
                d[j] += xr[j]
        else:
            for j in range(n_src):
                d[j] -= xr[j]


@nb.njit(cache=True, error_model="numpy", parallel=True)
def _accumulate_block(X, ptr, rows, offsets, D, DT):
    """``D_l -= S_lo^T X_up``, ``DT_l += S_up^T X_lo`` for all layers, event-driven, one matrix row per task.

    Every entry adds its terms in ascending row order, exactly as :func:`_accumulate_events` does,
    so the float sums are identical whatever the thread count; grouping by neuron keeps the row in
    the L1 cache (column tiles were measured slower: the pass is bound by reading ``X``).  The
    rows of all matrices run in one parallel loop (one synchronisation per block).
    """
    n_d = offsets.shape[0] - 2  # number of feedback matrices
    n_low = offsets[n_d]  # rows of all D_l: neurons 0 .. offsets[-2] - 1; of all DT_l: offsets[1] .. N - 1
    n_tasks = n_low + offsets[-1] - offsets[1]
    for task in nb.prange(n_tasks):
        if task < n_low:  # row q of D_l (q in layer l): minus the upper layer's traces
            q = task
            l = np.searchsorted(offsets, q, side="right") - 1
            i = q - offsets[l]
            _accumulate_row(X, ptr, rows, q, offsets[l + 1], offsets[l + 2] - offsets[l + 1], D[l][i], -1)
        else:  # row of DT_l for neuron q of layer l + 1: plus the lower layer's traces
            q = task - n_low + offsets[1]
            l = np.searchsorted(offsets, q, side="right") - 2
            j = q - offsets[l + 1]
            _accumulate_row(X, ptr, rows, q, offsets[l], offsets[l + 1] - offsets[l], DT[l][j], 1)


@dataclass(frozen=True)
class SALRuntime:
    """Where and how a :class:`SALNet` simulates (none of it changes the model).

    ``device``, ``dtype``: where and in which precision; ``chunk``: ticks per block of uniforms and
    per accumulation pass (performance only; it changes the random stream, not the statistics);
    ``threads``: CPU threads (see :class:`SALNet`); ``engine``: ``"numba"``, ``"torch"``, ``"fast"``
    or ``None`` (numba on the CPU, torch elsewhere).
    """

    device: str | torch.device = "cpu"
    dtype: torch.dtype = torch.float32
    chunk: int = 50
    threads: int = 1
    engine: str | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], device: str | torch.device | None = None) -> SALRuntime:
        """From validated SAL estimator settings (``dtype`` named, ``chunk``, ``threads``, ``engine``)."""
        return cls(device if device is not None else "cpu", getattr(torch, settings["dtype"]), settings["chunk"],
                   settings["threads"], settings.get("engine"))  # fmt: skip


def _sal_update_feedback(B: torch.Tensor, delta: torch.Tensor, lr: float, K: int, batch: int) -> torch.Tensor:
    r"""The SAL update of one feedback matrix: :math:`B \leftarrow B + \frac{\eta}{K}\,\frac{1}{batch}\,\Delta`.

    Then :math:`\Delta \leftarrow 0`.  In place on ``B`` and ``delta``; returns the increment ``dB``.
    """
    dB = delta * (lr / (K * batch))
    B += dB
    delta.zero_()
    return dB


def numba_threads(threads: int) -> int:
    """The numba engine's thread count for the ``threads`` setting: ``0`` = all cores numba may use."""
    most = int(getattr(nb.config, "NUMBA_NUM_THREADS"))  # noqa: B009  (set at run time: invisible to mypy)
    return most if threads <= 0 else min(int(threads), most)


class SALNet:
    """Batched spiking network with SAL plasticity on its top-down feedback matrices.

    Parameters
    ----------
    sizes : layer sizes ``[n_0, ..., n_{L-1}]`` (at least two).
    t_ref : refractory period and PSP length in ticks (10 in the reference).
    lr : SAL learning rate ``eta`` (one float for all feedback matrices or one per matrix).
    batch_size : number of independent replicas.
    buffer_length : trace length in units of ``t_ref`` (2 in the reference).
    seed : seed of the torch generator used for the escape-noise uniforms.
    runtime : :class:`SALRuntime` (device, dtype, chunk, threads, engine); its fields may also be
        given as keywords (``device="cuda", dtype=torch.float64``), replacing those of ``runtime``.
    device, dtype : where and in which precision to simulate.
    chunk : ticks per block of uniforms and per accumulation pass (performance only; it changes
        the random stream, not the statistics).
    threads : CPU threads of the simulation.  Torch engine: torch intra-op threads (default 1: the
        per-tick kernels are small, and on a shared or loaded CPU two OpenMP threads were measured
        5-20x slower than one); ``0`` keeps torch's setting.  Numba engine: threads over the
        replicas and over the rows of ``Delta`` (``0`` = all cores); the results do not depend on it.
    init_rng : numpy Generator for the initial parameters (see docs/deep.md, "SAL estimator"):
        ``W_l ~ U(+-1/sqrt(n_{l-1}))``, ``B_l ~ U(+-1/sqrt(n_{l+1}))``, ``c_l ~ U(+-1/sqrt(n_l))``;
        default derives from ``seed``.
    engine : ``"numba"`` (default on the CPU: one compiled kernel per chunk, incremental
        potentials) or ``"torch"`` (default elsewhere: per-tick torch operations, dense GEMMs);
        both give the same spikes and updates (module docstring).

    Attributes
    ----------
    event_driven : ``False`` forces the torch per-tick loop with one dense accumulation GEMM per
        chunk (the GPU path) whatever the engine; default ``True`` on the CPU.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        t_ref: int = 10,
        lr: float | Sequence[float] = 0.04,
        batch_size: int = 32,
        buffer_length: int = 2,
        seed: int = 0,
        init_rng: np.random.Generator | None = None,
        runtime: SALRuntime | None = None,
        **runtime_options: Any,
    ):
        runtime = dataclasses.replace(runtime or SALRuntime(), **runtime_options)
        device, dtype, engine = runtime.device, runtime.dtype, runtime.engine
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"SALNet needs at least two layers of positive size, got {sizes}")
        self.sizes = sizes
        self.L = len(sizes)
        self.t_ref = int(t_ref)
        self.buffer_length = int(buffer_length)
        self.K = self.buffer_length * self.t_ref
        if isinstance(lr, int | float):
            self.lr = [float(lr)] * (self.L - 1)
        else:
            self.lr = [float(x) for x in lr]
            if len(self.lr) != self.L - 1:
                raise ValueError(f"lr needs {self.L - 1} values (one per feedback matrix), got {len(self.lr)}")
        self.batch = int(batch_size)
        self.device = torch.device(device)
        self.dtype = dtype
        self.chunk = max(1, int(runtime.chunk))
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.N = int(self.offsets[-1])
        self.decay = math.exp(-1.0 / self.t_ref)
        self.decay_k = math.exp(-self.K / self.t_ref)
        self.log_t_ref = math.log(self.t_ref)
        self.snap = 0.5 * math.exp(-(self.K - 1) / self.t_ref)

        rng = init_rng if init_rng is not None else np.random.default_rng(seed)

        def tensor(values: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(values, device=self.device, dtype=dtype)

        self.W: list[torch.Tensor | None] = [None]
        for l in range(1, self.L):
            bound = 1.0 / math.sqrt(sizes[l - 1])
            self.W.append(tensor(rng.uniform(-bound, bound, (sizes[l], sizes[l - 1]))))
        self.B: list[torch.Tensor] = []
        for l in range(self.L - 1):
            bound = 1.0 / math.sqrt(sizes[l + 1])
            self.B.append(tensor(rng.uniform(-bound, bound, (sizes[l], sizes[l + 1]))))
        self.c = [tensor(rng.uniform(-(n**-0.5), n**-0.5, n)) for n in sizes]

        self.threads = int(runtime.threads)
        self.engine = engine if engine is not None else ("numba" if self.device.type == "cpu" else "torch")
        if self.engine not in ENGINES:
            raise ValueError(f"SALNet engine {self.engine!r} is not one of {ENGINES}")
        if self.engine in ("numba", "fast") and self.device.type != "cpu":
            raise ValueError(
                f"SALNet engine {self.engine!r} runs on the CPU only, not on {self.device}; use engine='torch'"
            )
        #: accumulate event-driven on the CPU rather than with one dense GEMM per chunk
        self.event_driven = self.device.type == "cpu"
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(seed))
        self.reset_state()

    # ------------------------------------------------------------------ state
    def reset_state(self) -> None:
        """Silence the network: no spike in memory, counters at "never spiked", zero traces and Delta."""
        b, n = self.batch, self.N
        self.counter = torch.full((b, n), BIG_COUNTER, dtype=torch.int32, device=self.device)
        self.ring = torch.zeros((self.K, b, n), dtype=self.dtype, device=self.device)
        self.pos = 0
        self.trace = torch.zeros((b, n), dtype=self.dtype, device=self.device)
        self.delta = [torch.zeros_like(B) for B in self.B]
        self.ticks_accumulated = 0
        self.spike_count = torch.zeros(n, dtype=torch.float64, device=self.device)
        self.ticks_total = 0

    def state_dict(self) -> dict:
        """Everything needed to continue bit-identically: parameters, spiking state, RNG state."""
        cpu = lambda t: t.detach().cpu().clone()  # noqa: E731
        return {
            "sizes": list(self.sizes),
            "W": [None] + [cpu(w) for w in self.W[1:]],
            "B": [cpu(B) for B in self.B],
            "c": [cpu(c) for c in self.c],
            "counter": cpu(self.counter),
            "ring": cpu(self.ring),
            "pos": self.pos,
            "trace": cpu(self.trace),
            "delta": [cpu(d) for d in self.delta],
            "ticks_accumulated": self.ticks_accumulated,
            "spike_count": cpu(self.spike_count),
            "ticks_total": self.ticks_total,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, d: dict) -> None:
        if list(d["sizes"]) != self.sizes:
            raise ValueError(f"SAL state for sizes {d['sizes']} cannot be loaded into a net of sizes {self.sizes}")
        dev = lambda t: t.to(self.device).clone().contiguous()  # noqa: E731  (never share d's tensors)
        self.W = [None] + [dev(w).to(self.dtype) for w in d["W"][1:]]
        self.B = [dev(B).to(self.dtype) for B in d["B"]]
        self.c = [dev(c).to(self.dtype) for c in d["c"]]
        self.counter = dev(d["counter"])
        self.ring = dev(d["ring"]).to(self.dtype)
        self.pos = int(d["pos"])
        self.trace = dev(d["trace"]).to(self.dtype)
        self.delta = [dev(x).to(self.dtype) for x in d["delta"]]
        self.ticks_accumulated = int(d["ticks_accumulated"])
        self.spike_count = dev(d["spike_count"])
        self.ticks_total = int(d["ticks_total"])
        self.generator.set_state(d["generator"])

    def forward_matrix(self, l: int) -> torch.Tensor:
        """``W_l`` (n_l, n_{l-1}) of layer ``l >= 1`` (layer 0 has none)."""
        w = self.W[l]
        if w is None:
            raise ValueError(f"layer {l} of a SALNet has no forward matrix (layers 1 .. {self.L - 1} do)")
        return w

    def _sl(self, l: int) -> slice:
        return slice(int(self.offsets[l]), int(self.offsets[l + 1]))

    # ------------------------------------------------------------------ dynamics
    @torch.no_grad()
    def run(self, n_ticks: int) -> None:
        """Simulate ``n_ticks`` ticks, adding the SAL pair terms to ``delta`` (no weight change)."""
        old, old_nb = torch.get_num_threads(), nb.get_num_threads()
        if self.threads > 0 and self.device.type == "cpu":
            torch.set_num_threads(self.threads)
        try:
            if self.engine in ("numba", "fast") and self.event_driven:
                nb.set_num_threads(numba_threads(self.threads))
                # dynamic scheduling in small chunks: a thread that shares its core with another
                # process takes fewer tasks instead of holding the others up at every block
                old_chunk = nb.set_parallel_chunksize(1 if nb.get_num_threads() > 1 else 0)
                try:
                    if self.engine == "fast":
                        from .sal_fast_engine import run_fast

                        run_fast(self, int(n_ticks))
                    else:
                        self._run_numba(int(n_ticks))
                finally:
                    nb.set_parallel_chunksize(old_chunk)
                return
            done = 0
            while done < n_ticks:
                k = min(self.chunk, n_ticks - done)
                self._run_chunk(k)
                done += k
        finally:
            if torch.get_num_threads() != old:
                torch.set_num_threads(old)
            nb.set_num_threads(old_nb)

    def _kernel_params(self) -> tuple:
        """The weights as the numba kernels read them: rows of every ``W_l^T`` and ``B_l^T``, concatenated."""
        np_t = lambda t: t.detach().to(self.dtype).cpu().contiguous().numpy()  # noqa: E731
        wts = [np_t(self.forward_matrix(l).T).ravel() for l in range(1, self.L)]
        bts = [np_t(self.B[l].T).ravel() for l in range(self.L - 1)]
        # W_l^T starts at w_start[l] (l >= 1), B_l^T at b_start[l]
        w_start = np.concatenate([[0, 0], np.cumsum([w.size for w in wts])[:-1]]).astype(np.int64)
        b_start = np.concatenate([[0], np.cumsum([x.size for x in bts])[:-1]]).astype(np.int64)
        offsets = self.offsets.astype(np.int64)
        layer_of = np.repeat(np.arange(self.L), self.sizes).astype(np.int64)
        return offsets, layer_of, np.concatenate(wts), w_start, np.concatenate(bts), b_start

    def _numba_buffers(self, np_dtype: np.dtype) -> tuple:
        """The numba engine's work arrays, kept between runs (fresh ones cost page faults every run).

        The uniforms of a chunk are drawn block by block into ``xbuf``: the same stream as one
        ``torch.rand((chunk, batch, N))``.
        """
        b, n = self.batch, self.N
        rows_max = min(ACC_TICKS, self.chunk) * b
        key = (b, n, self.t_ref, rows_max, np_dtype)
        if getattr(self, "_numba_key", None) != key:
            self._numba_work = (
                np.empty((self.t_ref, b, 2 * n)),  # P
                np.empty((b, 2 * n)),  # U
                np.empty((rows_max, n), dtype=np_dtype),  # X
                np.empty((rows_max, n), dtype=np.int32),  # fired
                np.empty(rows_max, dtype=np.int64),  # n_fired
                np.empty((rows_max, self.L + 1), dtype=np.int64),  # lptr
                np.empty(n + 1, dtype=np.int64),  # ptr
                np.empty(rows_max * n, dtype=np.int32),  # rows
                torch.empty((min(ACC_TICKS, self.chunk), b, n), dtype=self.dtype),  # xbuf
                tuple(np.empty((self.sizes[l], self.sizes[l + 1]), dtype=np_dtype) for l in range(self.L - 1)),
                tuple(np.empty((self.sizes[l + 1], self.sizes[l]), dtype=np_dtype) for l in range(self.L - 1)),
            )
            self._numba_key = key
        return self._numba_work

    def _run_numba(self, n_ticks: int) -> None:
        """The numba engine: the weights are fixed during a run, so the input sums are set up once."""
        b, n = self.batch, self.N
        params = self._kernel_params()
        np_dtype = self.trace.numpy().dtype
        c = np.concatenate([cl.detach().to(self.dtype).cpu().numpy() for cl in self.c])
        cast = np_dtype.type
        consts = (c, cast(self.decay), cast(self.decay_k), cast(self.snap), cast(self.log_t_ref))
        P, U, X, fired, n_fired, lptr, ptr, rows, xbuf, D, DT = self._numba_buffers(np_dtype)
        _initial_inputs(self.ring.numpy(), self.pos, self.t_ref, params, P, U)
        state = (self.counter.numpy(), self.ring.numpy(), self.trace.numpy())
        groups = 1 if nb.get_num_threads() == 1 else b  # replicas in parallel: one task each, handed out dynamically
        done = 0
        while done < n_ticks:
            k = min(self.chunk, n_ticks - done)
            counts = np.zeros(n, dtype=np.int64)
            for d in (*D, *DT):
                d.fill(0)
            # blocks of ACC_TICKS ticks: their traces are still in the cache when their pair terms are
            # added; Delta's entries still add their terms in ascending row order
            for t0 in range(0, k, ACC_TICKS):
                m = (min(k, t0 + ACC_TICKS) - t0) * b
                work = (P, U, X[:m], fired[:m], n_fired[:m], lptr[:m])
                xb = xbuf[: m // b].uniform_(generator=self.generator).numpy()
                if groups > 1:
                    nb.set_parallel_chunksize(1)
                self.pos = int(
                    _simulate_chunk(xb, state, self.pos, params, consts, work, self.t_ref, done + t0, groups)
                )
                _rows_by_neuron(fired[:m], n_fired[:m], ptr, rows, counts)
                if groups > 1:
                    nb.set_parallel_chunksize(ACC_TASK_CHUNK)
                _accumulate_block(X, ptr, rows, params[0], D, DT)
            for l in range(self.L - 1):
                _add_chunk_delta(self.delta[l].numpy(), D[l], DT[l])
            self.spike_count += torch.from_numpy(counts).to(torch.float64)
            done += k
            self.ticks_accumulated += k
            self.ticks_total += k

    def _run_chunk(self, k: int) -> None:
        """The torch engine: one chunk of ``k`` ticks as a per-tick loop of torch operations."""
        b, n = self.batch, self.N
        xi = torch.rand((k, b, n), generator=self.generator, device=self.device, dtype=self.dtype)
        S = torch.empty((k, b, n), dtype=self.dtype, device=self.device)
        X = torch.empty((k, b, n), dtype=self.dtype, device=self.device)
        u = torch.empty((b, n), dtype=self.dtype, device=self.device)
        t_ref = self.t_ref
        for t in range(k):
            z = (self.counter <= t_ref).to(self.dtype)
            for l in range(self.L):
                ul = u[:, self._sl(l)]
                ul.copy_(self.c[l].expand(b, -1))
                if l >= 1:
                    ul.addmm_(z[:, self._sl(l - 1)], self.forward_matrix(l).T)
                if l <= self.L - 2:
                    ul.addmm_(z[:, self._sl(l + 1)], self.B[l].T)
            p = torch.sigmoid(u - self.log_t_ref)
            fire = (xi[t] < p) & (self.counter > t_ref)
            s = fire.to(self.dtype)
            self.counter = torch.where(fire, torch.ones_like(self.counter), self.counter + 1).clamp_(max=BIG_COUNTER)
            old = self.ring[self.pos]
            self.trace.mul_(self.decay).add_(s).sub_(old, alpha=self.decay_k)
            # exact values are 0 or >= exp(-(K-1)/t_ref); snap rounding residue to 0 (no denormals)
            self.trace.masked_fill_(self.trace < self.snap, 0.0)
            old.copy_(s)
            self.pos = (self.pos + 1) % self.K
            S[t] = s
            X[t] = self.trace
        self.spike_count += S.sum(dim=(0, 1), dtype=torch.float64)
        if self.event_driven:
            # event-driven: only spikes (~5 % of the entries) add a trace row, ~80x fewer operations
            S2, X2 = S.reshape(k * b, n).numpy(), X.reshape(k * b, n).numpy()
            for l in range(self.L - 1):
                lo, up = self._sl(l), self._sl(l + 1)
                D = np.zeros((self.sizes[l], self.sizes[l + 1]), dtype=S2.dtype)
                DT = np.zeros((self.sizes[l + 1], self.sizes[l]), dtype=S2.dtype)
                _accumulate_events(S2, X2, lo.start, lo.stop, up.start, up.stop, D, DT)
                self.delta[l] += torch.from_numpy(D)
                self.delta[l] += torch.from_numpy(DT).T
        else:
            for l in range(self.L - 1):
                lo, up = self._sl(l), self._sl(l + 1)
                A = torch.cat((-S[:, :, lo], X[:, :, lo]), dim=0).reshape(2 * k * b, -1)
                C = torch.cat((X[:, :, up], S[:, :, up]), dim=0).reshape(2 * k * b, -1)
                self.delta[l].addmm_(A.T, C)
        self.ticks_accumulated += k
        self.ticks_total += k

    @torch.no_grad()
    def apply_update(self) -> list[torch.Tensor]:
        """``B_l += eta_l / K * Delta_l / batch``; zero ``Delta``; return the applied increments."""
        steps = [
            _sal_update_feedback(self.B[l], self.delta[l], self.lr[l], self.K, self.batch) for l in range(self.L - 1)
        ]
        self.ticks_accumulated = 0
        return steps

    def iterate(self, n_iterations: int, ticks_per_iteration: int) -> None:
        """``n_iterations`` SAL iterations: simulate, then update the feedback matrices."""
        for _ in range(n_iterations):
            self.run(ticks_per_iteration)
            self.apply_update()

    def rates(self) -> list[float]:
        """Mean spike probability per tick of each layer since the last reset."""
        if self.ticks_total == 0:
            return [0.0] * self.L
        per = self.spike_count / (self.ticks_total * self.batch)
        return [float(per[self._sl(l)].mean()) for l in range(self.L)]


def sal_pair_accumulation(
    lower_spikes: np.ndarray, upper_spikes: np.ndarray, t_ref: int = 10, buffer_length: int = 2
) -> np.ndarray:
    r"""SAL's accumulated pair term from recorded spike trains of one connection.

    Parameters
    ----------
    lower_spikes : (T, n_low) or (T, batch, n_low) binary spikes of the lower (post) population.
    upper_spikes : (T, n_up) or (T, batch, n_up) binary spikes of the upper (pre) population.

    Returns
    -------
    Delta : (n_low, n_up), ``sum_t sum_b (-s_i x_j + x_i s_j)`` with the truncated traces
        ``x(t) = sum_{m=0}^{K-1} exp(-m/t_ref) s(t-m)``, ``K = buffer_length * t_ref``.  The SAL
        update of the top-down matrix is ``B += eta / K * Delta / batch``.
    """
    lo = np.asarray(lower_spikes, dtype=np.float64)
    up = np.asarray(upper_spikes, dtype=np.float64)
    if lo.ndim == 2:
        lo, up = lo[:, None, :], up[:, None, :]
    if lo.shape[:2] != up.shape[:2]:
        raise ValueError(f"spike arrays need the same (T, batch), got {lo.shape[:2]} and {up.shape[:2]}")
    K = int(buffer_length * t_ref)
    kern = np.exp(-np.arange(K) / t_ref)

    def traces(s):
        x = np.zeros_like(s)
        for m in range(K):
            x[m:] += kern[m] * s[: s.shape[0] - m]
        return x

    xl, xu = traces(lo), traces(up)
    T, b = lo.shape[:2]
    A = np.concatenate([-lo, xl]).reshape(2 * T * b, -1)
    C = np.concatenate([xu, up]).reshape(2 * T * b, -1)
    return A.T @ C
