"""Run configs of the theory experiments (``theory-stdd``, ``theory-phase-plane``, ``theory-spiking-sal``).

Each config builds the :class:`~spikealign.theory.kernels.SalSetup` that the theory functions take
(``setup()``); :mod:`.experiments` runs them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, FiniteFloat, ValidationInfo, field_validator

from ..config import RunConfig, StrictModel
from .kernels import SalSetup
from .spiking import SpikingSchedule

PspName = Literal["rect", "exp", "cutoff", "tail", "alpha"]


def _above(lower: str, value: float, info: ValidationInfo) -> float:
    """``value`` of the field being validated, checked to be larger than the field ``lower`` (if that one is valid)."""
    low = info.data.get(lower)
    if low is not None and not low < value:
        name = info.field_name
        raise ValueError(f"{lower} must be smaller than {name} (got {lower}={low}, {name}={value})")
    return value


BIAS_LIMIT = 30.0
"""|b| <= 30: a bias beyond it sets a firing probability below e^-30 per step (or above 1 - e^-30),
where the chain's distribution no longer depends on it and its normalisation underflows to 0."""


class WindowConfig(StrictModel):
    """Exponential STDP window ``a_plus exp(-dt/tau)`` (dt > 0), ``a_minus exp(dt/tau)`` (dt < 0)."""

    a_plus: FiniteFloat = Field(-1.0, description="amplitude for dt = t_post - t_pre > 0 (SAL: -1)")
    a_minus: FiniteFloat = Field(1.0, description="amplitude for dt < 0 (SAL: +1)")
    tau: FiniteFloat | None = Field(None, gt=0, description="time constant in steps; null: t_ref")


class ChainConfig(RunConfig):
    """Parameters shared by the analytic two-neuron experiments."""

    psp: PspName = Field("rect", description="PSP kernel: rect, exp, cutoff, tail or alpha")
    t_ref: int = Field(10, ge=1, description="refractory time R in steps (minimal inter-spike interval)")
    t_max: int = Field(30, ge=2, description="counter range M in steps (lags >= M are truncated); t_ref < t_max")
    t_syn: FiniteFloat | None = Field(None, gt=0, description="PSP shape parameter; null: t_ref")
    b_1: FiniteFloat = Field(0.0, ge=-BIAS_LIMIT, le=BIAS_LIMIT, description="bias of neuron 1")
    b_2: FiniteFloat = Field(0.0, ge=-BIAS_LIMIT, le=BIAS_LIMIT, description="bias of neuron 2")
    window: WindowConfig = Field(default_factory=WindowConfig)

    @field_validator("t_max")
    @classmethod
    def _times(cls, v: int, info: ValidationInfo) -> int:
        return int(_above("t_ref", v, info))

    def setup(self) -> SalSetup:
        """The two-neuron setting of this config, as the theory functions take it."""
        return SalSetup(self.t_ref, self.t_max, self.psp, self.t_syn, self.window.a_plus, self.window.a_minus,
                        self.window.tau)  # fmt: skip


class StddConfig(ChainConfig):
    kind: Literal["theory-stdd"] = "theory-stdd"
    w_12: FiniteFloat = Field(0.5, description="weight onto neuron 1 from neuron 2")
    w_21: FiniteFloat = Field(1.0, description="weight onto neuron 2 from neuron 1")
    fill_middle: Literal["zero", "nan", "smooth"] = Field("zero", description="value of the dt = 0 bin")


# a pydantic field list and validator stub like ChainConfig's; the shared check is _above
class PhasePlaneConfig(ChainConfig):
    kind: Literal["theory-phase-plane"] = "theory-phase-plane"
    w_min: FiniteFloat = Field(-2.0, description="smallest weight of the grid (both axes)")
    w_max: FiniteFloat = Field(2.0, description="largest weight of the grid (both axes)")
    n_w: int = Field(17, ge=4, le=400, description="grid points per axis (linspace(w_min, w_max, n_w))")
    upscale: int = Field(0, ge=0, le=2000, description="cubic upscaling before root finding (0: none)")

    @field_validator("w_max")
    @classmethod
    def _range(cls, v: float, info: ValidationInfo) -> float:
        return _above("w_min", v, info)


class SpikingSalConfig(RunConfig):
    kind: Literal["theory-spiking-sal"] = "theory-spiking-sal"
    w_12: FiniteFloat = Field(1.5, description="initial weight onto neuron 1 from neuron 2 (W[0, 1])")
    w_21: FiniteFloat = Field(0.5, description="initial weight onto neuron 2 from neuron 1 (W[1, 0])")
    b_1: FiniteFloat = -0.5
    b_2: FiniteFloat = -0.2
    t_ref: int = Field(25, ge=1, description="refractory time in steps (minimal ISI t_ref + 1)")
    t_syn: int | None = Field(None, ge=1, description="rect PSP on lags 1..t_syn-1; null: t_ref")
    epoch_steps: int = Field(1500, ge=1, description="steps of one fresh simulation (epoch)")
    n_epochs: int = Field(1500, ge=1)
    lr: FiniteFloat = 0.03
    frozen: Literal["none", "w_12", "w_21"] = Field("none", description="weight kept fixed")
    n_last_spikes: int = Field(10, ge=1, description="remembered spikes per neuron for PSPs and pairing")
    window: WindowConfig = Field(default_factory=WindowConfig)

    def setup(self) -> tuple[SalSetup, SpikingSchedule]:
        """The neurons and window, and the learning schedule, as :func:`sal_weight_evolution` takes them."""
        setup = SalSetup(self.t_ref, None, "rect", self.t_syn, self.window.a_plus, self.window.a_minus, self.window.tau)
        return setup, SpikingSchedule(self.epoch_steps, self.n_epochs, self.lr, self.n_last_spikes)
