"""Wake-sleep training of spiking sampling networks toward Boltzmann targets, with SAL.

See docs/sampling.md, "Wake-sleep learning with SAL".

One wake-sleep cycle for each run, given W, b and the phase length T:

1. simulate the free network for T steps (the sleep phase; no state carried over);
2. r_hat = spike counts t_ref / T, S_WS = WS-ruler sums t_ref / T, S_SAL = SAL-ruler sums t_ref / T
   (both from the same spike train);
3. b <- b + lr_b (m* - r_hat);  W <- W + lr_w (C* - S_WS);  W <- W + lr_symm S_SAL;
4. clip W to [-max_w, max_w] and b to [-max_b, max_b].

Iterations with ``it % val_step == 0`` (and val_step != 1) are validation iterations: T is multiplied
by ``val_factor``, the binary-state distribution q is also sampled, and after the update the record
(q, D_KL(p* || q), W, b, Var(W - W^T)) is stored.  Validation iterations train as well.

Everything for a batch of independent runs happens in one compiled call (numba ``prange`` over
runs); each run has its own xoshiro256** stream, so results do not depend on how runs are batched
and a resumed run continues bit-identically from its checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError
from .boltzmann import MAX_EXACT_DIM, boltzmann_distribution, kl_divergence
from .simulator import seed_states
from .stdp import KERNELS, gain_matrix
from .trainer_kernels import Phase, Plasticity, Targets, phase_stats_kernel, train_iterations_kernel

__all__ = [
    "Problem",
    "Schedule",
    "TrainState",
    "asymmetry",
    "draw_problem",
    "phase_statistics",
    "symmetrize_upper",
    "train",
    "truncated_normal",
]


def symmetrize_upper(M: np.ndarray) -> np.ndarray:
    """Keep the strict upper triangle of M and mirror it (diagonal 0)."""
    U = np.triu(np.asarray(M, dtype=np.float64), k=1)
    return U + U.T


def truncated_normal(rng: np.random.Generator, scale: float, shape: tuple[int, int]) -> np.ndarray:
    """N(0, scale^2) truncated to [-1.5 scale, 1.5 scale], drawn as the reference does
    (docs/sampling.md, "Targets and initial values").

    Draw prod(shape) values with ``rng.normal``; while any lies outside the interval, redraw exactly
    those with one call of size = their number.  Bitwise equal to the reference for the same state.
    """
    size = int(np.prod(shape))
    res = rng.normal(loc=0.0, scale=scale, size=size)
    invalid = (res < -1.5 * scale) | (res > 1.5 * scale)
    n_bad = int(np.sum(invalid))
    while n_bad > 0:
        res[invalid] = rng.normal(loc=0.0, scale=scale, size=n_bad)
        invalid = (res < -1.5 * scale) | (res > 1.5 * scale)
        n_bad = int(np.sum(invalid))
    return res.reshape(shape)


def asymmetry(W: np.ndarray) -> np.ndarray:
    """Var over the strict upper triangle of W - W^T (population variance), for (..., N, N) arrays."""
    W = np.asarray(W)
    n = W.shape[-1]
    iu = np.triu_indices(n, k=1)
    D = (W - np.swapaxes(W, -1, -2))[..., iu[0], iu[1]]
    return np.var(D, axis=-1)


@dataclass
class Problem:
    """Target, initial parameters and plasticity gains of one run."""

    W_target: np.ndarray
    b_target: np.ndarray
    p_target: np.ndarray
    C_target: np.ndarray  # target coactivations, zero diagonal
    m_target: np.ndarray  # target marginals
    W_init: np.ndarray
    b_init: np.ndarray
    gains_ws: np.ndarray
    gains_sal: np.ndarray


def draw_problem(
    dim: int,
    target_seed: int,
    init_seed: int,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    weight_init: float = 0.2,
    init_noise: float = 0.0,
    bias_init: float = 0.2,
    stdp_noise: float = 0.0,
    a_plus: float = 1.0,
) -> Problem:
    """Targets, initial values and noise gains with the reference's exact numpy call order.

    T = default_rng(target_seed): W* = sym(2 Beta(a, b)^(N x N) - 1), b* = 2 Beta(a, b)^N - 1.
    I = default_rng(init_seed): W0 = sym(N(0, weight_init^2)) + N(0, init_noise^2) (all entries),
    b0 = N(0, bias_init^2), then four truncated-normal gain matrices (WS forward, WS backward,
    SAL forward, SAL backward), each a_plus + eta.
    """
    if dim > MAX_EXACT_DIM:
        raise UserError(f"dim {dim} is too large for exact Boltzmann targets; allowed: 2 <= dim <= {MAX_EXACT_DIM}")
    if dim < 2:
        raise UserError(f"dim must be at least 2, got {dim}")
    t_rng = np.random.default_rng(target_seed)
    i_rng = np.random.default_rng(init_seed)
    W_t = symmetrize_upper(2.0 * t_rng.beta(alpha, beta, size=(dim, dim)) - 1.0)
    b_t = 2.0 * t_rng.beta(alpha, beta, size=dim) - 1.0
    W0 = symmetrize_upper(i_rng.normal(0.0, weight_init, size=(dim, dim)))
    W0 = W0 + i_rng.normal(0.0, init_noise, size=(dim, dim))
    b0 = i_rng.normal(0.0, bias_init, dim)
    g = [truncated_normal(i_rng, stdp_noise, (dim, dim)) + a_plus for _ in range(4)]
    p, C = boltzmann_distribution(W_t, b_t)
    m = np.diag(C).copy()
    C = C.copy()
    np.fill_diagonal(C, 0.0)
    return Problem(W_t, b_t, p, C, m, W0, b0, gain_matrix(g[0], g[1]), gain_matrix(g[2], g[3]))


@dataclass(frozen=True)
class Schedule:
    """Phase lengths and validation schedule shared by a batch of runs (times in steps)."""

    num_epochs: int
    val_step: int
    val_factor: int
    dur: int  # phase length in units of t_ref
    t_ref: int = 50
    tau_syn: int = 50
    stdp_tau: float = 50.0
    kernel: str = "triangular"

    def __post_init__(self) -> None:
        for name in ("num_epochs", "val_step", "val_factor", "dur", "t_ref", "tau_syn"):
            if int(getattr(self, name)) < 1:
                raise UserError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.tau_syn > self.t_ref + 1:
            raise UserError(f"tau_syn must be <= t_ref + 1 = {self.t_ref + 1}, got {self.tau_syn}")
        if self.stdp_tau <= 0:
            raise UserError(f"stdp tau must be positive, got {self.stdp_tau}")
        if self.kernel not in KERNELS:
            raise UserError(f"unknown STDP kernel {self.kernel!r} (allowed: {', '.join(KERNELS)})")

    @property
    def T(self) -> int:
        return self.dur * self.t_ref

    def is_validation(self, it: int) -> bool:
        return self.val_step != 1 and it % self.val_step == 0


@dataclass
class TrainState:
    """Everything needed to continue a batch of runs: parameters, RNG states and the records."""

    W: np.ndarray  # (R, N, N)
    b: np.ndarray  # (R, N)
    rng: np.ndarray  # (R, 4) uint64
    iteration: int = 0
    records: dict[str, list] = field(default_factory=dict)

    def run_state(self, r: int) -> dict:
        """Checkpoint of run r (plain arrays)."""
        return {
            "W": self.W[r].copy(),
            "b": self.b[r].copy(),
            "rng": self.rng[r].copy(),
            "iteration": self.iteration,
            "records": {k: [np.copy(v[r]) for v in vals] for k, vals in self.records.items()},
        }

    @staticmethod
    def from_run_states(states: list[dict]) -> TrainState:
        its = {s["iteration"] for s in states}
        if len(its) != 1:
            raise ValueError("runs batched together must be at the same iteration")
        keys = states[0]["records"].keys()
        n_rec = len(states[0]["records"].get("iterations", []))
        records = {k: [np.stack([s["records"][k][m] for s in states]) for m in range(n_rec)] for k in keys}
        return TrainState(
            np.stack([s["W"] for s in states]),
            np.stack([s["b"] for s in states]),
            np.stack([s["rng"] for s in states]),
            its.pop(),
            records,
        )


def phase_statistics(
    W: np.ndarray,
    b: np.ndarray,
    n_steps: int,
    *,
    t_ref: int,
    tau_syn: int,
    seeds: np.ndarray,
    rulers: list | None = None,
    sample_dt: int | None = None,
) -> dict[str, np.ndarray]:
    """Sleep-phase statistics of R networks from the fused kernel used by the trainer (no update).

    Returns raw (unnormalised) ``counts`` (R, N) spike counts, ``S`` (R, K, N, N) pair-based STDP sums of
    the K rulers (depth 1, docs/sampling.md, "STDP rulers"), and ``hist`` (R, 2^N) state counts at the sample steps
    0, sample_dt, ... (default t_ref // 2).  With the same seeds the spike trains are those of
    :func:`~spikealign.sampling.simulator.simulate_spikes`.
    """
    from .simulator import check_network

    W, b = check_network(W, b, n_steps, t_ref, tau_syn)
    R, N = b.shape
    rulers = rulers or []
    kinds = np.array([ru.kind for ru in rulers], dtype=np.int64)
    rul = np.empty((R, len(rulers), 4, N, N))
    for k, ru in enumerate(rulers):
        rul[:, k] = ru.stacked()[None]
    counts = np.zeros((R, N), dtype=np.int64)
    S = np.zeros((R, len(rulers), N, N))
    hist = np.zeros((R, 2**N), dtype=np.int64)
    dt = np.int64(sample_dt if sample_dt is not None else max(1, t_ref // 2))
    rng = seed_states(np.asarray(seeds, dtype=np.uint64).reshape(R))
    phase = Phase(np.int64(t_ref), np.int64(tau_syn), kinds, rul, dt)
    phase_stats_kernel(W, b, np.int64(n_steps), rng, phase, counts, S, hist)
    return {"counts": counts, "S": S, "hist": hist}


#: about this many progress updates per call of :func:`train` when ``on_progress`` is given
PROGRESS_UPDATES = 100
#: with ``on_progress``, compiled calls grow (doubling from one cycle) while a call takes less than this
PIECE_S = 1.0
RECORD_KEYS = ("iterations", "dkls", "all_distr", "all_weights", "all_biases", "all_asym")


def _rulers(problems: list[Problem], schedule: Schedule) -> tuple[np.ndarray, np.ndarray]:
    """Kernel kinds (2,) and rulers (R, 2, 4, N, N): WS (A+ = A- = gains) and SAL (A+ = -gains, A- = gains)."""
    R, N = len(problems), problems[0].W_init.shape[0]
    rulers = np.empty((R, 2, 4, N, N))
    for r, p in enumerate(problems):
        rulers[r, 0, 0] = p.gains_ws
        rulers[r, 0, 1] = p.gains_ws
        rulers[r, 1, 0] = -p.gains_sal
        rulers[r, 1, 1] = p.gains_sal
    rulers[:, :, 2:] = float(schedule.stdp_tau)
    return np.full(2, KERNELS[schedule.kernel], dtype=np.int64), rulers


def _record(state: TrainState, it: int, hist: np.ndarray, ptarget: np.ndarray) -> None:
    """Append the validation record of iteration ``it`` (q from the state counts ``hist``)."""
    R = hist.shape[0]
    q = hist / hist.sum(axis=1, keepdims=True)
    rec = state.records
    rec["iterations"].append(np.full(R, it, dtype=np.int64))
    rec["dkls"].append(np.array([kl_divergence(ptarget[r], q[r]) for r in range(R)]))
    rec["all_distr"].append(q)
    rec["all_weights"].append(state.W.copy())
    rec["all_biases"].append(state.b.copy())
    rec["all_asym"].append(asymmetry(state.W))


def train(
    problems: list[Problem],
    schedule: Schedule,
    lr: np.ndarray,
    clip: np.ndarray,
    seeds: np.ndarray | None,
    *,
    state: TrainState | None = None,
    on_record: Callable[[TrainState], None] | None = None,
    stop_after: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> TrainState:
    """Train a batch of runs with the same schedule (docs/sampling.md, "Wake-sleep learning with SAL").

    Parameters
    ----------
    problems : one :class:`Problem` per run (targets, initial values, gains).
    schedule : shared phase lengths and validation schedule.
    lr : (R, 3) learning rates (bias, weight, symm); clip : (R, 2) (max_w, max_b).
    seeds : (R,) uint64 spike-stream seeds (ignored when ``state`` is given, then may be ``None``).
    state : continue from this state (a checkpoint) instead of the initial values.
    on_record : called with the state after each validation record (for checkpoints).
    stop_after : stop once this many iterations are done in total (for tests of resuming).
    on_progress : called with the number of iterations done by each compiled call (e.g. a bar's
        ``update``); the training calls then do at most 1/PROGRESS_UPDATES of the cycles each, and
        start at one cycle, growing while a call takes under ``PIECE_S`` seconds, so that a run of
        any length reports within seconds (the kernel works in place, so the cut does not change any
        number).

    Returns
    -------
    TrainState whose ``records`` hold, per validation iteration, ``iterations``, ``dkls``
    (D_KL(p* || q)), ``all_distr`` (q, sampled before the update), ``all_weights``, ``all_biases``
    (after the update and clipping) and ``all_asym`` (Var(W - W^T) over the strict upper triangle).
    """
    R = len(problems)
    N = problems[0].W_init.shape[0]
    plasticity = Plasticity.from_arrays(lr, clip, R)
    if state is None:
        if seeds is None:
            raise ValueError("train: seeds are needed to start without a state")
        W0 = np.stack([p.W_init for p in problems]).astype(np.float64)
        b0 = np.stack([p.b_init for p in problems]).astype(np.float64)
        state = TrainState(W0, b0, seed_states(seeds), 0, {k: [] for k in RECORD_KEYS})
    C = np.stack([p.C_target for p in problems])
    m = np.stack([p.m_target for p in problems])
    ptarget = np.stack([p.p_target for p in problems])
    kinds, rulers = _rulers(problems, schedule)
    phase = Phase(np.int64(schedule.t_ref), np.int64(schedule.tau_syn), kinds, rulers,
                  np.int64(max(1, schedule.t_ref // 2)))  # fmt: skip
    args = (phase, Targets(C, m), plasticity)
    no_hist = np.zeros((R, 0), dtype=np.int64)
    end = schedule.num_epochs if stop_after is None else min(schedule.num_epochs, stop_after)
    most = max(1, -(-(end - state.iteration) // PROGRESS_UPDATES)) if on_progress is not None else end
    piece = 1 if on_progress is not None else end
    while state.iteration < end:
        it = state.iteration
        if schedule.is_validation(it):
            hist = np.zeros((R, 2**N), dtype=np.int64)
            T = np.int64(schedule.T * schedule.val_factor)
            train_iterations_kernel(state.W, state.b, state.rng, 1, T, *args, hist)
            _record(state, it, hist, ptarget)
            state.iteration = it + 1
            if on_record is not None:
                on_record(state)
        else:
            n = min(end - it, piece)
            if schedule.val_step != 1:
                n = min(n, schedule.val_step - it % schedule.val_step)
            t0 = time.perf_counter()
            train_iterations_kernel(state.W, state.b, state.rng, n, np.int64(schedule.T), *args, no_hist)
            state.iteration = it + n
            if time.perf_counter() - t0 < PIECE_S:
                piece = min(most, 2 * piece)
        if on_progress is not None:
            on_progress(state.iteration - it)
    return state


def records_arrays(state: TrainState, r: int) -> dict[str, np.ndarray]:
    """Records of run r as arrays (R_records, ...)."""
    out = {}
    for k in RECORD_KEYS:
        vals = state.records.get(k, [])
        out[k] = np.stack([v[r] for v in vals]) if vals else np.zeros(0)
    return out
