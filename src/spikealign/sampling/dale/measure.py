"""Measuring SAL in the E/I circuit: nearest-neighbour STDP, the batched measurement, the zero set.

See docs/sampling.md, "Dale's-law E/I system" (the SAL measurement and the nearest-neighbour rule).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba as nb
import numpy as np

from ...errors import UserError
from ...spiking.stdp import exp_window_at
from .model import SAL_AMPLITUDES, T_REF, TAU_SYN

#: at least this many progress updates per measurement when a progress callback is given
PROGRESS_UPDATES = 10


@nb.njit(cache=True)
def calc_nn_stdp(
    times: np.ndarray,
    neurons: np.ndarray,
    n_neurons: int,
    a_plus: float,
    a_minus: float,
    tau_plus: float,
    tau_minus: float,
) -> np.ndarray:
    """Nearest-neighbour STDP sums S (n_neurons, n_neurons), indexed (post, pre).

    Spikes ``(times[k], neurons[k])`` (0-based ids) are visited in the given order (sorted by time,
    ties by neuron index); spikes of neurons with id >= ``n_neurons`` (or < 0) are ignored.  For a
    spike of i at t, with p_i the previous spike of i and s_j the last spike of j != i::

        if t - s_j < t - p_i  (j fired since i's previous spike; never-fired counts as -inf):
            S[i, j] += K(t - s_j);   S[j, i] += K(-(t - s_j))

    then p_i = t.  K is the exponential window :func:`spikealign.spiking.stdp.exp_window_at`
    (K(0) = 0).  Returns the raw sums (not normalised).
    """
    S = np.zeros((n_neurons, n_neurons))
    never = -(2**62)
    last = np.full(n_neurons, never, dtype=np.int64)
    for k in range(times.size):
        i = np.int64(neurons[k])
        if i < 0 or i >= n_neurons:
            continue
        t = np.int64(times[k])
        p = last[i]
        for j in range(n_neurons):
            if j != i and last[j] > p:
                x = float(t - last[j])
                S[i, j] += exp_window_at(x, a_plus, a_minus, tau_plus, tau_minus)
                S[j, i] += exp_window_at(-x, a_plus, a_minus, tau_plus, tau_minus)
        last[i] = t
    return S


@nb.njit(cache=True)
def nn_stdp_csr(times, neurons, offsets, n_neurons, a_plus, a_minus, tau_plus, tau_minus):
    """:func:`calc_nn_stdp` of each of the R spike trains of a CSR batch -> (R, n_neurons, n_neurons)."""
    R = offsets.size - 1
    out = np.zeros((R, n_neurons, n_neurons))
    for r in range(R):
        a, e = offsets[r], offsets[r + 1]
        out[r] = calc_nn_stdp(times[a:e], neurons[a:e], n_neurons, a_plus, a_minus, tau_plus, tau_minus)
    return out


def nn_stdp(
    times: np.ndarray,
    neurons: np.ndarray,
    n_neurons: int,
    *,
    a_plus: float = SAL_AMPLITUDES[0],
    a_minus: float = SAL_AMPLITUDES[1],
    tau_plus: float = T_REF,
    tau_minus: float = T_REF,
) -> np.ndarray:
    """Checked wrapper of :func:`calc_nn_stdp` for one spike train (integer steps, 0-based ids).

    Raises :class:`UserError` for mismatched lengths, unsorted times or non-positive time constants.
    """
    times = np.asarray(times)
    neurons = np.asarray(neurons)
    if times.ndim != 1 or times.shape != neurons.shape:
        raise UserError(f"times and neurons must be 1-d arrays of equal length, got {times.shape} and {neurons.shape}")
    if times.size and not np.all(np.diff(times) >= 0):
        raise UserError("spike times must be sorted in increasing order")
    if int(n_neurons) < 1:
        raise UserError(f"n_neurons must be at least 1, got {n_neurons}")
    if not (tau_plus > 0 and tau_minus > 0):
        raise UserError(f"STDP time constants must be positive, got tau_plus={tau_plus}, tau_minus={tau_minus}")
    return calc_nn_stdp(
        times.astype(np.int64),
        neurons.astype(np.int64),
        int(n_neurons),
        float(a_plus),
        float(a_minus),
        float(tau_plus),
        float(tau_minus),
    )


def _chunk_size(R: int, n_steps: int, t_ref: int, progress: Callable[[int], None] | None) -> int:
    """Simulations per simulator call: as many (<= 64) as keep the spike buffers under ~256 MB.

    With a progress callback the batch is cut into >= PROGRESS_UPDATES calls of at least one
    simulation per thread (each simulation has its own stream: the cut does not change results).
    """
    per_sim = 12 * 4 * (int(n_steps) // (int(t_ref) + 1) + 1)  # ~12 bytes per possible spike
    chunk = int(max(1, min(64, (256 << 20) // per_sim)))
    if progress is not None:
        chunk = min(chunk, max(nb.get_num_threads(), -(-R // PROGRESS_UPDATES)))
    return chunk


def measure_sal(
    W: np.ndarray,
    b: np.ndarray,
    n_steps: int,
    seeds: np.ndarray,
    *,
    t_ref: int = T_REF,
    tau_syn: int = TAU_SYN,
    chunk: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate R E/I circuits and measure their SAL update and spike counts.

    Parameters
    ----------
    W, b : (R, 4, 4) weights indexed (post, pre) and (R, 4) biases (see :func:`ei_network`).
    n_steps : T, steps per simulation (each starts with no spikes, as in the reference).
    seeds : (R,) uint64, one independent stream per simulation.
    chunk : simulations per simulator call (default: see :func:`_chunk_size`).
    progress : called with the number of simulations finished after each call (e.g. a bar's ``update``).

    Returns
    -------
    S : (R, 2, 2) normalised nearest-neighbour STDP of the e1/e2 spikes, S * t_ref / T, with
        S[:, 1, 0] = dW(e2<-e1) and S[:, 0, 1] = dW(e1<-e2).  The SAL window has A- = -A+ and
        equal time constants, so every pair adds opposite amounts: S[:, 0, 1] = -S[:, 1, 0] exactly.
    counts : (R, 4) spike counts per neuron (rate x t_ref = counts * t_ref / T).
    """
    from ..simulator import simulate_spikes

    W = np.asarray(W, dtype=float)
    b = np.asarray(b, dtype=float)
    seeds = np.asarray(seeds, dtype=np.uint64).reshape(-1)
    if W.ndim != 3 or W.shape[1:] != (4, 4):
        raise UserError(f"the E/I circuit needs weights of shape (R, 4, 4), got {W.shape}")
    R = W.shape[0]
    if seeds.shape != (R,):
        raise UserError(f"seeds must hold one value per simulation ({R}), got shape {seeds.shape}")
    if chunk is None:
        chunk = _chunk_size(R, n_steps, t_ref, progress)
    S = np.empty((R, 2, 2))
    counts = np.empty((R, 4), dtype=np.int64)
    a_plus, a_minus = SAL_AMPLITUDES
    for a in range(0, R, chunk):
        e = min(R, a + chunk)
        st = simulate_spikes(W[a:e], b[a:e], n_steps, t_ref=t_ref, tau_syn=tau_syn, seeds=seeds[a:e], chunk=chunk)
        raw = nn_stdp_csr(st.times, st.neurons, st.offsets, 2, a_plus, a_minus, float(t_ref), float(t_ref))
        S[a:e] = raw * (t_ref / n_steps)
        counts[a:e] = st.counts()
        if progress is not None:
            progress(e - a)
    return S, counts


def zero_crossings(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Points (k, 2) where the grid field ``z[iy, ix]`` changes sign, by linear interpolation.

    Scans every row (fixed y) and every column (fixed x) for adjacent grid points with opposite
    signs (or an exact zero) and returns the interpolated (x, y) of each crossing.
    """
    pts = []
    for iy in range(z.shape[0]):
        for ix in range(z.shape[1] - 1):
            z0, z1 = z[iy, ix], z[iy, ix + 1]
            if z0 == 0.0 or z0 * z1 < 0.0:
                f = 0.0 if z0 == 0.0 else z0 / (z0 - z1)
                pts.append((x[ix] + f * (x[ix + 1] - x[ix]), y[iy]))
    for ix in range(z.shape[1]):
        for iy in range(z.shape[0] - 1):
            z0, z1 = z[iy, ix], z[iy + 1, ix]
            if z0 * z1 < 0.0:
                f = z0 / (z0 - z1)
                pts.append((x[ix], y[iy] + f * (y[iy + 1] - y[iy])))
    return np.array(pts, dtype=float).reshape(-1, 2)


def effective_axes(grid: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Grid coordinates in effective weights: x = W_eff(e1<-e2) (columns), y = W_eff(e2<-e1) (rows)."""
    off21, off12 = (float(v) for v in grid["offsets"])
    return grid["w_e1_e2"] + off12, grid["w_e2_e1"] + off21


def zero_set_distances(grid: dict[str, np.ndarray]) -> dict[str, float]:
    """Where the zero set of the mean dW(e2<-e1) lies, in effective coordinates.

    x = W_eff(e1<-e2), y = W_eff(e2<-e1).  The effective diagonal is y = x, the raw diagonal
    (equal raw E->E weights) is y = x + gap with gap = offset(e2_e1) - offset(e1_e2).  Returns the
    mean perpendicular distance of the zero crossings to both lines, the mean signed y - x, the
    number of crossings, and the fraction of grid points with |y - x| >= 0.3 where dW(e2<-e1) has
    the sign of -(y - x) (SAL reduces the effective asymmetry).
    """
    off21, off12 = (float(v) for v in grid["offsets"])
    x, y = effective_axes(grid)
    z = grid["dw_e2_e1"].mean(axis=-1)
    gap = off21 - off12
    pts = zero_crossings(x, y, z)
    asym = y[:, None] - x[None, :]
    far = np.abs(asym) >= 0.3
    sign_ok = float(np.mean(np.sign(z[far]) == -np.sign(asym[far]))) if far.any() else float("nan")
    if pts.size == 0:
        d_eff = d_raw = mean_asym = float("nan")
    else:
        d = pts[:, 1] - pts[:, 0]
        d_eff = float(np.mean(np.abs(d)) / math.sqrt(2))
        d_raw = float(np.mean(np.abs(d - gap)) / math.sqrt(2))
        mean_asym = float(np.mean(d))
    return {
        "dist_eff": d_eff,
        "dist_raw": d_raw,
        "mean_asym": mean_asym,
        "n_crossings": len(pts),
        "gap": gap,
        "sign_fraction": sign_ok,
    }
