"""Compiled kernels of the wake-sleep trainer (:mod:`spikealign.sampling.trainer`).

Both run the simulator's event-driven phase (:func:`spikealign.sampling.simulator._event_phase`)
with the STDP rulers accumulated on the fly, for a batch of runs in parallel (``prange``).  The
cycle they implement is described in docs/sampling.md, "Wake-sleep learning with SAL".

numba's on-disk cache (``cache=True``) checks only this file's time stamp, not those of the
kernels it inlines: after editing ``simulator.py`` or ``stdp.py`` in a checkout, delete the
``__pycache__`` folder next to this file so that these kernels are compiled again.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .simulator import _event_phase

__all__ = ["phase_stats_kernel", "train_iterations_kernel"]


@nb.njit(cache=True, parallel=True)
def train_iterations_kernel(W, b, rng, n_iters, T, t_ref, tau_syn, C, m, kinds, rulers, lr, clip, hist, sample_dt):
    """n_iters wake-sleep cycles for each run r (prange), in place on W, b, rng; hist (R, 2^N or 0)."""
    R, N = b.shape
    n_rulers = kinds.size
    rec_t = np.zeros(0, dtype=np.int32)
    rec_i = np.zeros(0, dtype=np.int16)
    for r in nb.prange(R):
        counts = np.zeros(N, dtype=np.int64)
        S = np.zeros((n_rulers, N, N))
        Wr = W[r]
        br = b[r]
        for _ in range(n_iters):
            counts[:] = 0
            S[:] = 0.0
            _event_phase(
                Wr, br, T, t_ref, tau_syn, rng[r], rec_t, rec_i, counts, kinds,
                rulers[r], S, hist[r], sample_dt,
            )  # fmt: skip
            norm = t_ref / T
            for i in range(N):
                br[i] = br[i] + lr[r, 0] * (m[r, i] - counts[i] * norm)
            for i in range(N):
                for j in range(N):
                    Wr[i, j] = Wr[i, j] + lr[r, 1] * (C[r, i, j] - S[0, i, j] * norm)
            if n_rulers > 1:
                for i in range(N):
                    for j in range(N):
                        Wr[i, j] = Wr[i, j] + lr[r, 2] * (S[1, i, j] * norm)
            for i in range(N):
                br[i] = min(max(br[i], -clip[r, 1]), clip[r, 1])
                for j in range(N):
                    Wr[i, j] = min(max(Wr[i, j], -clip[r, 0]), clip[r, 0])


@nb.njit(cache=True, parallel=True)
def phase_stats_kernel(W, b, T, t_ref, tau_syn, rng, kinds, rulers, counts, S, hist, sample_dt):
    R = b.shape[0]
    rec_t = np.zeros(0, dtype=np.int32)
    rec_i = np.zeros(0, dtype=np.int16)
    for r in nb.prange(R):
        _event_phase(W[r], b[r], T, t_ref, tau_syn, rng[r], rec_t, rec_i, counts[r], kinds, rulers[r], S[r], hist[r],
                     sample_dt)  # fmt: skip
