"""Boltzmann targets by exact enumeration, binary states from spikes, and D_KL.

See docs/sampling.md, "Binary states and the Boltzmann target".

State ordering everywhere: index ``i`` <-> binary expansion of ``i`` with neuron 0 as the most
significant bit, i.e. (0,..,0), (0,..,0,1), ..., (1,..,1) (lexicographic order).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..errors import UserError

MAX_EXACT_DIM = 15

__all__ = [
    "MAX_EXACT_DIM",
    "boltzmann_distribution",
    "distribution_from_states",
    "kl_divergence",
    "state_indices",
    "state_list",
    "states_from_spikes",
]


def state_list(n: int) -> np.ndarray:
    """All 2^n binary states (2^n, n) as uint8, row i = binary expansion of i (neuron 0 = MSB)."""
    if n < 1:
        raise UserError(f"dim must be a positive number of neurons, got {n}")
    idx = np.arange(2**n)[:, None]
    return ((idx >> np.arange(n - 1, -1, -1)[None, :]) & 1).astype(np.uint8)


def boltzmann_distribution(W: np.ndarray, b: np.ndarray, *, force: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Exact Boltzmann distribution p*(z) = exp(z^T W z / 2 + b^T z) / Z and its coactivations.

    Parameters
    ----------
    W : (N, N) symmetric weights (the diagonal enters the energy as in the reference).
    b : (N,) biases.
    force : allow N > 15 (2^N states are enumerated).

    Returns
    -------
    p : (2^N,) probabilities in the state ordering of :func:`state_list`.
    C : (N, N) with C_ij = sum_z p*(z) z_i z_j (diagonal = marginals p*(z_i = 1)).
    """
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise UserError(f"weights must be a square (N, N) matrix, got shape {W.shape}")
    n = W.shape[0]
    if b.shape != (n,):
        raise UserError(f"biases must have shape ({n},), got {b.shape}")
    if n > MAX_EXACT_DIM and not force:
        raise UserError(f"dim {n} is too large for exact Boltzmann targets (2^{n} states); allowed: dim <= 15")
    z = state_list(n).astype(np.float64)
    log_p = 0.5 * np.einsum("si,ij,sj->s", z, W, z) + z @ b
    log_p -= log_p.max()
    p = np.exp(log_p)
    p /= p.sum()
    C = z.T @ (p[:, None] * z)
    C = 0.5 * (C + C.T)  # exactly symmetric (a matrix product need not be)
    return p, C


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """D_KL(p || q) = sum_z p(z) ln(p(z)/q(z)) (natural log); +inf if q = 0 where p > 0; 0 log 0 = 0."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise UserError(f"distributions must have the same shape, got {p.shape} and {q.shape}")
    m = p > 0
    if np.any(q[m] <= 0):
        return float("inf")
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


@nb.njit(cache=True)
def _states(times, neurons, n, T, t_ref, dt):
    n_samples = (T + dt - 1) // dt
    out = np.zeros((n_samples, n), dtype=np.uint8)
    last = np.full(n, -(2**62), dtype=np.int64)
    k = 0
    for m in range(n_samples):
        s = m * dt
        while k < times.size and times[k] < s:
            last[neurons[k]] = times[k]
            k += 1
        for i in range(n):
            out[m, i] = 1 if last[i] >= s - t_ref else 0
    return out


def states_from_spikes(
    times: np.ndarray, neurons: np.ndarray, n: int, n_steps: int, t_ref: int, sample_dt: int | None = None
) -> np.ndarray:
    """Binary states (n_samples, n) at the sample steps s_m = m * sample_dt < n_steps.

    z_k(s) = 1 iff neuron k has a spike t_sp with s - t_ref <= t_sp < s.  ``sample_dt`` defaults to
    t_ref // 2 (25 for t_ref = 50).  ``times`` must be sorted; ``neurons`` are 0-based.
    """
    dt = int(sample_dt) if sample_dt is not None else int(t_ref) // 2
    if dt < 1:
        raise UserError(f"sample_dt must be a positive number of steps, got {dt}")
    if int(n_steps) <= 0:
        raise UserError(f"n_steps must be positive, got {n_steps}")
    times = np.asarray(times, dtype=np.int64)
    neurons = np.asarray(neurons, dtype=np.int64)
    return _states(times, neurons, int(n), int(n_steps), int(t_ref), dt)


def state_indices(states: np.ndarray) -> np.ndarray:
    """Integer index sum_k z_k 2^(N-1-k) of each state row."""
    states = np.asarray(states)
    n = states.shape[1]
    return states.astype(np.int64) @ (1 << np.arange(n - 1, -1, -1))


def distribution_from_states(states: np.ndarray) -> np.ndarray:
    """Empirical distribution over the 2^N states (histogram / number of samples)."""
    n = np.asarray(states).shape[1]
    counts = np.bincount(state_indices(states), minlength=2**n).astype(np.float64)
    return counts / counts.sum()
