"""The E/I circuit: its parameters, effective weights and weight matrices.

See docs/sampling.md, "Dale's-law E/I system" (the circuit, the parameter table and the
effective-weight formula).  Neurons e1 (index 0), e2 (1), i1 (2), i2 (3); weights are indexed
(post, pre), the non-zero entries are listed in :data:`CONNECTIONS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import UserError

T_REF = 25
TAU_SYN = 25
PARAM_SEED = 97
NEURONS: dict[str, int] = {"e1": 0, "e2": 1, "i1": 2, "i2": 3}
#: connection key -> (post, pre) matrix entry
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
CIRCUITS = ("noisy", "noise_free")


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class EIParameters:
    """The fixed (non-E->E) parameters of the E/I circuit; the defaults are the noise-free set."""

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
    """The paper's noisy parameters, drawn from ``numpy.random.default_rng(seed)``.

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


def circuit_parameters(circuit: str, param_seed: int = PARAM_SEED) -> EIParameters:
    """Parameters by name: ``"noisy"`` (drawn with ``param_seed``) or ``"noise_free"``."""
    if circuit == "noisy":
        return noisy_parameters(param_seed)
    if circuit == "noise_free":
        return EIParameters()
    raise UserError(f"circuit must be one of {', '.join(CIRCUITS)}, got {circuit!r}")


def effective_offset(w_ie: float, w_ei: float, b_i: float, b_e: float) -> float:
    """Mean-field offset of the disynaptic E->I->E path.

    offset = W_ei * sigma(W_ie * r + b_i) / r with r = sigma(b_e) the presynaptic E neuron's
    free on-probability; W_ie is the I <- E(pre) weight, W_ei the E(post) <- I weight.
    """
    r = _sigmoid(b_e)
    return w_ei * _sigmoid(w_ie * r + b_i) / r


def effective_weight(w: Any, connection: str, params: EIParameters) -> Any:
    """W_eff = W + offset(connection) for raw E->E weight(s) ``w`` (scalar or array).

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
    values: dict[str, Any] = {
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


def on_fraction_theory(u: Any, t_ref: int = T_REF) -> Any:
    """Stationary on-fraction of an isolated neuron with constant potential u.

    rho = 1/(1 + t_ref e^{-u}); the cycle is t_ref refractory steps plus a Geometric(rho) off
    period (mean 1/rho), so f = t_ref rho / (1 + t_ref rho) (docs/sampling.md, "Neurons that sample").
    """
    rho = 1.0 / (1.0 + t_ref * np.exp(-np.asarray(u, dtype=float)))
    return t_ref * rho / (1.0 + t_ref * rho)
