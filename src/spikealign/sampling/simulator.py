"""Batched, seeded simulator of the escape-noise sampling neurons (see docs/sampling.md, "Neurons that sample").

Model (discrete time, steps t = 0 .. T-1, weights ``W[post, pre]``)::

    u_i(t)   = b_i + sum_j W_ij P_j(t),      P_j(t) = #{spikes s of j with 0 < t - s < tau_syn}
    rho_i(t) = 1 / (1 + t_ref * exp(-u_i(t)))                     (per-step firing probability)
    i spikes at t  with probability rho_i(t)  iff  t >= s_i + t_ref + 1     (strict refractoriness)

A spike emitted at step t acts on the other neurons from step t+1 on (the rectangular PSP is "on"
for the tau_syn - 1 steps t+1 .. t+tau_syn-1); every phase starts with no spikes and all neurons
eligible.  This is exactly the process of the reference's ``sim_poisson_neurons``.

Two implementations of the same process are provided:

* :func:`simulate_spikes` (and the fused training kernel in :mod:`spikealign.sampling.trainer`)
  use an **exact event-driven** algorithm: between events (a spike, or a PSP switching off) every
  rho_i is constant, so the number of silent steps before the next spike of an eligible neuron is
  geometric, ``k = floor(E / lambda_i)`` with ``E ~ Exp(1)`` and ``lambda_i = -ln(1 - rho_i)``
  (P(k) = (1-rho)^k rho).  Whenever u_i changes, the pending draw is discarded and redrawn from the
  change step on; by memorylessness this is exact.  Neurons whose draws coincide spike in the same
  step, and a spike changes the others' potentials only from the next step on.  A refractory
  neuron draws only when its refractoriness ends (step s + t_ref + 1, with the potential of that
  step).  For N <= ``TABLE_MAX_N`` lambda_i is looked up in a per-phase table over the 2^N
  patterns of active PSPs instead of being recomputed (exp, log1p) at every event.
* :func:`simulate_spikes_stepwise` is the direct per-step loop (one uniform per neuron per step,
  as in the reference).  It is slower and serves as the ground truth in tests.

Random numbers: each replica has its own xoshiro256** stream seeded from one uint64 seed through
splitmix64, so results are bitwise reproducible for the same seeds on any machine, independent of
the number of threads.  (The reference's spike trains are not reproducible; see docs/sampling.md,
"Differences from the reference".)

The event-driven algorithm assumes ``tau_syn <= t_ref + 1`` (a neuron's PSP has ended before it
can spike again), which holds for every configuration of the paper (tau_syn = t_ref).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from ..errors import UserError
from ..spiking.neuron import escape_rate, spike_probability_rate_form
from .stdp import window_at

NEVER = np.int64(2**62)  # "no event": later than any phase end

__all__ = [
    "PhaseStats",
    "Recording",
    "SpikeTrains",
    "check_network",
    "seed_states",
    "simulate_spikes",
    "simulate_spikes_stepwise",
]


# --------------------------------------------------------------------------- RNG (xoshiro256**)
@nb.njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: np.uint64) -> np.uint64:
    return (x << k) | (x >> (np.uint64(64) - k))


@nb.njit(cache=True, inline="always")
def _next_u64(s: np.ndarray) -> np.uint64:
    """Advance the xoshiro256** state ``s`` (4 uint64) and return 64 random bits."""
    result = _rotl(s[1] * np.uint64(5), np.uint64(7)) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], np.uint64(45))
    return result


@nb.njit(cache=True, inline="always")
def _uniform(s: np.ndarray) -> float:
    """Uniform double in [0, 1) with 53 random bits."""
    return np.float64(_next_u64(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True)
def _seed_state(seed: np.uint64, out: np.ndarray) -> None:
    x = np.uint64(seed)
    for k in range(4):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        z = x
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out[k] = z ^ (z >> np.uint64(31))


def seed_states(seeds: np.ndarray) -> np.ndarray:
    """xoshiro256** states (R, 4) uint64 for the given per-replica uint64 seeds (splitmix64)."""
    seeds = np.asarray(seeds, dtype=np.uint64).reshape(-1)
    out = np.empty((seeds.size, 4), dtype=np.uint64)
    for r in range(seeds.size):
        _seed_state(seeds[r], out[r])
    return out


# --------------------------------------------------------------------------- event-driven core
@nb.njit(cache=True, inline="always")
def _draw_next(start: np.int64, lam: float, s: np.ndarray) -> np.int64:
    """Step of the next spike of a neuron with constant per-step probability 1 - exp(-lam), from ``start`` on."""
    e = -np.log(1.0 - _uniform(s))  # Exp(1); 1 - U in (0, 1]
    g = e / lam
    if g > 1e15:
        return NEVER
    return start + np.int64(g)


TABLE_MAX_N = 10


@nb.njit(cache=True)
def _lam_table(W: np.ndarray, b: np.ndarray, t_ref: np.int64) -> np.ndarray:
    """tab[i, m] = ln(1 + exp(b_i + sum_{j in m} W_ij) / t_ref) for every PSP pattern m (bit j = PSP of j on)."""
    N = b.size
    M = np.int64(1) << N
    tab = np.empty((N, M))
    uu = np.empty(M)
    for i in range(N):
        uu[0] = b[i]
        for m in range(1, M):
            j = 0
            while not (m >> j) & 1:
                j += 1
            uu[m] = uu[m ^ (np.int64(1) << j)] + W[i, j]
        for m in range(M):
            tab[i, m] = escape_rate(uu[m], t_ref)
    return tab


@nb.njit(cache=True, inline="always")
def _hazard(i: int, u: np.ndarray, tab: np.ndarray, mask: np.int64, use_tab: bool, t_ref: np.int64) -> float:
    """Hazard ``lambda_i = ln(1 + e^{u_i} / t_ref)`` (:func:`~spikealign.spiking.neuron.escape_rate`).

    Read from the table of the PSP pattern ``mask`` when there is one.
    """
    return tab[i, mask] if use_tab else escape_rate(u[i], t_ref)


@nb.njit(cache=True, inline="always")
def _state_index(last: np.ndarray, s: np.int64, t_ref: np.int64) -> int:
    """Index of the binary state at step ``s`` (neuron 0 most significant bit).

    ``z_k(s) = 1`` iff ``k`` spiked in ``[s - t_ref, s - 1]``.
    """
    idx = 0
    for k in range(last.size):
        idx = idx * 2 + (1 if last[k] >= s - t_ref else 0)
    return idx


@nb.njit(cache=True, inline="always")
def _sample_states(hist: np.ndarray, last: np.ndarray, next_sample: np.int64, until: np.int64, T: np.int64,
                   sample_dt: np.int64, t_ref: np.int64) -> np.int64:  # fmt: skip
    """Count the states at the sample steps ``next_sample + m sample_dt <= until`` (and ``< T``) in ``hist``.

    Returns the next sample step.
    """
    while next_sample <= until and next_sample < T:
        hist[_state_index(last, next_sample, t_ref)] += 1
        next_sample += sample_dt
    return next_sample


@nb.njit(cache=True, inline="always")
def _stdp_pairs(S: np.ndarray, kinds: np.ndarray, rulers: np.ndarray, last: np.ndarray, i: int, t: np.int64) -> None:
    """Pair-based STDP of a spike of ``i`` at ``t`` with the last spike of every other neuron ``j`` (depth 1).

    ``S[k, i, j] += K_k(t - t_j; ij)`` and ``S[k, j, i] += K_k(-(t - t_j); ji)`` for each ruler ``k``
    (WS and SAL: docs/sampling.md, "STDP rulers"; ``rulers[k]`` = A+, A-, tau+, tau-, each (N, N)).
    """
    for j in range(last.size):
        if j != i and last[j] > -NEVER:
            d = float(t - last[j])
            for k in range(kinds.size):
                rk = rulers[k]
                S[k, i, j] += window_at(kinds[k], d, rk[0, i, j], rk[1, i, j], rk[2, i, j], rk[3, i, j])
                S[k, j, i] += window_at(kinds[k], -d, rk[0, j, i], rk[1, j, i], rk[2, j, i], rk[3, j, i])


@nb.njit(cache=True, inline="always")
def _psp_switch(W: np.ndarray, u: np.ndarray, mask: np.int64, j: int, on: bool, use_tab: bool) -> np.int64:
    """PSP of ``j`` switches on (``u += W[:, j]``) or off (``u -= W[:, j]``).

    With a table only bit ``j`` of the returned ``mask`` changes.
    """
    if use_tab:
        return mask | (np.int64(1) << j) if on else mask & ~(np.int64(1) << j)
    for i in range(u.size):
        if on:
            u[i] += W[i, j]
        else:
            u[i] -= W[i, j]
    return mask


class Recording(NamedTuple):
    """Where :func:`_event_phase` writes the spikes: step and neuron of each (zero length: not recorded)."""

    times: np.ndarray  # (cap,) int32
    ids: np.ndarray  # (cap,) int16


class PhaseStats(NamedTuple):
    """What :func:`_event_phase` accumulates while it simulates (docs/sampling.md, "STDP rulers")."""

    counts: np.ndarray  # (N,) int64 spike counts, added to
    kinds: np.ndarray  # (K,) kernel kind of each STDP ruler (``stdp.KERNELS``); K = 0: no STDP
    rulers: np.ndarray  # (K, 4, N, N): A+, A-, tau+, tau- of each ruler
    S: np.ndarray  # (K, N, N) pair-based ruler sums, added to
    hist: np.ndarray  # (2^N,) int64 state counts at the sample steps, added to; zero length: none
    sample_dt: np.int64  # steps between two state samples


@nb.njit(cache=True)
def _event_phase(
    W: np.ndarray,
    b: np.ndarray,
    T: np.int64,
    t_ref: np.int64,
    tau_syn: np.int64,
    rng: np.ndarray,
    recording: Recording,
    stats: PhaseStats,
) -> np.int64:
    """Simulate one phase of T steps of one network, event-driven, accumulating statistics on the fly.

    Records spikes into ``recording`` when its arrays have non-zero length; adds spike counts to
    ``stats.counts``; for each STDP ruler k adds the pair-based sums with depth 1 (last spike of each
    neuron) to ``stats.S[k]``; when ``stats.hist`` is non-empty adds the binary state at the sample steps
    0, sample_dt, 2 sample_dt, ... (< T) to it (state index with neuron 0 as most significant bit;
    z_k(s) = 1 iff k spiked in [s - t_ref, s - 1]).  Returns the number of spikes.
    """
    rec_times, rec_ids = recording
    counts, kinds, rulers, S, hist, sample_dt = stats
    N = b.size
    record = rec_times.size > 0
    do_hist = hist.size > 0
    u = b.copy()
    # lam_i = -ln(1 - rho_i) = ln(1 + e^{u_i}/t_ref) depends only on which PSPs are on: for small N
    # tabulate it per phase over the 2^N on/off patterns (mask bit j = PSP of j on)
    use_tab = N <= TABLE_MAX_N
    tab = _lam_table(W, b, t_ref) if use_tab else np.empty((0, 0))
    mask = np.int64(0)
    lam = np.empty(N)
    nxt = np.empty(N, dtype=np.int64)
    pending = np.zeros(N, dtype=np.bool_)  # nxt[i] is the end of refractoriness, not yet a drawn spike
    elig = np.zeros(N, dtype=np.int64)  # first step at which i may spike again
    last = np.full(N, -NEVER, dtype=np.int64)
    off = np.full(N, NEVER, dtype=np.int64)  # step at which j's current PSP switches off
    fired = np.empty(N, dtype=np.int64)
    for i in range(N):
        lam[i] = escape_rate(u[i], t_ref)
        nxt[i] = _draw_next(np.int64(0), lam[i], rng)
    next_sample = np.int64(0)
    n_spikes = np.int64(0)
    while True:
        tf = NEVER
        toff = NEVER
        for i in range(N):
            tf = min(tf, nxt[i])
            toff = min(toff, off[i])
        if toff <= tf and toff < T:
            # a PSP ends: rho changes from step toff on; redraw the eligible neurons from there
            for j in range(N):
                if off[j] == toff:
                    off[j] = NEVER
                    mask = _psp_switch(W, u, mask, j, False, use_tab)
            for i in range(N):
                if pending[i] and nxt[i] == toff + 1:
                    # refractoriness ends at the next step: draw now from there (a later change redraws it
                    # as for any eligible neuron); saves one event per spike when tau_syn = t_ref
                    pending[i] = False
                if not pending[i]:
                    lam[i] = _hazard(i, u, tab, mask, use_tab, t_ref)
                    nxt[i] = _draw_next(max(toff, elig[i]), lam[i], rng)
            continue
        if tf >= T:
            break
        t = tf
        resolved = False
        for i in range(N):
            if pending[i] and nxt[i] == t:
                # refractoriness ends at t: draw the next spike with the current potential
                pending[i] = False
                lam[i] = _hazard(i, u, tab, mask, use_tab, t_ref)
                nxt[i] = _draw_next(t, lam[i], rng)
                resolved = True
        if resolved:
            continue
        if do_hist:
            next_sample = _sample_states(hist, last, next_sample, t, T, sample_dt, t_ref)
        nf = 0
        for i in range(N):
            if nxt[i] == t:
                fired[nf] = i
                nf += 1
                _stdp_pairs(S, kinds, rulers, last, i, t)
                last[i] = t
                counts[i] += 1
                if record:
                    rec_times[n_spikes] = t
                    rec_ids[n_spikes] = i
                n_spikes += 1
        for q in range(nf):
            j = fired[q]
            nxt[j] = t + t_ref + 1
            elig[j] = t + t_ref + 1
            pending[j] = True
            if tau_syn > 1:
                off[j] = t + tau_syn
                mask = _psp_switch(W, u, mask, j, True, use_tab)
        if tau_syn > 1:
            for i in range(N):
                if not pending[i]:
                    lam[i] = _hazard(i, u, tab, mask, use_tab, t_ref)
                    nxt[i] = _draw_next(max(t + 1, elig[i]), lam[i], rng)
    if do_hist:
        _sample_states(hist, last, next_sample, T, T, sample_dt, t_ref)
    return n_spikes


@nb.njit(cache=True, parallel=True)
def _simulate_batch(W, b, T, t_ref, tau_syn, rng, cap, times, ids, nspk):
    R, N = b.shape
    kinds = np.zeros(0, dtype=np.int64)
    empty4 = np.zeros((0, 4, N, N))
    empty3 = np.zeros((0, N, N))
    hist = np.zeros(0, dtype=np.int64)
    for r in nb.prange(R):
        stats = PhaseStats(np.zeros(N, dtype=np.int64), kinds, empty4, empty3, hist, np.int64(1))
        nspk[r] = _event_phase(W[r], b[r], T, t_ref, tau_syn, rng[r], Recording(times[r], ids[r]), stats)


@nb.njit(cache=True, parallel=True)
def _simulate_batch_stepwise(W, b, T, t_ref, tau_syn, rng, times, ids, nspk):
    R, N = b.shape
    for r in nb.prange(R):
        s = rng[r]
        last = np.full(N, -NEVER, dtype=np.int64)
        psp = np.zeros(N)
        fire = np.zeros(N, dtype=np.bool_)
        n = 0
        for t in range(T):
            for j in range(N):
                psp[j] = 1.0 if (0 < t - last[j] < tau_syn) else 0.0
            for i in range(N):
                u = b[r, i]
                for j in range(N):
                    u += W[r, i, j] * psp[j]
                rho = spike_probability_rate_form(u, t_ref)
                U = _uniform(s)
                fire[i] = U < rho and last[i] < t - t_ref
            for i in range(N):
                if fire[i]:
                    last[i] = t
                    times[r, n] = t
                    ids[r, n] = i
                    n += 1
        nspk[r] = n


# --------------------------------------------------------------------------- public API
@dataclass
class SpikeTrains:
    """Spike trains of R replicas in CSR form.

    Replica r's spikes are ``times[offsets[r]:offsets[r+1]]`` (int32 steps, sorted) and
    ``neurons[offsets[r]:offsets[r+1]]`` (int16, 0-based ids); spikes in the same step are ordered
    by neuron index.
    """

    times: np.ndarray
    neurons: np.ndarray
    offsets: np.ndarray
    n_neurons: int
    n_steps: int

    @property
    def n_replicas(self) -> int:
        return self.offsets.size - 1

    def replica(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """(times, neuron ids) of replica ``r``."""
        a, e = self.offsets[r], self.offsets[r + 1]
        return self.times[a:e], self.neurons[a:e]

    def spike_list(self, r: int) -> np.ndarray:
        """Replica ``r`` in the reference's format: float array (n, 2) of (time, 1-based id)."""
        t, i = self.replica(r)
        return np.column_stack([t.astype(float), i.astype(float) + 1.0])

    def counts(self) -> np.ndarray:
        """Spike counts (R, N)."""
        out = np.zeros((self.n_replicas, self.n_neurons), dtype=np.int64)
        for r in range(self.n_replicas):
            _, i = self.replica(r)
            out[r] = np.bincount(i, minlength=self.n_neurons)
        return out


def check_network(
    W: np.ndarray, b: np.ndarray, n_steps: int, t_ref: int, tau_syn: int
) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert (W, b) to float64 (R, N, N) and (R, N); raise UserError naming the problem."""
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if W.ndim == 2:
        W = W[None]
    if b.ndim == 1:
        b = b[None]
    if W.ndim != 3 or W.shape[1] != W.shape[2]:
        raise UserError(f"weights must be square (R, N, N) or (N, N) matrices indexed (post, pre), got shape {W.shape}")
    if b.ndim != 2 or b.shape != W.shape[:2]:
        raise UserError(f"biases must have shape {W.shape[:2]} to match the weights, got {b.shape}")
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        raise UserError("weights and biases must be finite")
    if int(n_steps) <= 0:
        raise UserError(f"n_steps must be a positive number of steps, got {n_steps}")
    if int(n_steps) >= 2**31:
        raise UserError(f"n_steps must be below 2**31, got {n_steps}")
    if int(t_ref) < 1:
        raise UserError(f"t_ref must be a positive number of steps, got {t_ref}")
    if not 1 <= int(tau_syn) <= int(t_ref) + 1:
        raise UserError(f"tau_syn must be between 1 and t_ref + 1 = {int(t_ref) + 1} steps, got {tau_syn}")
    return np.ascontiguousarray(W), np.ascontiguousarray(b)


def _as_seeds(seeds: np.ndarray | int, R: int) -> np.ndarray:
    seeds = np.atleast_1d(np.asarray(seeds, dtype=np.uint64))
    if seeds.shape != (R,):
        raise UserError(f"seeds must hold one uint64 per replica ({R}), got shape {seeds.shape}")
    return seeds


def _collect(times, ids, nspk, N, T) -> SpikeTrains:
    offsets = np.zeros(nspk.size + 1, dtype=np.int64)
    np.cumsum(nspk, out=offsets[1:])
    out_t = np.empty(offsets[-1], dtype=np.int32)
    out_i = np.empty(offsets[-1], dtype=np.int16)
    for r in range(nspk.size):
        out_t[offsets[r] : offsets[r + 1]] = times[r, : nspk[r]]
        out_i[offsets[r] : offsets[r + 1]] = ids[r, : nspk[r]]
    return SpikeTrains(out_t, out_i, offsets, N, T)


# same network arguments as trainer.phase_statistics (a different computation on the same network): public signatures
def simulate_spikes(
    W: np.ndarray,
    b: np.ndarray,
    n_steps: int,
    *,
    t_ref: int,
    tau_syn: int,
    seeds: np.ndarray,
    chunk: int = 64,
) -> SpikeTrains:
    """Simulate R independent free-running networks (exact event-driven kernel).

    Parameters
    ----------
    W : (R, N, N) float, weights indexed (post, pre); the diagonal has no effect when
        tau_syn <= t_ref + 1 (a neuron's own PSP lies inside its refractory period).
    b : (R, N) float, biases.
    n_steps : number of steps T of every replica (every replica starts with no spikes).
    t_ref : refractory period in steps (a neuron can spike again at s + t_ref + 1).
    tau_syn : rectangular PSP length; the PSP of a spike at s is on for s+1 .. s+tau_syn-1.
        Must satisfy 1 <= tau_syn <= t_ref + 1.
    seeds : (R,) uint64, one independent random stream per replica.
    chunk : replicas simulated per compiled call (bounds the temporary spike buffers).

    Returns
    -------
    SpikeTrains with CSR arrays: ``times`` (int32), ``neurons`` (int16, 0-based), ``offsets`` (R+1).
    Per-step firing probability rho_i(t) = 1/(1 + t_ref exp(-u_i(t))), u_i = b_i + sum_j W_ij P_j(t).
    """
    W, b = check_network(W, b, n_steps, t_ref, tau_syn)
    R, N = b.shape
    seeds = _as_seeds(seeds, R)
    T = int(n_steps)
    cap = N * (T // (int(t_ref) + 1) + 1)
    parts_t, parts_i, counts = [], [], []
    for a in range(0, R, chunk):
        e = min(R, a + chunk)
        rng = seed_states(seeds[a:e])
        times = np.empty((e - a, cap), dtype=np.int32)
        ids = np.empty((e - a, cap), dtype=np.int16)
        nspk = np.zeros(e - a, dtype=np.int64)
        _simulate_batch(W[a:e], b[a:e], np.int64(T), np.int64(t_ref), np.int64(tau_syn), rng, cap, times, ids, nspk)
        st = _collect(times, ids, nspk, N, T)
        parts_t.append(st.times)
        parts_i.append(st.neurons)
        counts.append(nspk)
    nspk = np.concatenate(counts)
    offsets = np.zeros(R + 1, dtype=np.int64)
    np.cumsum(nspk, out=offsets[1:])
    return SpikeTrains(np.concatenate(parts_t), np.concatenate(parts_i), offsets, N, T)


def simulate_spikes_stepwise(
    W: np.ndarray, b: np.ndarray, n_steps: int, *, t_ref: int, tau_syn: int, seeds: np.ndarray
) -> SpikeTrains:
    """The same process as :func:`simulate_spikes`, simulated step by step (reference algorithm).

    Per step t: P_j = 1 iff 0 < t - s_j < tau_syn (last spike s_j); u = b + W P;
    rho = 1/(1 + t_ref e^{-u}); one uniform U_i per neuron (refractory ones included); spike iff
    U_i < rho_i and s_i < t - t_ref.  Uses the last spike only (exact for tau_syn <= t_ref + 1).
    Slow (O(T N^2)); meant as the ground truth for tests.
    """
    W, b = check_network(W, b, n_steps, t_ref, tau_syn)
    R, N = b.shape
    seeds = _as_seeds(seeds, R)
    T = int(n_steps)
    cap = N * (T // (int(t_ref) + 1) + 1)
    rng = seed_states(seeds)
    times = np.empty((R, cap), dtype=np.int32)
    ids = np.empty((R, cap), dtype=np.int16)
    nspk = np.zeros(R, dtype=np.int64)
    _simulate_batch_stepwise(W, b, np.int64(T), np.int64(t_ref), np.int64(tau_syn), rng, times, ids, nspk)
    return _collect(times, ids, nspk, N, T)
