"""Config of the ``ssn`` experiment (ours; the reference's YAML format is converted in :mod:`.reference`).

Our config (``kind: ssn``)::

    kind: ssn
    seed: 0                      # root of the spike-train streams
    dim: 7
    target: {seed: 4242, alpha: 1.0, beta: 1.0}
    init: {seed: 4343, weight: 0.2, bias: 0.2, noise: 0.0}     # noise = sigma_init
    neuron: {t_ref: 50, tau_syn: 50}
    schedule: {num_epochs: 20001, val_step: 500, val_factor: 1000, dur: 1000}   # dur in t_ref
    lr: {bias: 0.01, weight: 0.01, symm: 0.0}
    stdp: {noise: 0.0, a_plus: 1.0, tau: 50, kernel: triangular}              # noise = sigma_stdp
    max_w: 2.0
    max_b: 2.0
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..config import RunConfig, StrictModel
from .boltzmann import MAX_EXACT_DIM


class TargetSection(StrictModel):
    seed: int = Field(4242, ge=0, description="numpy default_rng seed of the target (reference seed.distr)")
    alpha: float = Field(1.0, gt=0)
    beta: float = Field(1.0, gt=0)


class InitSection(StrictModel):
    seed: int = Field(4343, ge=0, description="numpy default_rng seed of init and gains (reference seed.init)")
    weight: float = Field(0.2, ge=0, description="std of the symmetric initial weights")
    bias: float = Field(0.2, ge=0, description="std of the initial biases")
    noise: float = Field(0.0, ge=0, description="sigma_init: iid synaptic noise added to every entry")


class NeuronSection(StrictModel):
    t_ref: int = Field(50, ge=1, description="refractory period (steps)")
    tau_syn: int = Field(50, ge=1, description="rectangular PSP length (steps); PSP on for tau_syn - 1 steps")

    @model_validator(mode="after")
    def _psp_within_refractoriness(self) -> NeuronSection:
        if self.tau_syn > self.t_ref + 1:
            raise ValueError(f"tau_syn must be <= t_ref + 1 = {self.t_ref + 1}")
        return self


# pydantic field lists of the same shape as the other sections, but distinct settings
class ScheduleSection(StrictModel):
    num_epochs: int = Field(20001, ge=1, description="number of wake-sleep cycles")
    val_step: int = Field(500, ge=1, description="validate (and record) every val_step cycles; 1 = never")
    val_factor: int = Field(1000, ge=1, description="validation phases are val_factor times longer")
    dur: int = Field(1000, ge=1, description="phase length in units of t_ref")


class LrSection(StrictModel):
    bias: float = Field(0.01, ge=0)
    weight: float = Field(0.01, ge=0)
    symm: float = Field(0.0, ge=0, description="SAL learning rate (0 = no SAL)")


class StdpSection(StrictModel):
    noise: float = Field(0.0, ge=0, description="sigma_stdp: std of the per-synapse gains (truncated at 1.5 sigma)")
    a_plus: float = Field(1.0, description="mean gain")
    tau: float = Field(50.0, gt=0, description="STDP window time constant (steps)")
    kernel: Literal["triangular", "exponential"] = "triangular"


class SSNConfig(RunConfig):
    """Wake-sleep training of a fully connected spiking sampling network, optionally with SAL."""

    kind: Literal["ssn"] = "ssn"
    dim: int = Field(7, ge=2, le=MAX_EXACT_DIM, description="number of neurons (exact targets need dim <= 15)")
    target: TargetSection = Field(default_factory=TargetSection)
    init: InitSection = Field(default_factory=InitSection)
    neuron: NeuronSection = Field(default_factory=NeuronSection)
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    lr: LrSection = Field(default_factory=LrSection)
    stdp: StdpSection = Field(default_factory=StdpSection)
    max_w: float = Field(2.0, gt=0)
    max_b: float = Field(2.0, gt=0)
    diagnostic_figure: bool = Field(True, description="draw the per-run diagnostic figure")

    @model_validator(mode="after")
    def _steps_within_the_clip_range(self) -> SSNConfig:
        # an update of lr * (a correlation difference in [-1, 1]) larger than the clip range jumps
        # from bound to bound: the weights saturate and the sampler collapses (D_KL = inf)
        for key, lr, bound, name in (("lr.weight", self.lr.weight, self.max_w, "max_w"),
                                     ("lr.bias", self.lr.bias, self.max_b, "max_b")):  # fmt: skip
            if lr > bound:
                raise ValueError(
                    f"{key} = {lr:g} exceeds {name} = {bound:g}: one update would cross the whole clip range "
                    f"[-{name}, {name}]; use {key} <= {name}"
                )
        return self

    def schedule_key(self) -> tuple:
        """Runs with equal keys can share one compiled batch."""
        return (self.dim, self.neuron.t_ref, self.neuron.tau_syn, self.stdp.tau, self.stdp.kernel,
                *self.schedule.model_dump().values())  # fmt: skip
