"""Configuration of microcircuit runs (our format; the reference's YAML format is converted in :mod:`.reference`).

Our format (``kind: microcircuit``)::

    kind: microcircuit
    seed: 0                 # root seed; used only for student/teacher seeds left unset
    feedback: sal           # sal | fa | bp
    network: {dims: [1, 1, 1], lr_up: [0.2, 0.003], lr_down: 0.001, ...}
    teacher: {weights: {w10: 2.0, w21: 2.0}, bias: [-1.0, -1.0], t_pattern: 2000, poisson_seed: 423433}
    student: {len_epoch: 20, len_symmetrization: 5, len_validation: 6, num_epochs: 150,
              t_pattern: 2000, poisson_seed: ..., weights_init_seed: ..., training_seed: ...}
    inputs: {training: [...], validation: [...]}
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ..config import NonNegFloat, RunConfig, StrictModel

Matrix = float | list[list[float]]
Vector = float | list[float]


class NetworkSection(StrictModel):
    """Network properties (docs/microcircuits.md, "Parameters"); time in integer steps."""

    dims: list[int] = Field(default_factory=lambda: [1, 1, 1], description="[N_input, N_hidden, N_output]")
    t_ref: int = Field(10, ge=1, description="refractory period (steps); rate unit")
    tau_syn: int = Field(10, ge=1, description="length of the rectangular PSP (steps)")
    n_last_spks: int = Field(1, ge=1, description="spike times remembered per neuron")
    lambda_api: float = Field(0.02, description="apical coupling (1.0 during symmetrisation)")
    lambda_nudge: float = Field(0.6, description="output nudging strength")
    learning_lag: int = Field(2000, ge=0, description="steps per pattern without forward plasticity")
    size_moving_average: int = Field(2000, ge=1, description="boxcar length of the moving averages")
    stdp_a_causal: float = -1.0
    stdp_a_anticausal: float = 1.0
    stdp_tau_causal: float = Field(10.0, gt=0)
    stdp_tau_anticausal: float = Field(10.0, gt=0)
    lr_up: list[NonNegFloat] = Field(default_factory=lambda: [0.2, 0.003], description="[eta W10, eta W21]")
    lr_down: NonNegFloat = Field(0.001, description="eta of B (SAL STDP); ignored by fa and bp")

    @field_validator("dims")
    @classmethod
    def _dims_ok(cls, v: list[int]) -> list[int]:
        if len(v) != 3 or any(d < 1 for d in v):
            raise ValueError("dims must be three positive sizes [input, hidden, output]")
        return v

    @field_validator("lr_up")
    @classmethod
    def _lr_ok(cls, v: list[float]) -> list[float]:
        if len(v) != 2:
            raise ValueError("lr_up must have two entries [hidden (W10), output (W21)]")
        return v


class WeightsSection(StrictModel):
    """Explicit weights indexed (post, pre); a scalar fills the whole matrix."""

    w10: Matrix = Field(description="input -> hidden, shape (N1, N0)")
    w21: Matrix = Field(description="hidden -> output, shape (N2, N1)")
    b: Matrix | None = Field(None, description="feedback output -> hidden, shape (N1, N2); default 0")


class RandomTeacher(StrictModel):
    """Teacher weights drawn U(limits) from ``default_rng(seed)`` in the order W10, W21."""

    limits: list[float] = Field(default_factory=lambda: [-2.0, 2.0])
    seed: int = Field(ge=0)


def _default_bias() -> list[Vector]:
    return [-1.0, -1.0]


class TeacherSection(StrictModel):
    weights: WeightsSection | None = Field(None, description="fixed teacher weights; unset: W10 = W21 = 2.0")
    random_weights: RandomTeacher | None = Field(None, description="random teacher weights instead of fixed ones")
    bias: list[Vector] = Field(default_factory=_default_bias, description="[hidden, output]")
    t_pattern: int = Field(2000, ge=1, description="pattern length in units of t_ref")
    poisson_seed: int | None = Field(None, ge=0, description="spike-noise seed; unset: derived from `seed`")


class StudentSection(StrictModel):
    bias: list[Vector] = Field(default_factory=_default_bias, description="[hidden, output]")
    init_limits_up: list[float] = Field(default_factory=lambda: [-3.0, 3.0])
    init_limits_down: list[float] = Field(default_factory=lambda: [-3.0, 3.0])
    weights: WeightsSection | None = Field(None, description="explicit initial weights instead of random ones")
    len_epoch: int = Field(20, ge=1, description="training patterns per epoch (incl. symmetrisation)")
    len_symmetrization: int = Field(5, ge=0, description="last training patterns of an epoch used for SAL")
    len_validation: int = Field(6, ge=0)
    num_epochs: int = Field(150, ge=1)
    t_pattern: int = Field(2000, ge=1, description="pattern length in units of t_ref")
    recorded_sample_length: int | None = Field(None, ge=1, description="steps per record; unset: one pattern")
    set_sps: bool = True
    shuffle_training: bool = True
    shuffle_validation: bool = False
    poisson_seed: int | None = Field(None, ge=0)
    weights_init_seed: int | None = Field(None, ge=0)
    training_seed: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _symm_ok(self) -> StudentSection:
        if self.len_symmetrization >= self.len_epoch:
            raise ValueError(
                f"len_symmetrization ({self.len_symmetrization}) must be smaller than len_epoch ({self.len_epoch})"
            )
        return self


class InputsSection(StrictModel):
    training: list[Vector] = Field(min_length=1, description="input values (scalars or N0-vectors)")
    validation: list[Vector] = Field(default_factory=list)


class MicrocircuitConfig(RunConfig):
    """A teacher-student microcircuit run (paper Fig. 6)."""

    kind: Literal["microcircuit"] = "microcircuit"
    feedback: Literal["sal", "fa", "bp"] = "sal"
    network: NetworkSection = Field(default_factory=NetworkSection)
    teacher: TeacherSection = Field(default_factory=TeacherSection)
    student: StudentSection = Field(default_factory=StudentSection)
    inputs: InputsSection = Field(
        default_factory=lambda: InputsSection(
            training=[-3.0, -2.5, -2.0, -0.8, 0.8, 2.0, 2.5, 3.0], validation=[-2.7, -1.8, -0.5, 0.5, 1.8, 2.7]
        )
    )
    checkpoint_every: int = Field(10, ge=0, description="epochs between checkpoints (0: none)")
    figures: bool = Field(True, description="draw per-run teacher and student figures")

    @model_validator(mode="after")
    def _consistent(self) -> MicrocircuitConfig:
        n0, n1, n2 = self.network.dims
        net = self.network
        for who, t_pattern in (("teacher", self.teacher.t_pattern), ("student", self.student.t_pattern)):
            if net.learning_lag >= t_pattern * net.t_ref:
                raise ValueError(
                    f"network.learning_lag ({net.learning_lag}) must be shorter than a {who} pattern "
                    f"({who}.t_pattern * t_ref = {t_pattern * net.t_ref} steps)"
                )
        shapes = {"w10": (n1, n0), "w21": (n2, n1), "b": (n1, n2)}
        for section in ("teacher", "student"):
            w = getattr(self, section).weights
            if w is not None:
                for name, shape in shapes.items():
                    _check_matrix(getattr(w, name), shape, f"{section}.weights.{name}")
            _check_bias(getattr(self, section).bias, (n1, n2), f"{section}.bias")
        if self.teacher.weights is not None and self.teacher.random_weights is not None:
            raise ValueError("teacher: give either `weights` or `random_weights`, not both")
        sw = self.student.weights
        if sw is not None and sw.b is None and self.feedback != "bp":
            raise ValueError(f"student.weights.b is required with feedback '{self.feedback}' (only bp copies W21^T)")
        for name in ("training", "validation"):
            for i, v in enumerate(getattr(self.inputs, name)):
                if isinstance(v, list) and len(v) != n0:
                    raise ValueError(f"inputs.{name}[{i}] has {len(v)} entries but dims[0] = {n0}")
        if self.student.len_validation > 0 and not self.inputs.validation:
            raise ValueError("student.len_validation > 0 needs inputs.validation values")
        for name in ("init_limits_up", "init_limits_down"):
            lim = getattr(self.student, name)
            if len(lim) != 2 or lim[0] > lim[1]:
                raise ValueError(f"student.{name} must be [low, high] with low <= high")
        return self


def _check_matrix(value: Any, shape: tuple[int, int], key: str) -> None:
    if isinstance(value, list):
        arr = np.asarray(value, dtype=float)
        if arr.shape != shape:
            raise ValueError(f"{key} has shape {arr.shape} but dims require {shape} (post, pre)")


def _check_bias(bias: list, sizes: tuple[int, int], key: str) -> None:
    if len(bias) != 2:
        raise ValueError(f"{key} must have two entries [hidden, output]")
    for v, n, what in zip(bias, sizes, ("hidden", "output"), strict=True):
        if isinstance(v, list) and len(v) != n:
            raise ValueError(f"{key} ({what}) has {len(v)} entries but the layer has {n} neurons")
