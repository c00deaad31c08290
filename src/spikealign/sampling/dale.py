"""Dale's-law E/I system: SAL aligns the *effective* excitatory interactions (spec sampling.md §11).

Model (§11.1).  Four escape-noise neurons of spec §2 (rectangular PSP, ``tau_syn = t_ref = 25``):
e1 (index 0), e2 (1), i1 (2), i2 (3).  Weights are indexed (post, pre); the non-zero entries are

========  ===========  ============
key       connection   matrix entry
========  ===========  ============
e2_e1     e2 <- e1     W[1, 0]
e1_e2     e1 <- e2     W[0, 1]
i1_e1     i1 <- e1     W[2, 0]
i2_e2     i2 <- e2     W[3, 1]
e2_i1     e2 <- i1     W[1, 2]
e1_i2     e1 <- i2     W[0, 3]
========  ===========  ============

so e1 excites e2 directly and inhibits it through i1 (and symmetrically through i2).  The E->E
weights are non-negative (Dale's law); inhibition acts only through the I neurons.

Effective weight (§11.2, mean-field)::

    W_eff(e2<-e1) = W(e2<-e1) + W(e2<-i1) * sigma(W(i1<-e1) r1 + b_i1) / r1,   r1 = sigma(b_e1)

and analogously for e1<-e2 through i2 with r2 = sigma(b_e2); the inverse subtracts the offset.

SAL measurement (§11.3): keep the e1/e2 spikes, accumulate nearest-neighbour STDP
(:func:`calc_nn_stdp`) with the exponential window A+ = -1 (causal), A- = +1 (anti-causal),
tau+ = tau- = t_ref, and normalise by t_ref / T.  Then dW(e2<-e1) = S[1, 0], dW(e1<-e2) = S[0, 1].

Spike trains come from :func:`spikealign.sampling.simulator.simulate_spikes` (the §2 process,
exact event-driven kernel, one seeded stream per simulation).

Experiments registered here:

* ``dale-sal``: the SAL update on a grid of raw E->E weights (the phase-plane panels §11.4/§11.5);
  one run computes the outer product of its ``w_e2_e1`` and ``w_e1_e2`` lists, so a 21 x 21 grid
  is split into a handful of runs by a sweep over chunks of ``w_e2_e1``.
* ``dale-rate``: the effective-weight check (§11.6): e2's on-fraction (rate x t_ref) in the E-I
  circuit and in the "direct" circuit whose E->E weight is the effective weight.

Figure ``dale``: the three panels, with checks computed from the numbers.

Differences from the reference notebook (none changes what is computed at a grid point):

* spike trains are seeded and reproducible (the reference's numba stream is not, spec §2.2); each
  grid point has its own named stream, independent of how the grid is split into runs;
* the rate check (§11.6) may use several replicas per point (``n_replicas``) to draw error bars
  and test agreement statistically; the reference simulated one run per point;
* the panels are drawn 1.5x the paper's size (5 x 6.5 cm and 5 x 3 cm) with 6 pt fonts, and the
  phase planes also show the effective (y = x) and raw (equal raw weights) diagonals.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numba as nb
import numpy as np
from pydantic import Field, field_validator

from ..config import RunConfig
from ..errors import UserError
from ..registry import Check, Experiment, Figure, FigureOutput, register_experiment, register_figure

T_REF = 25
TAU_SYN = 25
PARAM_SEED = 97
NEURONS: dict[str, int] = {"e1": 0, "e2": 1, "i1": 2, "i2": 3}
CONNECTIONS: dict[str, tuple[int, int]] = {
    "e2_e1": (1, 0),
    "e1_e2": (0, 1),
    "i1_e1": (2, 0),
    "i2_e2": (3, 1),
    "e2_i1": (1, 2),
    "e1_i2": (0, 3),
}
#: STDP window of the SAL measurement: (A+, A-) with tau+ = tau- = t_ref.
SAL_AMPLITUDES = (-1.0, 1.0)

__all__ = [
    "CONNECTIONS",
    "NEURONS",
    "EIParameters",
    "calc_nn_stdp",
    "circuit_parameters",
    "effective_offset",
    "effective_weight",
    "ei_network",
    "measure_sal",
    "nn_stdp",
    "noisy_parameters",
    "raw_weight",
    "zero_crossings",
]


# --------------------------------------------------------------------------- parameters
def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class EIParameters:
    """The fixed (non-E->E) parameters of the E/I circuit; defaults are the noise-free set (§11.5)."""

    w_i1_e1: float = 4.0
    w_i2_e2: float = 4.0
    w_e2_i1: float = -1.0
    w_e1_i2: float = -1.0
    b_i1: float = -2.0
    b_i2: float = -2.0
    b_e1: float = 0.0
    b_e2: float = 0.0

    def offset(self, connection: str) -> float:
        """Offset W_eff - W of ``connection`` ("e2_e1" or "e1_e2"), see :func:`effective_offset`."""
        if connection == "e2_e1":
            return effective_offset(self.w_i1_e1, self.w_e2_i1, self.b_i1, self.b_e1)
        if connection == "e1_e2":
            return effective_offset(self.w_i2_e2, self.w_e1_i2, self.b_i2, self.b_e2)
        raise UserError(f"connection must be 'e2_e1' or 'e1_e2', got {connection!r}")


def noisy_parameters(seed: int = PARAM_SEED) -> EIParameters:
    """The paper's noisy parameters (§11.4): drawn from ``numpy.random.default_rng(seed)``.

    Call order (bitwise as in the reference): W(i1<-e1) ~ N(4, 0.2), W(i2<-e2) ~ N(4, 0.2),
    W(e2<-i1) ~ N(-1, 0.1), W(e1<-i2) ~ N(-1, 0.1), b_i1 ~ N(-2, 0.2), b_i2 ~ N(-2, 0.2)
    (``rng.normal(loc, scale)``).  With seed 97: 3.9479, 4.2320, -1.0426, -1.0985, -2.2544, -2.1838.
    """
    rng = np.random.default_rng(seed)
    w_i1_e1 = float(rng.normal(4.0, 0.2))
    w_i2_e2 = float(rng.normal(4.0, 0.2))
    w_e2_i1 = float(rng.normal(-1.0, 0.1))
    w_e1_i2 = float(rng.normal(-1.0, 0.1))
    b_i1 = float(rng.normal(-2.0, 0.2))
    b_i2 = float(rng.normal(-2.0, 0.2))
    return EIParameters(w_i1_e1, w_i2_e2, w_e2_i1, w_e1_i2, b_i1, b_i2)


CIRCUITS = ("noisy", "noise_free")


def circuit_parameters(circuit: str, param_seed: int = PARAM_SEED) -> EIParameters:
    """Parameters by name: ``"noisy"`` (§11.4, drawn with ``param_seed``) or ``"noise_free"`` (§11.5)."""
    if circuit == "noisy":
        return noisy_parameters(param_seed)
    if circuit == "noise_free":
        return EIParameters()
    raise UserError(f"circuit must be one of {', '.join(CIRCUITS)}, got {circuit!r}")


# --------------------------------------------------------------------------- effective weights
def effective_offset(w_ie: float, w_ei: float, b_i: float, b_e: float) -> float:
    """Mean-field offset of the disynaptic E->I->E path (§11.2).

    offset = W_ei * sigma(W_ie * r + b_i) / r with r = sigma(b_e) the presynaptic E neuron's
    free on-probability; W_ie is the I <- E(pre) weight, W_ei the E(post) <- I weight.
    """
    r = _sigmoid(b_e)
    return w_ei * _sigmoid(w_ie * r + b_i) / r


def effective_weight(w: Any, connection: str, params: EIParameters) -> Any:
    """W_eff = W + offset(connection) (§11.2) for raw E->E weight(s) ``w`` (scalar or array).

    ``connection`` is "e2_e1" (offset through i1) or "e1_e2" (through i2).
    """
    offset = params.offset(connection)
    return np.asarray(w, dtype=float) + offset if np.ndim(w) else float(w) + offset


def raw_weight(w_eff: Any, connection: str, params: EIParameters) -> Any:
    """Inverse of :func:`effective_weight`: W = W_eff - offset(connection)."""
    offset = params.offset(connection)
    return np.asarray(w_eff, dtype=float) - offset if np.ndim(w_eff) else float(w_eff) - offset


def ei_network(
    w_e2_e1: Any,
    w_e1_e2: Any,
    params: EIParameters,
    *,
    zero: tuple[str, ...] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (R, 4, 4) indexed (post, pre) and biases (R, 4) of R copies of the E/I circuit.

    ``w_e2_e1`` and ``w_e1_e2`` are broadcast to R values (raw E->E weights); ``zero`` names
    connections (keys of :data:`CONNECTIONS`) set to 0, e.g. ``("e1_i2", "e2_i1")`` for a direct circuit.
    """
    a, c = np.broadcast_arrays(np.atleast_1d(np.asarray(w_e2_e1, float)), np.atleast_1d(np.asarray(w_e1_e2, float)))
    a, c = a.reshape(-1), c.reshape(-1)
    for name in zero:
        if name not in CONNECTIONS:
            raise UserError(f"unknown connection {name!r} (allowed: {', '.join(CONNECTIONS)})")
    R = a.size
    W = np.zeros((R, 4, 4))
    values = {
        "e2_e1": a,
        "e1_e2": c,
        "i1_e1": params.w_i1_e1,
        "i2_e2": params.w_i2_e2,
        "e2_i1": params.w_e2_i1,
        "e1_i2": params.w_e1_i2,
    }
    for name, (post, pre) in CONNECTIONS.items():
        W[:, post, pre] = 0.0 if name in zero else values[name]
    b = np.tile([params.b_e1, params.b_e2, params.b_i1, params.b_i2], (R, 1)).astype(float)
    return W, b


# --------------------------------------------------------------------------- nearest-neighbour STDP
@nb.njit(cache=True, inline="always")
def _exp_window(x: float, a_plus: float, a_minus: float, tau_plus: float, tau_minus: float) -> float:
    if x > 0.0:
        return a_plus * math.exp(-x / tau_plus)
    if x < 0.0:
        return a_minus * math.exp(x / tau_minus)
    return 0.0


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
    """Nearest-neighbour STDP sums S (n_neurons, n_neurons), indexed (post, pre) (§11.3).

    Spikes ``(times[k], neurons[k])`` (0-based ids) are visited in the given order (sorted by time,
    ties by neuron index); spikes of neurons with id >= ``n_neurons`` (or < 0) are ignored.  For a
    spike of i at t, with p_i the previous spike of i and s_j the last spike of j != i::

        if t - s_j < t - p_i  (j fired since i's previous spike; never-fired counts as -inf):
            S[i, j] += K(t - s_j);   S[j, i] += K(-(t - s_j))

    then p_i = t.  K(x) = a_plus e^{-x/tau_plus} (x > 0), a_minus e^{x/tau_minus} (x < 0), K(0) = 0.
    Returns the raw sums (not normalised).
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
                S[i, j] += _exp_window(x, a_plus, a_minus, tau_plus, tau_minus)
                S[j, i] += _exp_window(-x, a_plus, a_minus, tau_plus, tau_minus)
        last[i] = t
    return S


@nb.njit(cache=True)
def _nn_stdp_csr(times, neurons, offsets, n_neurons, a_plus, a_minus, tau_plus, tau_minus):
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


# --------------------------------------------------------------------------- SAL measurement
def measure_sal(
    W: np.ndarray,
    b: np.ndarray,
    n_steps: int,
    seeds: np.ndarray,
    *,
    t_ref: int = T_REF,
    tau_syn: int = TAU_SYN,
    chunk: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate R E/I circuits and measure their SAL update and spike counts (§11.3).

    Parameters
    ----------
    W, b : (R, 4, 4) weights indexed (post, pre) and (R, 4) biases (see :func:`ei_network`).
    n_steps : T, steps per simulation (each starts with no spikes, as in the reference).
    seeds : (R,) uint64, one independent stream per simulation.
    chunk : simulations per simulator call; by default as many (<= 64) as keep the temporary spike
        buffers (~12 bytes per possible spike) under ~256 MB.

    Returns
    -------
    S : (R, 2, 2) normalised nearest-neighbour STDP of the e1/e2 spikes, S * t_ref / T, with
        S[:, 1, 0] = dW(e2<-e1) and S[:, 0, 1] = dW(e1<-e2).  The SAL window has A- = -A+ and
        equal time constants, so every pair adds opposite amounts: S[:, 0, 1] = -S[:, 1, 0] exactly.
    counts : (R, 4) spike counts per neuron (rate x t_ref = counts * t_ref / T).
    """
    from .simulator import simulate_spikes

    W = np.asarray(W, dtype=float)
    b = np.asarray(b, dtype=float)
    seeds = np.asarray(seeds, dtype=np.uint64).reshape(-1)
    if W.ndim != 3 or W.shape[1:] != (4, 4):
        raise UserError(f"the E/I circuit needs weights of shape (R, 4, 4), got {W.shape}")
    R = W.shape[0]
    if seeds.shape != (R,):
        raise UserError(f"seeds must hold one value per simulation ({R}), got shape {seeds.shape}")
    if chunk is None:
        per_sim = 12 * 4 * (int(n_steps) // (int(t_ref) + 1) + 1)
        chunk = int(max(1, min(64, (256 << 20) // per_sim)))
    S = np.empty((R, 2, 2))
    counts = np.empty((R, 4), dtype=np.int64)
    a_plus, a_minus = SAL_AMPLITUDES
    for a in range(0, R, chunk):
        e = min(R, a + chunk)
        st = simulate_spikes(W[a:e], b[a:e], n_steps, t_ref=t_ref, tau_syn=tau_syn, seeds=seeds[a:e], chunk=chunk)
        raw = _nn_stdp_csr(st.times, st.neurons, st.offsets, 2, a_plus, a_minus, float(t_ref), float(t_ref))
        S[a:e] = raw * (t_ref / n_steps)
        counts[a:e] = st.counts()
    return S, counts


def on_fraction_theory(u: Any, t_ref: int = T_REF) -> Any:
    """Stationary on-fraction of an isolated neuron with constant potential u (§2.1).

    rho = 1/(1 + t_ref e^{-u}); the cycle is t_ref refractory steps plus a Geometric(rho) off
    period (mean 1/rho), so f = t_ref rho / (1 + t_ref rho).
    """
    rho = 1.0 / (1.0 + t_ref * np.exp(-np.asarray(u, dtype=float)))
    return t_ref * rho / (1.0 + t_ref * rho)


# --------------------------------------------------------------------------- zero set of the field
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


# --------------------------------------------------------------------------- experiments
def _check_dale(values: list[float], key: str) -> list[float]:
    for v in values:
        if not math.isfinite(v) or v < 0.0:
            raise ValueError(f"{key} holds {v}: E->E weights must be finite and >= 0 (Dale's law)")
    return values


class _EIBase(RunConfig):
    circuit: Literal["noisy", "noise_free"] = Field(
        "noisy", description="parameter set: 'noisy' (rng(97) draws, §11.4) or 'noise_free' (§11.5)"
    )
    param_seed: int = Field(PARAM_SEED, ge=0, description="seed of the noisy parameter draws")
    n_steps: int = Field(2_000_000, ge=1, lt=2**31, description="steps per simulation")
    n_replicas: int = Field(1, ge=1, le=4096, description="independent simulations per point")
    t_ref: int = Field(T_REF, ge=1, description="refractory period in steps")
    tau_syn: int = Field(TAU_SYN, ge=1, description="rectangular PSP length in steps (<= t_ref + 1)")

    @field_validator("tau_syn")
    @classmethod
    def _tau_ok(cls, v: int, info) -> int:
        t_ref = info.data.get("t_ref")
        if t_ref is not None and v > t_ref + 1:
            raise ValueError(f"tau_syn must be <= t_ref + 1 = {t_ref + 1}")
        return v


class DaleSALConfig(_EIBase):
    """SAL update dW of the E->E synapses on the grid ``w_e2_e1`` x ``w_e1_e2`` of raw weights."""

    kind: Literal["dale-sal"] = "dale-sal"
    w_e2_e1: list[float] = Field(min_length=1, description="raw W(e2<-e1) values (rows of the grid)")
    w_e1_e2: list[float] = Field(min_length=1, description="raw W(e1<-e2) values (columns of the grid)")

    @field_validator("w_e2_e1", "w_e1_e2")
    @classmethod
    def _dale(cls, v: list[float], info) -> list[float]:
        return _check_dale(v, info.field_name)


class DaleRateConfig(_EIBase):
    """e2's on-fraction in the E-I circuit and in the direct circuit with the effective weight (§11.6)."""

    kind: Literal["dale-rate"] = "dale-rate"
    w_e2_e1: list[float] = Field(
        default_factory=lambda: [0.25 * k for k in range(9)], min_length=1, description="raw W(e2<-e1) values"
    )
    n_steps: int = Field(500_000, ge=1, lt=2**31, description="steps per simulation")

    @field_validator("w_e2_e1")
    @classmethod
    def _dale(cls, v: list[float], info) -> list[float]:
        return _check_dale(v, info.field_name)


def run_sal_grid(config: DaleSALConfig, ctx) -> dict[str, float]:
    """Experiment ``dale-sal``: dW(e2<-e1), dW(e1<-e2) and spike counts at every grid point.

    Every grid point has its own random streams, named by the circuit and the two raw weights under
    the run's seed, so a point's result does not depend on how a sweep splits the grid into runs.

    Saves ``sal.npz`` with ``w_e2_e1`` (na,), ``w_e1_e2`` (nc,), ``dw_e2_e1`` and ``dw_e1_e2``
    (na, nc, n_replicas), ``counts`` (na, nc, n_replicas, 4), ``offsets`` [offset(e2_e1), offset(e1_e2)].
    """
    params = circuit_parameters(config.circuit, config.param_seed)
    a = np.asarray(config.w_e2_e1, dtype=float)
    c = np.asarray(config.w_e1_e2, dtype=float)
    R = config.n_replicas
    A, C = np.meshgrid(a, c, indexing="ij")
    W, b = ei_network(np.repeat(A.ravel(), R), np.repeat(C.ravel(), R), params)
    names = [(repr(float(x)), repr(float(y))) for x, y in zip(A.ravel(), C.ravel(), strict=True)]
    seeds = np.concatenate([ctx.replica_seeds(R, "dale-sal", config.circuit, x, y) for x, y in names])
    t0 = time.perf_counter()
    S, counts = measure_sal(W, b, config.n_steps, seeds, t_ref=config.t_ref, tau_syn=config.tau_syn)
    wall = time.perf_counter() - t0
    shape = (a.size, c.size, R)
    dw21 = S[:, 1, 0].reshape(shape)
    dw12 = S[:, 0, 1].reshape(shape)
    ctx.save_arrays(
        "sal",
        w_e2_e1=a,
        w_e1_e2=c,
        dw_e2_e1=dw21,
        dw_e1_e2=dw12,
        counts=counts.reshape((*shape, 4)),
        offsets=np.array([params.offset("e2_e1"), params.offset("e1_e2")]),
    )
    return {
        "n_points": int(a.size * c.size),
        "n_simulations": int(W.shape[0]),
        "mean_abs_dw_e2_e1": float(np.mean(np.abs(dw21))),
        "offset_e2_e1": params.offset("e2_e1"),
        "offset_e1_e2": params.offset("e1_e2"),
        "sim_seconds": wall,
        "steps_per_second": W.shape[0] * config.n_steps / max(wall, 1e-9),
    }


def run_rate_check(config: DaleRateConfig, ctx) -> dict[str, float]:
    """Experiment ``dale-rate`` (§11.6): e2's on-fraction, E-I circuit vs direct circuit.

    (a) E-I: W(e1<-e2) = W(e1<-i2) = 0, W(e2<-e1) = w (direct path plus e1 -> i1 -> e2);
    (b) direct: additionally W(e2<-i1) = 0 and W(e2<-e1) = W_eff(w).
    On-fraction = e2's spike count x t_ref / T.  Saves ``rates.npz`` with ``w_e2_e1``, ``w_eff``,
    ``on_ei`` and ``on_direct`` (n_w, n_replicas).
    """
    params = circuit_parameters(config.circuit, config.param_seed)
    w = np.asarray(config.w_e2_e1, dtype=float)
    w_eff = effective_weight(w, "e2_e1", params)
    R = config.n_replicas
    W_ei, b_ei = ei_network(np.repeat(w, R), 0.0, params, zero=("e1_i2",))
    W_di, b_di = ei_network(np.repeat(w_eff, R), 0.0, params, zero=("e1_i2", "e2_i1"))
    W = np.concatenate([W_ei, W_di])
    b = np.concatenate([b_ei, b_di])
    seeds = np.concatenate(
        [ctx.replica_seeds(R, "dale-rate", circuit, repr(float(x))) for circuit in ("ei", "direct") for x in w]
    )
    _, counts = measure_sal(W, b, config.n_steps, seeds, t_ref=config.t_ref, tau_syn=config.tau_syn)
    on = counts[:, NEURONS["e2"]] * config.t_ref / config.n_steps
    on_ei = on[: w.size * R].reshape(w.size, R)
    on_direct = on[w.size * R :].reshape(w.size, R)
    ctx.save_arrays("rates", w_e2_e1=w, w_eff=np.asarray(w_eff), on_ei=on_ei, on_direct=on_direct)
    diff = on_ei.mean(1) - on_direct.mean(1)
    return {
        "max_abs_diff": float(np.max(np.abs(diff))),
        "on_ei_min": float(on_ei.mean(1).min()),
        "on_ei_max": float(on_ei.mean(1).max()),
    }


SAL_EXPERIMENT = register_experiment(
    Experiment(
        kind="dale-sal",
        config_model=DaleSALConfig,
        run=run_sal_grid,
        summary="Dale's-law E/I circuit: SAL update of the E->E synapses on a grid of raw weights",
    )
)
RATE_EXPERIMENT = register_experiment(
    Experiment(
        kind="dale-rate",
        config_model=DaleRateConfig,
        run=run_rate_check,
        summary="Dale's-law E/I circuit: e2's on-fraction, E-I vs direct circuit with the effective weight",
    )
)


# --------------------------------------------------------------------------- figure
@dataclass(frozen=True)
class DaleProfile:
    """Sizes of the ``dale`` figure's sweeps."""

    n_grid: int  # grid values G = 0, step, ..., (n_grid - 1) step for both raw E->E weights
    step: float
    rows_per_run: int  # grid rows (values of W(e2<-e1)) per run
    n_steps: int
    rate_steps: int
    rate_replicas: int
    rate_weights: tuple[float, ...] = tuple(0.25 * k for k in range(9))


PROFILES: dict[str, DaleProfile] = {
    # spec §11.4-11.6: 21 x 21 grid of 2e6 steps, rate check 5e5 steps (replicas add error bars)
    "paper": DaleProfile(n_grid=21, step=0.1, rows_per_run=3, n_steps=2_000_000, rate_steps=500_000, rate_replicas=8),
    "quick": DaleProfile(n_grid=11, step=0.2, rows_per_run=4, n_steps=500_000, rate_steps=200_000, rate_replicas=4),
}


def grid_values(n: int, step: float) -> list[float]:
    """G = [0, step, ..., (n-1) step], rounded to 10 decimals (stable config hashes)."""
    return [round(k * step, 10) for k in range(n)]


def make_sweeps(profile: DaleProfile) -> list:
    """The three sweeps of the ``dale`` figure: noisy and noise-free SAL grids and the rate check."""
    from ..sweep import SweepSpec

    G = grid_values(profile.n_grid, profile.step)
    chunks = [G[k : k + profile.rows_per_run] for k in range(0, len(G), profile.rows_per_run)]
    specs = []
    for name, circuit in (("sal_noisy", "noisy"), ("sal_noise_free", "noise_free")):
        specs.append(
            SweepSpec(
                name=name,
                experiment="dale-sal",
                base={"circuit": circuit, "w_e1_e2": G, "n_steps": profile.n_steps},
                grid={"w_e2_e1": chunks},
            )
        )
    specs.append(
        SweepSpec(
            name="eff_rate",
            experiment="dale-rate",
            base={
                "circuit": "noisy",
                "w_e2_e1": list(profile.rate_weights),
                "n_steps": profile.rate_steps,
                "n_replicas": profile.rate_replicas,
            },
        )
    )
    return specs


def dale_sweeps(profile: str) -> list:
    if profile not in PROFILES:
        raise UserError(f"unknown profile {profile!r} for figure 'dale' (allowed: {', '.join(PROFILES)})")
    return make_sweeps(PROFILES[profile])


def load_sal_grid(result) -> dict[str, np.ndarray]:
    """Assemble the runs of a ``dale-sal`` sweep into one grid, rows sorted by W(e2<-e1)."""
    table = result.completed()
    if table.empty:
        raise UserError(f"sweep {result.root} has no completed dale-sal runs")
    parts = [result.arrays(run_id, "sal") for run_id in table["run_id"]]
    cols = parts[0]["w_e1_e2"]
    for p in parts:
        if not np.array_equal(p["w_e1_e2"], cols):
            raise UserError(f"sweep {result.root}: runs disagree on the W(e1<-e2) grid")
    rows = np.concatenate([p["w_e2_e1"] for p in parts])
    order = np.argsort(rows, kind="stable")
    out = {"w_e2_e1": rows[order], "w_e1_e2": cols, "offsets": parts[0]["offsets"]}
    for key in ("dw_e2_e1", "dw_e1_e2", "counts"):
        out[key] = np.concatenate([p[key] for p in parts])[order]
    return out


def zero_set_distances(grid: dict[str, np.ndarray]) -> dict[str, float]:
    """Where the zero set of the mean dW(e2<-e1) lies, in effective coordinates.

    x = W_eff(e1<-e2), y = W_eff(e2<-e1).  The effective diagonal is y = x, the raw diagonal
    (equal raw E->E weights) is y = x + gap with gap = offset(e2_e1) - offset(e1_e2).  Returns the
    mean perpendicular distance of the zero crossings to both lines, the mean signed y - x, the
    number of crossings, and the fraction of grid points with |y - x| >= 0.3 where dW(e2<-e1) has
    the sign of -(y - x) (SAL reduces the effective asymmetry).
    """
    off21, off12 = (float(v) for v in grid["offsets"])
    x = grid["w_e1_e2"] + off12
    y = grid["w_e2_e1"] + off21
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


def _ppd_panel(grid: dict[str, np.ndarray], out_dir: Path, name: str) -> list[Path]:
    import matplotlib.pyplot as plt
    import matplotlib.ticker as ticker
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    from ..figures import save_figure

    off21, off12 = (float(v) for v in grid["offsets"])
    x = grid["w_e1_e2"] + off12
    y = grid["w_e2_e1"] + off21
    d21 = grid["dw_e2_e1"].mean(axis=-1)
    d12 = grid["dw_e1_e2"].mean(axis=-1)
    mag = np.sqrt(d12**2 + d21**2)
    mag = mag / mag.max() if mag.max() > 0 else mag
    with plt.rc_context({"font.size": 6, "axes.linewidth": 0.5}):
        fig, ax = plt.subplots(figsize=(5 / 2.54 * 1.5, 6.5 / 2.54 * 1.5))
        ax.grid(linewidth=0.3)
        ax.set_aspect("equal")
        im = ax.contourf(x, y, mag, 15, alpha=0.9, cmap="GnBu")
        ax.quiver(x[::2], y[::2], d12[::2, ::2], d21[::2, ::2], pivot="mid")
        if np.nanmin(d21) < 0 < np.nanmax(d21):
            ax.contour(x, y, d21, [0.0], colors="red", linewidths=1.0)
        lo, hi = min(x[0], y[0]), max(x[-1], y[-1])
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.6, label="effective diagonal")
        if abs(off21 - off12) > 1e-12:  # the two diagonals coincide for equal pathways
            ax.plot([lo, hi], [lo + off21 - off12, hi + off21 - off12], ":", color="0.4", lw=0.8, label="raw diagonal")
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(y[0], y[-1])
        ax.set_xlabel(r"$W^\mathrm{eff}(e_1\leftarrow e_2)$")
        ax.set_ylabel(r"$W^\mathrm{eff}(e_2\leftarrow e_1)$")
        top = ax.secondary_xaxis("top", functions=(lambda v: v - off12, lambda v: v + off12))
        top.set_xlabel(r"$W^\mathrm{EE}(e_1\leftarrow e_2)$")
        right = ax.secondary_yaxis("right", functions=(lambda v: v - off21, lambda v: v + off21))
        right.set_ylabel(r"$W^\mathrm{EE}(e_2\leftarrow e_1)$")
        for a in (ax.xaxis, ax.yaxis, top.xaxis, right.yaxis):
            a.set_major_locator(ticker.MultipleLocator(0.5))
        ax.legend(loc="upper left", fontsize=5, framealpha=0.8)
        cax = make_axes_locatable(ax).append_axes("bottom", size="5%", pad=0.45)
        fig.colorbar(
            im, cax=cax, ticks=[0.0, 0.5, 1.0], orientation="horizontal",
            label=r"$\sqrt{\Delta W_{12}^2 + \Delta W_{21}^2}$ (normalised)",
        )  # fmt: skip
        return save_figure(fig, out_dir, name)


def _rate_panel(data: dict[str, np.ndarray], params_offset: float, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from ..figures import save_figure

    w = data["w_e2_e1"]
    ei, di = data["on_ei"], data["on_direct"]
    n = ei.shape[1]
    err = (lambda a: a.std(axis=1, ddof=1) / math.sqrt(n)) if n > 1 else (lambda a: None)
    with plt.rc_context({"font.size": 6, "axes.linewidth": 0.5}):
        fig, ax = plt.subplots(figsize=(5 / 2.54 * 1.5, 3.0 / 2.54 * 1.5))
        ax.errorbar(w, ei.mean(1), yerr=err(ei), ls="", marker="o", mfc="none", mew=1.2, ms=5, label="E-I")
        ax.errorbar(w, di.mean(1), yerr=err(di), ls="", marker="s", ms=3, zorder=1, label="direct")
        top = ax.secondary_xaxis("top", functions=(lambda v: v + params_offset, lambda v: v - params_offset))
        top.set_xlabel(r"$W^\mathrm{eff}(e_2\leftarrow e_1)$", color="C1")
        top.tick_params(colors="C1")
        ax.set_xlim(-0.2, 2.2)
        lo = min(0.36, float(min(ei.mean(1).min(), di.mean(1).min())) - 0.02)
        hi = max(0.64, float(max(ei.mean(1).max(), di.mean(1).max())) + 0.02)
        ax.set_ylim(lo, hi)
        ax.set_xlabel(r"$W^\mathrm{EE}(e_2\leftarrow e_1)$", color="C0")
        ax.tick_params(axis="x", colors="C0")
        ax.set_ylabel(r"$r_{e_2}\,\tau_\mathrm{ref}$ (on-fraction)")
        ax.spines["top"].set_visible(False)
        ax.legend(fontsize=5)
        return save_figure(fig, out_dir, "dale_eff_weight")


def rate_agreement(data: dict[str, np.ndarray], alpha: float = 0.01) -> dict[str, float]:
    """Compare e2's on-fraction of the E-I and direct circuits point by point.

    z_k = (mean_EI - mean_direct) / sqrt(se_EI^2 + se_direct^2) with standard errors from the
    spread over replicas; the threshold is the two-sided Bonferroni bound
    z_crit = Phi^-1(1 - alpha / (2 n_points)), so that with exact agreement max |z| > z_crit has
    probability <= alpha.  Needs >= 2 replicas (else the z values are NaN).
    """
    from scipy.stats import norm

    ei, di = data["on_ei"], data["on_direct"]
    n = ei.shape[1]
    diff = ei.mean(1) - di.mean(1)
    if n > 1:
        se = np.sqrt(ei.var(1, ddof=1) / n + di.var(1, ddof=1) / n)
        z = diff / np.where(se > 0, se, np.nan)
    else:
        z = np.full(diff.shape, np.nan)
    span = float(np.ptp(ei.mean(1)))
    return {
        "max_abs_diff": float(np.max(np.abs(diff))),
        "max_abs_z": float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else float("nan"),
        "z_crit": float(norm.ppf(1 - alpha / (2 * diff.size))),
        "w_at_max_z": float(data["w_e2_e1"][int(np.nanargmax(np.abs(z)))]) if np.isfinite(z).any() else float("nan"),
        "on_fraction_span": span,
        "rel_max_diff": float(np.max(np.abs(diff)) / span) if span > 0 else float("nan"),
    }


def draw_dale(results: dict, out_dir: Path) -> FigureOutput:
    """Draw the three panels of the ``dale`` figure from the sweep results and check them."""
    out_dir = Path(out_dir)
    files: list[Path] = []
    numbers: dict[str, float] = {}
    checks: list[Check] = []

    noisy = load_sal_grid(results["sal_noisy"])
    files += _ppd_panel(noisy, out_dir, "dale_ppd_noised")
    zs = zero_set_distances(noisy)
    numbers.update({f"noisy_{k}": v for k, v in zs.items()})
    numbers["offset_e2_e1"], numbers["offset_e1_e2"] = (float(v) for v in noisy["offsets"])
    checks.append(
        Check(
            "the SAL zero set of dW(e2<-e1) lies on the diagonal of effective weights, not of raw weights",
            bool(zs["dist_eff"] < zs["dist_raw"]),
            f"mean distance of {zs['n_crossings']} zero crossings to the effective diagonal {zs['dist_eff']:.3f}, "
            f"to the raw diagonal {zs['dist_raw']:.3f} (lines {zs['gap'] / math.sqrt(2):.3f} apart); "
            f"mean W_eff asymmetry on the zero set {zs['mean_asym']:+.3f}",
        )
    )
    checks.append(
        Check(
            "SAL reduces the effective asymmetry: sign dW(e2<-e1) = -sign(W_eff(e2<-e1) - W_eff(e1<-e2)) "
            "wherever |asymmetry| >= 0.3",
            bool(zs["sign_fraction"] == 1.0),
            f"fraction of such grid points with the expected sign: {zs['sign_fraction']:.3f}",
        )
    )

    free = load_sal_grid(results["sal_noise_free"])
    files += _ppd_panel(free, out_dir, "dale_ppd")
    zf = zero_set_distances(free)
    numbers.update({f"noise_free_{k}": v for k, v in zf.items()})
    spacing = float(np.min(np.diff(free["w_e2_e1"]))) if free["w_e2_e1"].size > 1 else float("nan")
    checks.append(
        Check(
            "noise-free circuit: the SAL zero set lies on the (common) diagonal within one grid spacing",
            bool(zf["dist_eff"] < spacing),
            f"mean distance {zf['dist_eff']:.3f}, grid spacing {spacing:.3f}",
        )
    )

    rate_table = results["eff_rate"].completed()
    if rate_table.empty:
        raise UserError("sweep eff_rate has no completed dale-rate run")
    rates = results["eff_rate"].arrays(rate_table["run_id"].iloc[0], "rates")
    files += _rate_panel(rates, numbers["offset_e2_e1"], out_dir)
    ra = rate_agreement(rates)
    numbers.update({f"rate_{k}": v for k, v in ra.items()})
    checks.append(
        Check(
            "E-I and direct circuits agree on e2's on-fraction within the statistical error",
            bool(ra["max_abs_z"] <= ra["z_crit"]),
            f"max |z| = {ra['max_abs_z']:.2f} at W = {ra['w_at_max_z']:.2f} (Bonferroni bound {ra['z_crit']:.2f}); "
            f"max |difference| {ra['max_abs_diff']:.4f}",
        )
    )
    checks.append(
        Check(
            "the effective weight predicts e2's on-fraction to within 10% of the range the sweep spans",
            bool(ra["rel_max_diff"] < 0.1),
            f"max |difference| {ra['max_abs_diff']:.4f} = {ra['rel_max_diff']:.1%} of the span "
            f"{ra['on_fraction_span']:.3f}",
        )
    )
    return FigureOutput(
        files=files,
        numbers=numbers,
        checks=checks,
        notes="Panels: dale_ppd_noised (paper, §11.4), dale_ppd (noise-free, §11.5), dale_eff_weight (§11.6).",
    )


DALE_FIGURE = register_figure(
    Figure(
        id="dale",
        summary="Dale's law: SAL aligns the effective E->E weights of an E/I circuit (phase planes + rate check)",
        sweeps=dale_sweeps,
        draw=draw_dale,
    )
)
