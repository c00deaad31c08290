"""Settings of the spiking estimators' deep-net phases (see docs/deep.md, 'Spiking estimators').

Every model rejects unknown keys, NaN and infinite values, and negative or zero values where they
make no sense; :func:`validate` turns a pydantic error into one ``ValueError`` naming the key.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from ...config import StrictModel, describe_validation_error


class EstimatorSettings(StrictModel):
    """Base of the settings models: finite numbers only."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False, strict=True)


class SALSettings(EstimatorSettings):
    """SAL phase before every epoch (docs/deep.md, 'SAL estimator'; the reference's ``sal_params``)."""

    n_iterations: int = Field(5, ge=0, description="SAL iterations (feedback updates) per epoch")
    t_ref: int = Field(10, ge=1, description="refractory period = PSP length, ticks")
    len_epoch: int = Field(200, ge=1, description="ticks per iteration / t_ref")
    sal_lr: float | list[float] = Field(0.04, description="eta >= 0, one value or one per FC layer")
    batch_size: int = Field(32, ge=1, description="independent replicas")
    buffer_length: int = Field(2, ge=1, description="trace length in units of t_ref")
    chunk: int = Field(50, ge=1, description="ticks per accumulation GEMM (speed only; changes the RNG stream)")
    copy_biases: bool = Field(True, description="copy the FC biases into layers 1..L-1 (reference)")
    reset_state: bool = Field(False, description="reset the spiking state every epoch (reference: never)")
    dtype: Literal["float32", "float64"] = "float32"
    threads: int = Field(1, ge=0, description="torch CPU threads during the SAL phase (0 = torch's setting)")
    engine: Literal["numba", "torch", "fast"] | None = Field(
        None,
        description="SAL engine: numba/torch exact (same bits), fast (own random stream, statistically equivalent); "
        "unset: numba for `spikealign run`/`reproduce`, fast for make_estimator on the CPU, torch on GPUs",
    )

    @field_validator("sal_lr")
    @classmethod
    def _finite_non_negative(cls, v: float | list[float]) -> float | list[float]:
        for x in v if isinstance(v, list) else [v]:
            if not math.isfinite(x) or x < 0:
                raise ValueError("must be a finite number >= 0 or a list of them")
        return v


class SALConvSettings(SALSettings):
    """SAL on conv and FC feedback (docs/deep.md, 'SAL for convolutional feedback')."""

    map_size: int = Field(4, ge=1, description="output map side of a last conv layer that no FC layer follows")


class RDDSettings(EstimatorSettings):
    """RDD phase before every epoch (docs/deep.md, 'RDD estimator'; the reference's ``rdd_params``)."""

    rdd_time: float = Field(90.0, ge=0.001, description="simulated seconds per phase (split evenly over the layers)")
    update_interval_s: float = Field(10.0, ge=0.001, description="feedback update period, s (at least one 1 ms step)")
    update_clock: Literal["phase", "cumulative"] = Field(
        "phase", description="'phase': clock restarts each phase (reference); 'cumulative': runs across phases"
    )
    reset_each_epoch: bool = Field(True, description="reset voltages/windows/histories before a phase (reference)")
    stim_ratio: float = Field(0.2, gt=0, le=1)
    input_rate_hz: float = Field(200.0, gt=0)
    resample_ms: int = Field(100, ge=1)


class STDWISettings(EstimatorSettings):
    """STDWI phase before every epoch (docs/deep.md, 'STDWI estimator'; new: no deep-net STDWI in the reference)."""

    seconds: float = Field(10.0, gt=0, description="simulated seconds per epoch, every connection in parallel")
    dt_ms: float = Field(0.25, ge=0.001, le=10.0, description="time step, ms")
    lr: float = Field(0.02, gt=0)
    decay_weighting: float = Field(0.1, ge=0)
    tau_fast: float = Field(10.0, ge=0.001, description="fast trace time constant, ms")
    tau_slow: float = Field(200.0, ge=0.001, description="slow trace time constant, ms")
    stim_rate_hz: float = Field(200.0, gt=0)
    stim_ratio: float = Field(0.2, gt=0, le=1)
    stim_duration_ms: float = Field(100.0, ge=0.001)
    stim_weight_scale: float = Field(10.0, gt=0)
    weight_scale: float = Field(75.0, gt=0)
    weight_normalization: Literal["none", "fan_in"] = Field(
        "fan_in", description="'fan_in' rescales W by 1/(std(W) sqrt(n_in)) so any layer size gets the same drive"
    )
    rescale: Literal["none", "initial_std"] = Field(
        "initial_std", description="after each phase rescale B to the std of the initial B (keeps FA's gradient scale)"
    )


def validate(model: type[EstimatorSettings], name: str, settings: dict | None) -> dict:
    """``settings`` validated by ``model`` and completed with its defaults.

    Unset optional keys (``None``) are left out, so adding one never changes a stored config or
    the run id derived from it.

    Raises
    ------
    ValueError
        Naming the first bad key and what is allowed.
    """
    try:
        return model.model_validate(dict(settings or {})).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(model, exc, f"estimator '{name}' settings")) from None
