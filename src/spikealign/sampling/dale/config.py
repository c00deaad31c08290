"""Run configs of the Dale's-law experiments ``dale-sal`` and ``dale-rate`` (:mod:`.experiments` runs them)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator

from ...config import RunConfig
from .model import PARAM_SEED, T_REF, TAU_SYN


def _check_dale(values: list[float], key: str) -> list[float]:
    for v in values:
        if not math.isfinite(v) or v < 0.0:
            raise ValueError(f"{key} holds {v}: E->E weights must be finite and >= 0 (Dale's law)")
    return values


class _EIBase(RunConfig):
    circuit: Literal["noisy", "noise_free"] = Field(
        "noisy", description="parameter set: 'noisy' (rng(param_seed) draws, the paper's panel) or 'noise_free'"
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
    """e2's on-fraction in the E-I circuit and in the direct circuit with the effective weight."""

    kind: Literal["dale-rate"] = "dale-rate"
    w_e2_e1: list[float] = Field(
        default_factory=lambda: [0.25 * k for k in range(9)], min_length=1, description="raw W(e2<-e1) values"
    )
    n_steps: int = Field(500_000, ge=1, lt=2**31, description="steps per simulation")

    @field_validator("w_e2_e1")
    @classmethod
    def _dale(cls, v: list[float], info) -> list[float]:
        return _check_dale(v, info.field_name)
