"""Compiled kernels of the wake-sleep trainer (:mod:`spikealign.sampling.trainer`).

Both run the simulator's event-driven phase (:func:`spikealign.sampling.simulator._event_phase`)
with the STDP rulers accumulated on the fly, for a batch of runs in parallel (``prange``).  The
cycle they implement is described in docs/sampling.md, "Wake-sleep learning with SAL".

The kernels call compiled functions of other files (``simulator.py``, ``stdp.py``); their cache is
keyed to the kernel sources (:mod:`spikealign._numba_cache`), so an edit there recompiles them.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from .simulator import PhaseStats, Recording, _event_phase

__all__ = ["Phase", "Plasticity", "Targets", "phase_stats_kernel", "train_iterations_kernel"]


class Phase(NamedTuple):
    """What every simulated phase shares (times in steps)."""

    t_ref: np.int64  # refractory period
    tau_syn: np.int64  # PSP length
    kinds: np.ndarray  # (K,) kernel kind of each STDP ruler (``stdp.KERNELS``)
    rulers: np.ndarray  # (R, K, 4, N, N): A+, A-, tau+, tau- of each ruler, per run
    sample_dt: np.int64  # steps between two samples of the network state (histograms)


class Targets(NamedTuple):
    """The target statistics of each run: ``C`` (R, N, N) correlations and ``m`` (R, N) means."""

    C: np.ndarray
    m: np.ndarray


class Plasticity(NamedTuple):
    """Per-run learning rates and clipping bounds, each of shape (R,)."""

    lr_b: np.ndarray  # bias
    lr_w: np.ndarray  # weight (wake-sleep)
    lr_sal: np.ndarray  # symmetrisation (SAL ruler)
    max_w: np.ndarray  # |W| <= max_w
    max_b: np.ndarray  # |b| <= max_b

    @classmethod
    def from_arrays(cls, lr: np.ndarray, clip: np.ndarray, n_runs: int) -> Plasticity:
        """From ``lr`` (bias, weight, symm) and ``clip`` (max_w, max_b), each broadcast to ``n_runs`` rows."""
        lr = np.broadcast_to(np.asarray(lr, dtype=np.float64), (n_runs, 3))
        clip = np.broadcast_to(np.asarray(clip, dtype=np.float64), (n_runs, 2))
        return cls(*(np.ascontiguousarray(col) for col in (lr[:, 0], lr[:, 1], lr[:, 2], clip[:, 0], clip[:, 1])))


# the steps of the update are plain compiled functions, not inlined: inlined into the prange body they
# measured 4-7 % slower training (kernel-level, side by side), called they are as fast as the original loops
@nb.njit(cache=True)
def _wake_sleep_update(Wr, br, counts, S, targets, r, lr_b, lr_w, norm):
    r"""The wake-sleep step of one run: :math:`b_i \mathrel{+}= \eta_b (m_i - n_i\,t_{ref}/T)`.

    Then :math:`W_{ij} \mathrel{+}= \eta_w (C_{ij} - S_{0,ij}\,t_{ref}/T)`; ``norm = t_ref / T``;
    ``n_i`` the spike counts and ``S_0 = S[0]`` the sums of the first ruler (the correlation
    estimate) of the phase just run; ``C = targets.C[r]``, ``m = targets.m[r]``.
    """
    N = br.shape[0]
    C, m = targets
    for i in range(N):
        br[i] = br[i] + lr_b * (m[r, i] - counts[i] * norm)
    for i in range(N):
        for j in range(N):
            Wr[i, j] = Wr[i, j] + lr_w * (C[r, i, j] - S[0, i, j] * norm)


@nb.njit(cache=True)
def _sal_update_ruler(Wr, S, lr_sal, norm):
    r"""The SAL symmetrisation of one run: :math:`W_{ij} \mathrel{+}= \eta_{sal}\, S_{1,ij}\, t_{ref}/T`.

    ``S_1 = S[1]`` holds the sums of the SAL ruler (the STDP window over the phase's spike pairs).
    """
    N = Wr.shape[0]
    for i in range(N):
        for j in range(N):
            Wr[i, j] = Wr[i, j] + lr_sal * (S[1, i, j] * norm)


@nb.njit(cache=True)
def _clip(Wr, br, max_w, max_b):
    """``b`` clipped to ``[-max_b, max_b]``, ``W`` to ``[-max_w, max_w]``."""
    N = br.shape[0]
    for i in range(N):
        br[i] = min(max(br[i], -max_b), max_b)
        for j in range(N):
            Wr[i, j] = min(max(Wr[i, j], -max_w), max_w)


@nb.njit(cache=True, parallel=True)
def train_iterations_kernel(W, b, rng, n_iters, T, phase, targets, plasticity, hist):
    """n_iters wake-sleep cycles for each run r (prange), in place on W, b, rng; hist (R, 2^N or 0).

    One cycle: a phase of ``T`` steps with its spike counts ``n_i`` and ruler sums ``S_k``, then
    ``b_i += eta_b (m_i - n_i t_ref / T)``, ``W_ij += eta_w (C_ij - S_0,ij t_ref / T)``, with a SAL
    ruler ``W_ij += eta_sal S_1,ij t_ref / T``, then ``W`` and ``b`` clipped to ``+-max``.
    """
    R, N = b.shape
    t_ref, tau_syn, kinds, rulers, sample_dt = phase
    lr_b, lr_w, lr_sal, max_w, max_b = plasticity
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
            stats = PhaseStats(counts, kinds, rulers[r], S, hist[r], sample_dt)
            _event_phase(Wr, br, T, t_ref, tau_syn, rng[r], Recording(rec_t, rec_i), stats)
            norm = t_ref / T
            _wake_sleep_update(Wr, br, counts, S, targets, r, lr_b[r], lr_w[r], norm)
            if n_rulers > 1:
                _sal_update_ruler(Wr, S, lr_sal[r], norm)
            _clip(Wr, br, max_w[r], max_b[r])


@nb.njit(cache=True, parallel=True)
def phase_stats_kernel(W, b, T, rng, phase, counts, S, hist):
    """One phase of ``T`` steps per run (prange): spike counts, ruler sums ``S`` and state histograms."""
    R = b.shape[0]
    t_ref, tau_syn, kinds, rulers, sample_dt = phase
    rec_t = np.zeros(0, dtype=np.int32)
    rec_i = np.zeros(0, dtype=np.int16)
    for r in nb.prange(R):
        stats = PhaseStats(counts[r], kinds, rulers[r], S[r], hist[r], sample_dt)
        _event_phase(W[r], b[r], T, t_ref, tau_syn, rng[r], Recording(rec_t, rec_i), stats)
