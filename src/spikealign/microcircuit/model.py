"""The spiking dendritic microcircuit network (input, hidden with interneurons, output).

:class:`Network` holds the state of one network (weights indexed (post, pre), potentials,
last spike times, moving averages, recording buffers and the spike-noise generator) and runs
patterns through the compiled kernel :func:`~spikealign.microcircuit.kernel.run_pattern_kernel`.

Random numbers: one ``numpy.random.default_rng(poisson_seed)`` serves all populations.  For a
pattern of ``L`` steps the kernel receives ``rng.random((N0 + N1 + 2 N2) * L)``, consumed step by
step in the order input, hidden pyramidal, interneuron, output.  This is the same stream as
drawing ``rng.random(N)`` per population per step, so the network reproduces the reference
implementation bit for bit (see docs/microcircuits.md, "Step order").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..spiking.neuron import spike_probabilities
from . import kernel as K


@dataclass(frozen=True)
class NetworkParams:
    """Parameters of the microcircuit (docs/microcircuits.md, "Parameters"); time in integer steps.

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
    """Per-step spike probability ``p(u) = 1 / (1 + t_ref exp(-u))``.

    The escape-noise neuron of :mod:`spikealign.spiking.neuron`.
    """
    return spike_probabilities(u, t_ref)


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
        self.kparams = K.Params(
            log_tref=float(np.log(params.t_ref)),
            tau_syn=float(params.tau_syn),
            t_ref=float(params.t_ref),
            lambda_api=float(params.lambda_api),
            lambda_nudge=float(params.lambda_nudge),
            lr_w10=float(params.lr_up[0]),
            lr_w21=float(params.lr_up[1]),
            lr_b=float(params.lr_down),
            a_causal=float(params.stdp_a_causal),
            tau_causal=float(params.stdp_tau_causal),
            a_anticausal=float(params.stdp_a_anticausal),
            tau_anticausal=float(params.stdp_tau_anticausal),
            ma_size=m,
            record_len=int(record_len),
            learning_lag=int(params.learning_lag),
        )
        clock = np.zeros(1, dtype=K.CLOCK)
        clock[0]["ma_count"] = 1
        clock[0]["ma_idx"] = 1 % m
        self.layout = K.record_layout(self.dims)
        n_rec = sum(int(np.prod(s)) for _, s in self.layout.values())
        n_samples = -(-int(n_steps_total) // int(record_len))
        self.s: dict[str, np.ndarray] = {
            "clock": clock,
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
        self._scratch = K.Scratch.for_dims(self.dims)

    # ------------------------------------------------------------------ weights
    @property
    def t(self) -> int:
        return int(self.s["clock"][0]["t"])

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
        self.kparams = self.kparams._replace(lambda_api=1.0)
        self.s["w_pi"][:] = 0.0
        self.s["w_ip"][:] = 0.0

    def unset_symmetrization(self) -> None:
        """Restore ``lambda_api`` and the self-predicting copy (always, as in the reference)."""
        self.kparams = self.kparams._replace(lambda_api=float(self.params.lambda_api))
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
        """Present one input for ``t_pattern * t_ref`` steps (docs/microcircuits.md, "Step order", "Phases").

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
        u_pat = np.broadcast_to(np.asarray(u_pattern, dtype=float), (n0,)).copy()
        has_target = u_target is not None
        tgt = np.broadcast_to(np.asarray(u_target, dtype=float), (n2,)).copy() if has_target else np.zeros(n2)
        if symmetrization:
            self.set_symmetrization()
        pattern = K.Pattern(
            u_in=u_pat,
            u_tgt=tgt,
            has_target=has_target,
            plastic_up=bool(has_target and not validation and not symmetrization),
            symmetrization=bool(symmetrization),
            update_down=bool(update_down),
            set_sps=bool(set_sps_on),
            validation=bool(validation),
            rand=self.rng.random((n0 + n1 + 2 * n2) * len_pattern),
            n_steps=len_pattern,
        )
        out = K.Outputs._make([*(np.zeros(n, dtype=np.int64) for n in (n0, n1, n2, n2)), np.zeros(n2), np.zeros(n2)])
        K.run_pattern_kernel(self.kparams, pattern, s["clock"], *self._state_tuples(), out, self._scratch)
        if symmetrization:
            self.unset_symmetrization()
        n_avg = len_pattern - self.params.learning_lag
        names = ("input", "hidden", "interneuron", "output")
        rates = {name: c / t_pattern for name, c in zip(names, out[:4], strict=True)}
        return PatternResult(u_out=out.acc_out / n_avg, u_free=out.acc_free / n_avg, rates=rates)

    def _state_tuples(self) -> tuple[K.Spikes, K.Potentials, K.Averages, K.Weights, K.Recording]:
        """The state arrays grouped as the kernel takes them (views of :attr:`s`, no copies)."""
        s = self.s
        return (
            K.Spikes(s["last_in"], s["last_h"], s["last_inn"], s["last_out"]),
            K.Potentials(*(s[k] for k in K.Potentials._fields)),
            K.Averages(*(s[k] for k in K.Averages._fields)),
            K.Weights(*(s[k] for k in K.Weights._fields)),
            K.Recording(s["rec_buf"], s["rec_data"]),
        )

    def records(self) -> dict[str, np.ndarray]:
        """Recorded float32 means, finalised like the reference's Tracker (partial last sample)."""
        s = self.s
        data = s["rec_data"].copy()
        pos, count = int(s["clock"][0]["rec_pos"]), int(s["clock"][0]["rec_count"])
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
