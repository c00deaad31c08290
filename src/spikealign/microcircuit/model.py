"""The spiking dendritic microcircuit network (input, hidden with interneurons, output).

:class:`Network` holds the state of one network (weights indexed (post, pre), potentials,
last spike times, moving averages, recording buffers and the spike-noise generator) and runs
patterns through the compiled kernel :func:`~spikealign.microcircuit.kernel.run_pattern_kernel`.

Random numbers: one ``numpy.random.default_rng(poisson_seed)`` serves all populations.  For a
pattern of ``L`` steps the kernel receives ``rng.random((N0 + N1 + 2 N2) * L)``, consumed step by
step in the order input, hidden pyramidal, interneuron, output.  This is the same stream as
drawing ``rng.random(N)`` per population per step, so the network reproduces the reference
implementation bit for bit (spec ``microcircuits.md`` §1.6, §5.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import kernel as K


@dataclass(frozen=True)
class NetworkParams:
    """Parameters of the microcircuit (spec §1, §4); time in integer steps.

    ``lr_up`` = (eta of W10, eta of W21); ``lr_down`` = eta of B (SAL STDP).
    ``update_down`` False means BP mode (B <- W21^T on every forward-plastic step).
    """

    dims: tuple[int, int, int] = (1, 1, 1)
    t_ref: int = 10
    tau_syn: int = 10
    n_last_spks: int = 1
    lambda_api: float = 0.02
    lambda_nudge: float = 0.6
    learning_lag: int = 2000
    size_moving_average: int = 2000
    stdp_a_causal: float = -1.0
    stdp_a_anticausal: float = 1.0
    stdp_tau_causal: float = 10.0
    stdp_tau_anticausal: float = 10.0
    lr_up: tuple[float, float] = (0.2, 0.003)
    lr_down: float = 0.001


@dataclass
class PatternResult:
    """What one pattern produced: mean nudged and free output potential after the lag, rates."""

    u_out: np.ndarray
    u_free: np.ndarray
    rates: dict[str, np.ndarray] = field(default_factory=dict)


def spike_probability(u: np.ndarray | float, t_ref: int) -> np.ndarray | float:
    """Per-step spike probability ``p(u) = 1 / (1 + t_ref exp(-u))`` (escape noise)."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(u, dtype=float) - np.log(t_ref))))


class Network:
    """State of one microcircuit network; see the module docstring.

    Parameters
    ----------
    params : network parameters.
    poisson_seed : seed of the spike-noise generator ``numpy.random.default_rng(poisson_seed)``
        (an int, a SeedSequence or a Generator).
    record_len : number of steps averaged into one recorded sample (``compress_len``).
    n_steps_total : total number of steps that will be run (sizes the recording array).
    """

    def __init__(
        self,
        params: NetworkParams,
        poisson_seed: int | np.random.SeedSequence | np.random.Generator,
        *,
        record_len: int,
        n_steps_total: int,
    ):
        n0, n1, n2 = (int(d) for d in params.dims)
        self.params = params
        self.dims = (n0, n1, n2)
        self.rng = (
            poisson_seed if isinstance(poisson_seed, np.random.Generator) else np.random.default_rng(poisson_seed)
        )
        kl = int(params.n_last_spks)
        m = int(params.size_moving_average)
        f = np.zeros(K.N_FPAR)
        f[K.F_LOG_TREF] = np.log(params.t_ref)
        f[K.F_TAU_SYN] = float(params.tau_syn)
        f[K.F_T_REF] = float(params.t_ref)
        f[K.F_LAM_API] = params.lambda_api
        f[K.F_LAM_NUDGE] = params.lambda_nudge
        f[K.F_LR_UP0], f[K.F_LR_UP1] = params.lr_up
        f[K.F_LR_DOWN] = params.lr_down
        f[K.F_A_C] = params.stdp_a_causal
        f[K.F_TAU_C] = params.stdp_tau_causal
        f[K.F_A_AC] = params.stdp_a_anticausal
        f[K.F_TAU_AC] = params.stdp_tau_anticausal
        ist = np.zeros(K.N_IST, dtype=np.int64)
        ist[K.I_MA_COUNT] = 1
        ist[K.I_MA_IDX] = 1 % m
        ist[K.I_MA_SIZE] = m
        ist[K.I_REC_LEN] = int(record_len)
        ist[K.I_LAG] = int(params.learning_lag)
        self.layout = K.record_layout(self.dims)
        n_rec = sum(int(np.prod(s)) for _, s in self.layout.values())
        n_samples = -(-int(n_steps_total) // int(record_len))
        self.s: dict[str, np.ndarray] = {
            "fpar": f,
            "ist": ist,
            "last_in": np.full((n0, kl), -np.inf),
            "last_h": np.full((n1, kl), -np.inf),
            "last_inn": np.full((n2, kl), -np.inf),
            "last_out": np.full((n2, kl), -np.inf),
            "u_in": np.zeros(n0),
            "u_h": np.zeros(n1),
            "v_bas_h": np.zeros(n1),
            "v_api": np.zeros(n1),
            "u_inn": np.zeros(n2),
            "u_o": np.zeros(n2),
            "v_bas_o": np.zeros(n2),
            "v_nudge": np.zeros(n2),
            "u_tgt": np.zeros(n2),
            "ma_uh": np.zeros(n1),
            "ma_vbh": np.zeros(n1),
            "ma_vbo": np.zeros(n2),
            "ma_uo": np.zeros(n2),
            "st_uh": np.zeros((m, n1)),
            "st_vbh": np.zeros((m, n1)),
            "st_vbo": np.zeros((m, n2)),
            "st_uo": np.zeros((m, n2)),
            "w10": np.zeros((n1, n0)),
            "b": np.zeros((n1, n2)),
            "w_pi": np.zeros((n1, n2)),
            "w_ip": np.zeros((n2, n1)),
            "w21": np.zeros((n2, n1)),
            "b1": np.zeros(n1),
            "b_inn": np.zeros(n2),
            "b2": np.zeros(n2),
            "rec_buf": np.zeros(n_rec),
            "rec_data": np.zeros((n_samples, n_rec), dtype=np.float32),
        }
        self._scratch = {
            "x_in": np.zeros(n0),
            "x_h": np.zeros(n1),
            "x_inn": np.zeros(n2),
            "x_out": np.zeros(n2),
            "stdp": np.zeros((n1, n2)),
        }

    # ------------------------------------------------------------------ weights
    @property
    def t(self) -> int:
        return int(self.s["ist"][K.I_T])

    def set_weights(self, w10=None, b=None, w21=None, w_pi=None, w_ip=None) -> None:
        """Copy (broadcasting scalars) the given weight matrices, indexed (post, pre)."""
        for name, value in (("w10", w10), ("b", b), ("w21", w21), ("w_pi", w_pi), ("w_ip", w_ip)):
            if value is not None:
                np.copyto(self.s[name], np.asarray(value, dtype=float))

    def weights(self) -> dict[str, np.ndarray]:
        return {k: self.s[k].copy() for k in ("w10", "b", "w_pi", "w_ip", "w21")}

    def set_bias(self, hidden, output) -> None:
        """Hidden pyramidal bias ``b1 = hidden``; interneuron and output bias ``b_I = b2 = output``."""
        np.copyto(self.s["b1"], np.asarray(hidden, dtype=float))
        np.copyto(self.s["b_inn"], np.asarray(output, dtype=float))
        np.copyto(self.s["b2"], np.asarray(output, dtype=float))

    def set_sps(self) -> None:
        """Self-predicting state by copying: ``W_ip <- W21``, ``W_pi <- -B``."""
        self.s["w_ip"][:, :] = self.s["w21"]
        self.s["w_pi"][:, :] = -self.s["b"]

    def copy_backprop(self) -> None:
        """Weight transport: ``B <- W21^T``."""
        self.s["b"][:, :] = self.s["w21"].T

    def set_symmetrization(self) -> None:
        """Symmetrisation phase: ``lambda_api <- 1`` and interneurons disconnected (W_pi = W_ip = 0)."""
        self.s["fpar"][K.F_LAM_API] = 1.0
        self.s["w_pi"][:] = 0.0
        self.s["w_ip"][:] = 0.0

    def unset_symmetrization(self) -> None:
        """Restore ``lambda_api`` and the self-predicting copy (always, as in the reference)."""
        self.s["fpar"][K.F_LAM_API] = self.params.lambda_api
        self.set_sps()

    # ------------------------------------------------------------------ running
    def run_pattern(
        self,
        u_pattern: np.ndarray,
        t_pattern: int,
        u_target: np.ndarray | None = None,
        *,
        validation: bool = False,
        symmetrization: bool = False,
        update_down: bool = True,
        set_sps_on: bool = True,
    ) -> PatternResult:
        """Present one input for ``t_pattern * t_ref`` steps (spec §1.6, §2.4).

        Forward plasticity is on for steps past the learning lag when a target is given and the
        pattern is neither validation nor symmetrisation; SAL STDP (``update_down``) runs on every
        step of a symmetrisation pattern, whose start disconnects the interneurons and sets
        ``lambda_api = 1`` and whose end restores both.
        """
        n0, n1, n2 = self.dims
        len_pattern = int(t_pattern) * int(self.params.t_ref)
        if self.params.learning_lag >= len_pattern:
            raise ValueError("the learning lag must be shorter than a pattern")
        s = self.s
        s["ist"][K.I_LEN_PATTERN] = len_pattern
        u_pat = np.broadcast_to(np.asarray(u_pattern, dtype=float), (n0,)).copy()
        has_target = u_target is not None
        tgt = np.broadcast_to(np.asarray(u_target, dtype=float), (n2,)).copy() if has_target else np.zeros(n2)
        if symmetrization:
            self.set_symmetrization()
        rand = self.rng.random((n0 + n1 + 2 * n2) * len_pattern)
        cnt = [np.zeros(n, dtype=np.int64) for n in (n0, n1, n2, n2)]
        acc_out = np.zeros(n2)
        acc_free = np.zeros(n2)
        sc = self._scratch
        K.run_pattern_kernel(
            s["fpar"], s["ist"], s["last_in"], s["last_h"], s["last_inn"], s["last_out"],
            s["u_in"], s["u_h"], s["v_bas_h"], s["v_api"], s["u_inn"], s["u_o"], s["v_bas_o"],
            s["v_nudge"], s["u_tgt"], s["ma_uh"], s["ma_vbh"], s["ma_vbo"], s["ma_uo"],
            s["st_uh"], s["st_vbh"], s["st_vbo"], s["st_uo"], s["w10"], s["b"], s["w_pi"],
            s["w_ip"], s["w21"], s["b1"], s["b_inn"], s["b2"], s["rec_buf"], s["rec_data"],
            u_pat, tgt, has_target,
            bool(has_target and not validation and not symmetrization),
            bool(symmetrization), bool(update_down), bool(set_sps_on), bool(validation),
            rand, cnt[0], cnt[1], cnt[2], cnt[3], acc_out, acc_free,
            sc["x_in"], sc["x_h"], sc["x_inn"], sc["x_out"], sc["stdp"],
        )  # fmt: skip
        if symmetrization:
            self.unset_symmetrization()
        n_avg = len_pattern - self.params.learning_lag
        rates = {name: c / t_pattern for name, c in zip(("input", "hidden", "interneuron", "output"), cnt, strict=True)}
        return PatternResult(u_out=acc_out / n_avg, u_free=acc_free / n_avg, rates=rates)

    def records(self) -> dict[str, np.ndarray]:
        """Recorded float32 means, finalised like the reference's Tracker (partial last sample)."""
        s = self.s
        data = s["rec_data"].copy()
        pos, count = int(s["ist"][K.I_REC_POS]), int(s["ist"][K.I_REC_COUNT])
        n = pos
        if count > 0:
            data[pos] = s["rec_buf"] / count
            n = pos + 1
        out = {}
        for name, (off, shape) in self.layout.items():
            size = int(np.prod(shape))
            arr = data[:n, off : off + size].reshape((n, *shape))
            out[name] = arr[:, 0] if name in ("validation", "symmetrization") else arr
        return out

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        return {"arrays": {k: v.copy() for k, v in self.s.items()}, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        for k, v in state["arrays"].items():
            np.copyto(self.s[k], v)
        self.rng.bit_generator.state = state["rng"]
