r"""Per-step sampling kernel for larger networks: cost per spike that does not grow with N.

The process is the one of :mod:`spikealign.sampling.simulator` (``W[post, pre]``)::

    u_i(t)   = b_i + sum_j W_ij P_j(t),      P_j(t) = #{spikes s of j with 0 < t - s < tau_syn}
    rho_i(t) = 1 / (1 + t_ref * exp(-u_i(t)))
    i spikes at t  with probability rho_i(t)  iff  t >= s_i + t_ref + 1

The exact event-driven kernel redraws the next spike of every eligible neuron whenever a
potential changes, so a spike costs O(N) logarithms; with N = 1000 that is about 13 us per spike.
This kernel steps through time instead and keeps the work per step to what vectorises:

* every step, every neuron compares a counter-based uniform (:mod:`spikealign.spiking.counter_rng`,
  a hash of ``(seed, step, neuron)``) with its probability, written without a division or a libm
  call as ``xi (1 + e^{\ln t_ref - u_i}) < 1`` (float32 exponential, relative error below 2e-6);
* a spike adds its column of ``W`` to the potentials at the next step and removes it ``tau_syn``
  steps after it (float64 sums of the float32-rounded weights, so the sums do not drift; sparse
  weights, at most half non-zero, as CSR columns).

It draws different random numbers than the exact kernel: the spike trains are another sample of
the same process (tests/sampling/test_simulator_fast.py compares rates and pairwise activity over
seeds).  For the paper's N = 7 networks the exact event-driven kernel is faster (about 0.06
spikes per step); ``bench sampling_scaling`` measures both side by side.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..spiking.counter_rng import EXP_RANGE, exp32, tick_key, uniform
from .simulator import SpikeTrains, _as_seeds, _collect, check_network

__all__ = ["simulate_spikes_fast"]


@nb.njit(cache=True, error_model="numpy")
def _add_column(u, j, ptr, idx, val, sign):
    """``u += sign * W[:, j]`` from the CSR columns ``(ptr, idx, val)``."""
    for k in range(ptr[j], ptr[j + 1]):
        u[idx[k]] += sign * val[k]


@nb.njit(cache=True, error_model="numpy")
def _add_dense(u, col, sign):
    """``u += sign * col``."""
    for i in range(u.shape[0]):
        u[i] += sign * col[i]


@nb.njit(cache=True, error_model="numpy")
def _step_phase(WT, ptr, idx, val, sparse, b, T, t_ref, tau_syn, key, times, ids):
    """One replica, ``T`` steps from silence; records spikes; returns their number."""
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
                j = ring[slot, m]
                if sparse:
                    _add_column(u, j, ptr, idx, val, -1.0)
                else:
                    _add_dense(u, WT[j], -1.0)
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
            times[n_spikes] = t
            ids[n_spikes] = i
            n_spikes += 1
            if tau_syn > 1:  # the PSP acts from the next step on
                ring[slot, m] = i
                if sparse:
                    _add_column(u, i, ptr, idx, val, 1.0)
                else:
                    _add_dense(u, WT[i], 1.0)
        ring_n[slot] = nf if tau_syn > 1 else 0
    return n_spikes


@nb.njit(cache=True, parallel=True)
def _step_batch(WT, ptr, idx, val, sparse, b, T, t_ref, tau_syn, keys, times, ids, nspk):
    for r in nb.prange(b.shape[0]):
        nspk[r] = _step_phase(WT[r], ptr[r], idx[r], val[r], sparse, b[r], T, t_ref, tau_syn, keys[r], times[r], ids[r])


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


def simulate_spikes_fast(
    W: np.ndarray, b: np.ndarray, n_steps: int, *, t_ref: int, tau_syn: int, seeds: np.ndarray
) -> SpikeTrains:
    """Simulate R independent free-running networks with the per-step kernel (module docstring).

    Same arguments and result as :func:`spikealign.sampling.simulate_spikes`; a different random
    stream (``seeds[r]`` keys replica ``r``'s counter-based uniforms), the same process.
    """
    W, b = check_network(W, b, n_steps, t_ref, tau_syn)
    R, N = b.shape
    seeds = _as_seeds(seeds, R)
    T = int(n_steps)
    sparse = np.count_nonzero(W) <= W.size // 2
    if sparse:
        ptr, idx, val = _csr_columns(W)
        WT = np.zeros((R, 1, 1), dtype=np.float32)
    else:
        ptr, idx, val = np.zeros((R, 1), np.int64), np.zeros((R, 1), np.int64), np.zeros((R, 1), np.float32)
        WT = np.ascontiguousarray(W.transpose(0, 2, 1), dtype=np.float32)
    cap = N * (T // (int(t_ref) + 1) + 1)
    times = np.empty((R, cap), dtype=np.int32)
    ids = np.empty((R, cap), dtype=np.int16)
    nspk = np.zeros(R, dtype=np.int64)
    keys = seeds.astype(np.uint64)
    _step_batch(WT, ptr, idx, val, sparse, b, np.int64(T), np.int64(t_ref), np.int64(tau_syn), keys, times, ids, nspk)
    return _collect(times, ids, nspk, N, T)
