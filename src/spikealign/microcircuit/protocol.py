"""Teacher, student, data schedule and phase logic of the microcircuit experiment.

See docs/microcircuits.md, "Phases" and "Protocol".

Feedback modes (docs/microcircuits.md, "Feedback modes"):

- ``sal``: B starts random and learns by SAL STDP in the symmetrisation patterns;
- ``fa``: B stays at its random initial value (STDP multiplied by ``lr_down = 0``);
- ``bp``: ``B <- W21^T`` at initialisation and on every forward-plastic step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .model import Network, NetworkParams

FEEDBACK_MODES = ("sal", "fa", "bp")


# ---------------------------------------------------------------------------------- phases
def pattern_phase(p: int, len_epoch: int, len_symmetrization: int, len_validation: int) -> tuple[bool, bool]:
    """(is symmetrisation, is validation) of global pattern index ``p``.

    With ``E = len_epoch + len_validation`` and ``c = p - (p // E) E - len_epoch``: a pattern is
    a symmetrisation pattern if ``c + len_symmetrization >= 0 and c < 0`` (the last
    ``len_symmetrization`` training patterns of an epoch) and a validation pattern if ``c >= 0``.
    """
    e = len_epoch + len_validation
    c = p - (p // e) * e - len_epoch
    return (c + len_symmetrization >= 0 and c < 0), c >= 0


def pattern_phases(
    n_patterns: int, len_epoch: int, len_symmetrization: int, len_validation: int
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean arrays (symmetrisation, validation) for patterns ``0 .. n_patterns-1``."""
    ph = [pattern_phase(p, len_epoch, len_symmetrization, len_validation) for p in range(n_patterns)]
    return np.array([a for a, _ in ph], dtype=bool), np.array([b for _, b in ph], dtype=bool)


# ---------------------------------------------------------------------------------- data
def _as_rows(a: Any) -> np.ndarray:
    """A list of scalars becomes a column (n, 1); a list of vectors stays (n, d)."""
    arr = np.asarray(a, dtype=float)
    return arr[:, np.newaxis] if arr.ndim == 1 else arr


def _ordered(ids: np.ndarray, n: int) -> np.ndarray:
    reps = int(np.ceil(n / len(ids))) if len(ids) else 0
    return np.concatenate((ids,) * reps)[:n] if reps > 0 else np.array([], dtype=int)


def make_schedule(
    x_train: np.ndarray,
    x_val: np.ndarray,
    y_train: np.ndarray,
    y_val: np.ndarray,
    seed: int | np.random.SeedSequence,
    len_epoch: int,
    len_validation: int,
    num_epochs: int,
    *,
    shuffle_training: bool = True,
    shuffle_validation: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of every pattern, epoch by epoch.

    See docs/microcircuits.md, "Student initialisation and data schedule".

    Uses ``numpy.random.default_rng(seed)``: training indices per epoch are
    ``rng.choice(n_train, len_epoch)`` (with replacement); validation indices are ``0..n_val-1``
    repeated and cut to ``len_validation`` unless ``shuffle_validation`` (then also drawn).
    Arrays are 2-D: (patterns, N0) and (patterns, N2).
    """
    rng = np.random.default_rng(seed)
    x_train, x_val, y_train, y_val = (_as_rows(a) for a in (x_train, x_val, y_train, y_val))
    tr_ids, va_ids = np.arange(x_train.shape[0]), np.arange(x_val.shape[0])
    xs, ys = [], []
    for _ in range(num_epochs):
        idx = rng.choice(tr_ids, len_epoch) if shuffle_training else _ordered(tr_ids, len_epoch)
        xs.append(x_train[idx])
        ys.append(y_train[idx])
        if len_validation > 0:
            vidx = rng.choice(va_ids, len_validation) if shuffle_validation else _ordered(va_ids, len_validation)
            xs.append(x_val[vidx])
            ys.append(y_val[vidx])
    return np.concatenate(xs), np.concatenate(ys)


def draw_student_weights(
    seed: int | np.random.SeedSequence,
    dims: tuple[int, int, int],
    up_limits: tuple[float, float] = (-3.0, 3.0),
    down_limits: tuple[float, float] = (-3.0, 3.0),
) -> dict[str, np.ndarray]:
    """Random initial weights from ``default_rng(seed)``, drawn in the order W10, B, W21.

    See docs/microcircuits.md, "Student initialisation and data schedule".
    """
    n0, n1, n2 = dims
    rng = np.random.default_rng(seed)
    w10 = rng.uniform(up_limits[0], up_limits[1], size=(n1, n0))
    b = rng.uniform(down_limits[0], down_limits[1], size=(n1, n2))
    w21 = rng.uniform(up_limits[0], up_limits[1], size=(n2, n1))
    return {"w10": w10, "b": b, "w21": w21}


def loss(u_out: np.ndarray, u_tgt: np.ndarray) -> float:
    """Per-pattern loss ``sum_k (u_out,k - u_tgt,k)^2 / N2``."""
    return float(np.sum((np.asarray(u_out) - np.asarray(u_tgt)) ** 2) / len(u_out))


def feedback_angle(b: np.ndarray, w21: np.ndarray) -> float:
    """Angle in degrees between B and W21^T (Frobenius inner product); NaN if either is zero."""
    bt = np.asarray(b, dtype=float).ravel()
    wt = np.asarray(w21, dtype=float).T.ravel()
    nb, nw = np.linalg.norm(bt), np.linalg.norm(wt)
    if nb == 0.0 or nw == 0.0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(bt @ wt / (nb * nw), -1.0, 1.0))))


# ---------------------------------------------------------------------------------- teacher
@dataclass
class TeacherResult:
    """Teacher targets: mean output potential after the lag, per input (docs/microcircuits.md, "Teacher")."""

    inputs: np.ndarray
    u_out: np.ndarray
    n_train: int
    rates: dict[str, np.ndarray]
    records: dict[str, np.ndarray]

    @property
    def train_targets(self) -> np.ndarray:
        return self.u_out[: self.n_train]

    @property
    def val_targets(self) -> np.ndarray:
        return self.u_out[self.n_train :]


def run_teacher(
    params: NetworkParams,
    weights: dict[str, np.ndarray],
    bias: tuple[Any, Any],
    t_pattern: int,
    poisson_seed: int | np.random.SeedSequence,
    x_train: np.ndarray,
    x_val: np.ndarray,
) -> TeacherResult:
    """Run the fixed-weight teacher on the training then validation inputs, each once, in order.

    No target, no plasticity; B stays as given (0 by default).  The target of an input is the
    teacher's mean output potential over the pattern after the learning lag.  All ``N2`` outputs
    are kept (the reference keeps only output 0, which matters only for ``N2 > 1``).
    """
    xt, xv = _as_rows(x_train), _as_rows(x_val)
    inputs = np.concatenate([xt, xv])
    len_pattern = t_pattern * params.t_ref
    net = Network(params, poisson_seed, record_len=len_pattern, n_steps_total=len(inputs) * len_pattern)
    net.set_weights(**weights)
    net.set_sps()
    net.set_bias(*bias)
    n_train = xt.shape[0]
    outs: list[np.ndarray] = []
    rates: dict[str, list[np.ndarray]] = {}
    for p, u in enumerate(inputs):
        res = net.run_pattern(u, t_pattern, None, validation=p >= n_train)
        outs.append(res.u_out)
        for k, v in res.rates.items():
            rates.setdefault(k, []).append(v)
    return TeacherResult(
        inputs=inputs,
        u_out=np.array(outs),
        n_train=n_train,
        rates={k: np.array(v) for k, v in rates.items()},
        records=net.records(),
    )


# ---------------------------------------------------------------------------------- student
@dataclass
class StudentSettings:
    """Schedule of the student (docs/microcircuits.md, "Student initialisation and data schedule")."""

    len_epoch: int
    len_symmetrization: int
    len_validation: int
    num_epochs: int
    t_pattern: int
    record_len: int
    set_sps: bool = True


@dataclass
class StudentResult:
    """Per-pattern outputs of a student run (arrays over patterns) and per-epoch metrics."""

    u_in: np.ndarray
    u_tgt: np.ndarray
    u_out: np.ndarray
    u_free: np.ndarray
    symmetrization: np.ndarray
    validation: np.ndarray
    rates: dict[str, np.ndarray]
    weights_end: dict[str, np.ndarray]
    records: dict[str, np.ndarray]
    validation_loss: list[float] = field(default_factory=list)
    prediction_error: list[float] = field(default_factory=list)
    validation_times: list[int] = field(default_factory=list)
    init_weights: dict[str, np.ndarray] = field(default_factory=dict)
    start_weights: dict[str, np.ndarray] = field(default_factory=dict)


class Student:
    """A student network trained on a teacher's targets with one feedback mode.

    Run it with :meth:`run`; the state (network, pattern index, outputs so far) can be saved
    and restored with :meth:`state` / :meth:`load_state` between epochs.

    Parameters
    ----------
    params : network parameters (``lr_down`` is forced to 0 for ``fa``, which is exactly the
        reference's FA: its STDP update is multiplied by ``lr[0].down = 0``).
    settings : schedule (epoch, symmetrisation and validation lengths, pattern length, recording).
    feedback : ``sal``, ``fa`` or ``bp`` (``bp`` = the reference's ``update_down: false``).
    init_weights : ``w10`` (N1, N0), ``b`` (N1, N2), ``w21`` (N2, N1), indexed (post, pre).
    bias : (hidden bias, output bias); the interneurons get the output bias.
    u_in, u_tgt : input (patterns, N0) and target (patterns, N2) of every pattern.
    poisson_seed : seed of the spike-noise generator.

    Notes
    -----
    The validation loss of an epoch is the mean over its validation patterns of
    ``sum_k (u_out,k - u_tgt,k)^2 / N2`` with the nudged output ``u_out`` (as the reference);
    the prediction error uses the un-nudged ``b2 + W21 x_h`` instead.
    """

    def __init__(
        self,
        params: NetworkParams,
        settings: StudentSettings,
        feedback: str,
        init_weights: dict[str, np.ndarray],
        bias: tuple[Any, Any],
        u_in: np.ndarray,
        u_tgt: np.ndarray,
        poisson_seed: int | np.random.SeedSequence,
    ):
        if feedback not in FEEDBACK_MODES:
            raise ValueError(f"feedback must be one of {FEEDBACK_MODES}, got {feedback!r}")
        if feedback == "fa":
            params = NetworkParams(**{**params.__dict__, "lr_down": 0.0})
        self.params, self.settings, self.feedback = params, settings, feedback
        self.u_in, self.u_tgt = np.asarray(u_in, float), np.asarray(u_tgt, float)
        n = len(self.u_in)
        len_pattern = settings.t_pattern * params.t_ref
        if params.learning_lag >= len_pattern:
            raise ValueError("the learning lag must be shorter than a pattern")
        self.net = Network(params, poisson_seed, record_len=settings.record_len, n_steps_total=n * len_pattern)
        self.net.set_weights(**init_weights)
        self.init_weights = {k: np.array(v, dtype=float, copy=True) for k, v in self.net.weights().items()}
        if settings.set_sps:
            if feedback == "bp":
                self.net.copy_backprop()
            self.net.set_sps()
        self.net.set_bias(*bias)
        # effective weights at the start (after the BP copy; ``init_weights`` are the drawn/given ones)
        self.start_weights = {k: v.copy() for k, v in self.net.weights().items()}
        self.symm, self.val = pattern_phases(
            n, settings.len_epoch, settings.len_symmetrization, settings.len_validation
        )
        self.p = 0
        self.out: dict[str, list] = {
            "u_out": [], "u_free": [], "w10": [], "b": [], "w21": [],
            "r_input": [], "r_hidden": [], "r_interneuron": [], "r_output": [],
            "validation_loss": [], "prediction_error": [], "validation_times": [], "acc": [0.0, 0.0],
        }  # fmt: skip

    @property
    def n_patterns(self) -> int:
        return len(self.u_in)

    @property
    def epoch_len(self) -> int:
        return self.settings.len_epoch + self.settings.len_validation

    def step_pattern(self) -> None:
        """Run the next pattern and update the validation bookkeeping (docs/microcircuits.md, "Validation loss")."""
        p, st, o = self.p, self.settings, self.out
        res = self.net.run_pattern(
            self.u_in[p],
            st.t_pattern,
            self.u_tgt[p],
            validation=bool(self.val[p]),
            symmetrization=bool(self.symm[p]),
            update_down=self.feedback != "bp",
            set_sps_on=st.set_sps,
        )
        o["u_out"].append(res.u_out)
        o["u_free"].append(res.u_free)
        for k in ("w10", "b", "w21"):
            o[k].append(self.net.s[k].copy())
        for k, v in res.rates.items():
            o["r_" + k].append(v)
        e = self.epoch_len
        c = p - (p // e) * e - st.len_epoch
        if c == 0:
            o["acc"] = [0.0, 0.0]
            o["validation_times"].append(p)
        if 0 <= c < st.len_validation:
            o["acc"][0] += loss(res.u_out, self.u_tgt[p])
            o["acc"][1] += loss(res.u_free, self.u_tgt[p])
        if st.len_validation > 0 and c == st.len_validation - 1:
            o["validation_loss"].append(o["acc"][0] / st.len_validation)
            o["prediction_error"].append(o["acc"][1] / st.len_validation)
        self.p += 1

    def run(
        self,
        progress: Callable[[Iterable], Iterable] | None = None,
        on_epoch_end: Callable[[Student, int], None] | None = None,
    ) -> StudentResult:
        """Run the remaining patterns; ``on_epoch_end(self, epoch)`` is called after each epoch."""
        rng = range(self.p, self.n_patterns)
        for _ in progress(rng) if progress else rng:
            self.step_pattern()
            if on_epoch_end is not None and self.p % self.epoch_len == 0:
                on_epoch_end(self, self.p // self.epoch_len - 1)
        return self.result()

    def result(self) -> StudentResult:
        o = self.out
        return StudentResult(
            u_in=self.u_in[: self.p],
            u_tgt=self.u_tgt[: self.p],
            u_out=np.array(o["u_out"]),
            u_free=np.array(o["u_free"]),
            symmetrization=self.symm[: self.p],
            validation=self.val[: self.p],
            rates={k[2:]: np.array(o[k]) for k in ("r_input", "r_hidden", "r_interneuron", "r_output")},
            weights_end={k: np.array(o[k]) for k in ("w10", "b", "w21")},
            records=self.net.records(),
            validation_loss=list(o["validation_loss"]),
            prediction_error=list(o["prediction_error"]),
            validation_times=list(o["validation_times"]),
            init_weights=self.init_weights,
            start_weights=self.start_weights,
        )

    def state(self) -> dict[str, Any]:
        """Everything needed to continue this run later (picklable)."""
        import copy

        return {"p": self.p, "net": self.net.state_dict(), "out": copy.deepcopy(self.out)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.p = int(state["p"])
        self.net.load_state_dict(state["net"])
        self.out = state["out"]
