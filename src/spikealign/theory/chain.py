"""The stochastic two-neuron chain (discrete-time neural sampling, parallel update).

State: each neuron ``k`` carries a counter ``a_k in {0, ..., M-1}`` = steps since its last spike
(``0``: it spiked on the current step), saturating at ``M - 1 = t_max - 1``.  The joint state
``(a, c)`` of a *first* neuron (slow index ``a``) and a *second* neuron (fast index ``c``) has the
index ``a * M + c``; there are ``M^2`` states.

One step ``t -> t+1`` (both neurons decide simultaneously and independently given the state):

1. tentative counters ``a' = min(a + 1, M - 1)``, ``c' = min(c + 1, M - 1)``;
2. potentials ``u_first = b_first + w_first_in * kappa(c')`` and
   ``u_second = b_second + w_second_in * kappa(a')`` (``w_first_in``: weight onto the first neuron
   from the second; the kernel is read at the partner's *tentative* counter, lag >= 1);
3. a neuron may fire only if its tentative counter is ``>= R = t_ref`` (minimal ISI ``R``);
4. an eligible neuron fires with ``s(u) = 1 / (1 + R exp(-u)) = logistic(u - ln R)``;
5. the new counter is ``0`` if the neuron fired, else the tentative one.

The transition matrix is column-stochastic, ``p_{t+1} = T p_t`` with ``T[to, from]``; each column
has at most four nonzeros (targets ``(0,0)``, ``(0,c')``, ``(a',0)``, ``(a',c')``).  It is built
vectorised in COO form; many independent chains are stacked block-diagonally so that one sparse
factorisation serves a whole batch.

Note the saturation artefact: a partner silent for ``>= M - 1`` steps keeps injecting
``kappa(M - 1)``, which is nonzero for e.g. the alpha kernel; this is faithful to the reference.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.linalg import spsolve

from ..spiking.neuron import spike_probabilities
from .kernels import check_finite, check_psp, check_times, kernel_table


def firing_probability(u: np.ndarray, t_ref: int) -> np.ndarray:
    """``s(u) = 1 / (1 + R exp(-u))``: firing probability of an eligible neuron (``R = t_ref``).

    The escape-noise neuron of :mod:`spikealign.spiking.neuron`.
    """
    return spike_probabilities(u, t_ref)


def fire_tables(kappa: np.ndarray, t_ref: int, w_in: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """Firing probabilities ``s(b + w_in * kappa(z))`` for each chain (rows) and partner counter ``z`` (columns).

    Eligibility is not applied here (see :func:`eligible`).
    """
    w_in = np.atleast_1d(np.asarray(w_in, dtype=float))
    b = np.atleast_1d(np.asarray(b, dtype=float))
    return firing_probability(b[:, None] + w_in[:, None] * kappa[None, :], t_ref)


def _state_grid(t_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    m = t_max
    a = np.repeat(np.arange(m), m)
    c = np.tile(np.arange(m), m)
    return a, c, np.minimum(a + 1, m - 1), np.minimum(c + 1, m - 1)


def transition_entries(
    t_ref: int, t_max: int, s_first: np.ndarray, s_second: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO entries ``(rows, cols, values)`` of block-diagonal transition matrices.

    Parameters
    ----------
    s_first : (K, M) array, firing probability of the first neuron as a function of ``c'``.
    s_second : (K, M) array, firing probability of the second neuron as a function of ``a'``.

    Chain ``k`` occupies rows and columns ``k*M^2 ... (k+1)*M^2 - 1``.  Structurally impossible
    entries (a refractory neuron firing) are omitted, so each column has 1, 2 or 4 entries.
    """
    m = t_max
    n = m * m
    s_first = np.atleast_2d(s_first)
    s_second = np.atleast_2d(s_second)
    k = s_first.shape[0]
    _, _, ap, cp = _state_grid(m)
    elig_f = ap >= t_ref
    elig_s = cp >= t_ref
    p_f = np.where(elig_f[None, :], s_first[:, cp], 0.0)  # (K, n)
    p_s = np.where(elig_s[None, :], s_second[:, ap], 0.0)
    cols = np.arange(n)
    parts = [
        (elig_f & elig_s, np.zeros(n, dtype=np.int64), p_f * p_s),  # both fire -> (0, 0)
        (elig_f, cp, p_f * (1 - p_s)),  # first fires alone -> (0, c')
        (elig_s, ap * m, (1 - p_f) * p_s),  # second fires alone -> (a', 0)
        (np.ones(n, dtype=bool), ap * m + cp, (1 - p_f) * (1 - p_s)),  # neither -> (a', c')
    ]
    offsets = (np.arange(k) * n)[:, None]
    rows, colz, vals = [], [], []
    for mask, target, value in parts:
        rows.append((target[mask][None, :] + offsets).ravel())
        colz.append((cols[mask][None, :] + offsets).ravel())
        vals.append(value[:, mask].ravel())
    return np.concatenate(rows), np.concatenate(colz), np.concatenate(vals)


# the chain parameters recur as keyword arguments of every theory entry point (stdd, simulate_stdd, sal_grid):
# public signatures, spelled out so that each one is typed and documented
def transition_matrix(
    w_first_in: float,
    w_second_in: float,
    b_first: float,
    b_second: float,
    *,
    t_ref: int,
    t_max: int,
    psp: str = "rect",
    t_syn: float | None = None,
) -> sparse.csc_matrix:
    """The column-stochastic transition matrix ``T[to, from]`` of one two-neuron chain.

    ``w_first_in`` is the weight onto the first (slow-index) neuron from the second one and
    ``w_second_in`` the weight onto the second from the first.  See the module docstring for the
    update rule.  Shape ``(t_max^2, t_max^2)``.
    """
    t_ref, t_max = check_times(t_ref, t_max)
    check_psp(psp, t_syn, t_ref)
    for name, v in (("w_first_in", w_first_in), ("w_second_in", w_second_in), ("b_first", b_first),
                    ("b_second", b_second)):  # fmt: skip
        check_finite(name, v)
    kappa = kernel_table(psp, t_ref, t_max, t_syn)
    s_f = fire_tables(kappa, t_ref, [w_first_in], [b_first])
    s_s = fire_tables(kappa, t_ref, [w_second_in], [b_second])
    rows, cols, vals = transition_entries(t_ref, t_max, s_f, s_s)
    n = t_max * t_max
    return sparse.csc_matrix((vals, (rows, cols)), shape=(n, n))


def stationary_from_entries(
    rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_states: int, n_chains: int
) -> np.ndarray:
    """Stationary distributions of ``n_chains`` block-diagonal chains given their COO entries.

    Solves ``(T - I) pi = 0`` with the equation of state 0 of each block replaced by the
    normalisation ``sum(pi) = 1`` (one sparse LU factorisation for all blocks).  Returns an array of
    shape ``(n_chains, n_states)``.
    """
    total = n_states * n_chains
    keep = rows % n_states != 0
    diag = np.arange(total)
    dkeep = diag % n_states != 0
    norm_rows = np.repeat(np.arange(n_chains) * n_states, n_states)
    r = np.concatenate([rows[keep], diag[dkeep], norm_rows])
    c = np.concatenate([cols[keep], diag[dkeep], diag])
    v = np.concatenate([vals[keep], -np.ones(int(dkeep.sum())), np.ones(total)])
    a = sparse.csc_matrix((v, (r, c)), shape=(total, total))
    rhs = np.zeros(total)
    rhs[np.arange(n_chains) * n_states] = 1.0
    pi = spsolve(a, rhs)
    return np.asarray(pi).reshape(n_chains, n_states)


@numba.njit(cache=True)
def _stationary_reduced_kernel(s_first, s_second, t_ref, t_max, out):  # pragma: no cover - compiled
    """Exact stationary distributions by reduction onto the 2M-1 boundary states (see
    :func:`stationary_batch`); writes ``out[k, a*M + c]``."""
    m = t_max
    nb = 2 * m - 1
    coef = np.zeros((m, m, nb))
    for k in range(s_first.shape[0]):
        coef[:, :, :] = 0.0
        for y in range(m):
            coef[0, y, y] = 1.0
        for x in range(1, m):
            coef[x, 0, m - 1 + x] = 1.0
        # interior and saturated states: reached only by "neither fires" from their predecessors
        for x in range(1, m):
            a_lo = x - 1
            a_hi = x - 1 if x < m - 1 else m - 1
            for y in range(1, m):
                c_lo = y - 1
                c_hi = y - 1 if y < m - 1 else m - 1
                self_keep = 0.0
                for a in range(a_lo, a_hi + 1):
                    ap = min(a + 1, m - 1)
                    for c in range(c_lo, c_hi + 1):
                        cp = min(c + 1, m - 1)
                        pf = s_first[k, cp] if ap >= t_ref else 0.0
                        ps = s_second[k, ap] if cp >= t_ref else 0.0
                        stay = (1.0 - pf) * (1.0 - ps)
                        if a == x and c == y:
                            self_keep = stay
                            continue
                        for j in range(nb):
                            coef[x, y, j] += stay * coef[a, c, j]
                if self_keep != 0.0:
                    for j in range(nb):
                        coef[x, y, j] /= 1.0 - self_keep
        # flows into the boundary states: E[i, j]
        e = np.zeros((nb, nb))
        for a in range(m):
            ap = min(a + 1, m - 1)
            for c in range(m):
                cp = min(c + 1, m - 1)
                pf = s_first[k, cp] if ap >= t_ref else 0.0
                ps = s_second[k, ap] if cp >= t_ref else 0.0
                both = pf * ps
                first = pf * (1.0 - ps)
                second = (1.0 - pf) * ps
                for j in range(nb):
                    v = coef[a, c, j]
                    if v != 0.0:
                        e[0, j] += both * v
                        e[cp, j] += first * v
                        e[m - 1 + ap, j] += second * v
        for i in range(nb):
            e[i, i] -= 1.0
        # replace the equation of state (0, 0) by the normalisation sum(pi) = 1
        for j in range(nb):
            total = 0.0
            for a in range(m):
                for c in range(m):
                    total += coef[a, c, j]
            e[0, j] = total
        rhs = np.zeros(nb)
        rhs[0] = 1.0
        beta = np.linalg.solve(e, rhs)
        for a in range(m):
            for c in range(m):
                v = 0.0
                for j in range(nb):
                    v += coef[a, c, j] * beta[j]
                out[k, a * m + c] = v


def stationary_batch(
    s_first: np.ndarray, s_second: np.ndarray, t_ref: int, t_max: int, method: str = "reduced"
) -> np.ndarray:
    """Stationary distributions of a batch of chains, shape ``(K, t_max^2)``.

    Parameters
    ----------
    s_first, s_second : (K, M) firing-probability tables (see :func:`fire_tables`).
    method : ``"sparse"``: sparse LU solve of ``(T - I) pi = 0`` with one equation replaced by
        ``sum(pi) = 1``.  ``"reduced"`` (default, same numbers to round-off, 10-100x faster):
        every state other than the boundary states ``(0, c)`` and ``(a, 0)`` is entered only by
        "neither neuron fires" from its diagonal predecessor(s), so ``pi`` is a linear function
        ``pi = P beta`` of the ``2M - 1`` boundary probabilities ``beta`` (the saturated self-loop
        contributes the factor ``1 / (1 - stay)``); the balance equations of the boundary states,
        ``beta = E beta`` with ``sum(P beta) = 1``, are a dense ``(2M-1)``-dimensional solve.
    """
    s_first = np.ascontiguousarray(np.atleast_2d(s_first), dtype=float)
    s_second = np.ascontiguousarray(np.atleast_2d(s_second), dtype=float)
    k = s_first.shape[0]
    if method == "sparse":
        rows, cols, vals = transition_entries(t_ref, t_max, s_first, s_second)
        return stationary_from_entries(rows, cols, vals, t_max * t_max, k)
    if method != "reduced":
        raise ValueError(f"unknown method {method!r} (allowed: reduced, sparse)")
    out = np.empty((k, t_max * t_max))
    _stationary_reduced_kernel(s_first, s_second, int(t_ref), int(t_max), out)
    return out


def stationary_distribution(transition: sparse.spmatrix) -> np.ndarray:
    """Stationary distribution ``pi`` of a column-stochastic matrix: ``T pi = pi``, ``sum(pi) = 1``.

    A sparse linear solve of ``(T - I) pi = 0`` with the first equation replaced by the
    normalisation (the reference uses ARPACK shift-invert; the results are identical).
    """
    coo = sparse.coo_matrix(transition)
    n = coo.shape[0]
    return stationary_from_entries(coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, n, 1)[0]
