"""Config of the ``ssn`` experiment (ours) and of the reference's YAML format (converted on load).

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

The reference format (``scripts/ssn/*.yaml``: keys ``dim``, ``seed: {distr, init, sim}``,
``sim_params``, ``stdp: {ws, sal}``, ...) is recognised by :func:`detect_reference` and converted
by :func:`from_reference`, reproducing the reference's reading of it (docs/sampling.md, "Experiment types and sweeps"):
the STDP time constant is ``stdp.ws.tau_minus`` for both halves, SAL amplitudes and noise come
from the ``ws`` section, ``sim_params.num_last_spikes`` is ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from .. import families
from ..config import RunConfig, StrictModel, validate
from ..errors import UserError
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


# --------------------------------------------------------------------------- reference format
class _RefSeed(StrictModel):
    distr: int = Field(ge=0)
    init: int = Field(ge=0)
    sim: int = Field(ge=0)


class _RefDistr(StrictModel):
    alpha: float = Field(gt=0)
    beta: float = Field(gt=0)


class _RefSim(StrictModel):
    t_ref: int = Field(ge=1)
    tau_syn: int = Field(ge=1)
    num_last_spikes: int = Field(1, ge=1)


class _RefLr(StrictModel):
    bias: float = Field(ge=0)
    weight: float = Field(ge=0)
    symm: float = Field(ge=0)


class _RefRuler(StrictModel):
    a_plus: float
    a_minus: float
    tau_plus: float = Field(gt=0)
    tau_minus: float = Field(gt=0)
    noise: float = Field(ge=0)


class _RefStdp(StrictModel):
    num_last_spikes: int = Field(ge=1)
    ws: _RefRuler
    sal: _RefRuler


class ReferenceSSNConfig(StrictModel):
    """The reference's ``train_bm.py`` YAML (all keys required, unknown keys rejected)."""

    dim: int = Field(ge=2, le=MAX_EXACT_DIM)
    seed: _RefSeed
    distr: _RefDistr
    sim_params: _RefSim
    num_epochs: int = Field(ge=1)
    val_step: int = Field(ge=1)
    val_factor: int = Field(ge=1)
    lr: _RefLr
    dur: int = Field(ge=1)
    init_noise: float = Field(ge=0)
    weight_init: float = Field(ge=0)
    bias_init: float = Field(ge=0)
    max_w: float = Field(gt=0)
    max_b: float = Field(gt=0)
    stdp: _RefStdp


def detect_reference(raw: dict[str, Any]) -> bool:
    """Is ``raw`` a reference SSN YAML (``scripts/ssn/*.yaml``)?  Its keys: :data:`spikealign.families.RECOGNISERS`."""
    return families.recogniser("ssn").matches(raw)


def from_reference(raw: dict[str, Any], path: Path | str = "config", options: dict[str, Any] | None = None) -> dict:
    """Convert a reference SSN YAML mapping to our ``ssn`` config mapping (validated)."""
    ref: ReferenceSSNConfig = validate(ReferenceSSNConfig, raw, source=str(path))
    tau = ref.stdp.ws.tau_minus  # the reference passes tau_minus for both halves
    if ref.stdp.num_last_spikes != 1 and tau > ref.sim_params.t_ref + 1:
        raise UserError(
            f"{path}: stdp.num_last_spikes = {ref.stdp.num_last_spikes} with tau_minus {tau} > t_ref + 1 is not "
            "supported (the fused kernel keeps the last spike only; allowed: num_last_spikes 1 or tau <= t_ref + 1)"
        )
    out = {
        "kind": "ssn",
        "seed": ref.seed.sim,
        "dim": ref.dim,
        "target": {"seed": ref.seed.distr, "alpha": ref.distr.alpha, "beta": ref.distr.beta},
        "init": {"seed": ref.seed.init, "weight": ref.weight_init, "bias": ref.bias_init, "noise": ref.init_noise},
        "neuron": {"t_ref": ref.sim_params.t_ref, "tau_syn": ref.sim_params.tau_syn},
        "schedule": {
            "num_epochs": ref.num_epochs,
            "val_step": ref.val_step,
            "val_factor": ref.val_factor,
            "dur": ref.dur,
        },
        "lr": {"bias": ref.lr.bias, "weight": ref.lr.weight, "symm": ref.lr.symm},
        "stdp": {"noise": ref.stdp.ws.noise, "a_plus": ref.stdp.ws.a_plus, "tau": tau, "kernel": "triangular"},
        "max_w": ref.max_w,
        "max_b": ref.max_b,
    }
    validate(SSNConfig, out, source=str(path))
    return out
