"""Run configs of the estimator experiments (``estimator-connection``, ``sal-evolution``).

The settings of an estimator inside a deep-net run (``estimator:`` of ``kind: deep``) are the
estimator classes' own parameters, in :mod:`.settings`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ...config import RunConfig, StrictModel
from .connection import PAIR_DEFAULTS


class SALPair(StrictModel):
    t_ref: int = Field(10, ge=1)
    sal_lr: float = Field(PAIR_DEFAULTS["sal"]["sal_lr"], gt=0)
    batch_size: int = Field(PAIR_DEFAULTS["sal"]["batch_size"], ge=1)
    chunk: int = Field(50, ge=1)


class RDDPair(StrictModel):
    update_clock: Literal["phase", "cumulative"] = Field(
        "cumulative", description="'phase' = the notebook's per-second clock: RDD's B never changes"
    )
    update_interval_s: float = Field(10.0, ge=0.001, description="feedback update period, s (at least one 1 ms step)")


class STDWIPair(StrictModel):
    lr: float = Field(0.02, gt=0)
    decay_weighting: float = Field(0.1, ge=0)


class ConnectionConfig(RunConfig):
    """One estimator on the Fig. 7 connection: W then B ~ U(+-sqrt(3/n)) from default_rng(weight_seed)."""

    kind: Literal["estimator-connection"] = "estimator-connection"
    method: Literal["sal", "rdd", "stdwi"] = "sal"
    n: int = Field(50, ge=2, le=2000, description="neurons per population")
    weight_seed: int = Field(43, ge=0, description="seed of W and the initial B (43 in the notebook)")
    seconds: float = Field(100.0, gt=0, description="simulated seconds")
    record_every_s: float = Field(1.0, ge=0.001, description="recording period, s (at least one 1 ms step)")
    sal: SALPair = Field(default_factory=SALPair)
    rdd: RDDPair = Field(default_factory=RDDPair)
    stdwi: STDWIPair = Field(default_factory=STDWIPair)

    @model_validator(mode="after")
    def _rdd_updates_at_least_once(self) -> ConnectionConfig:
        # RDD changes B only at its update times: a shorter run ends with B as it started
        if self.method == "rdd" and self.seconds < self.rdd.update_interval_s:
            raise ValueError(
                f"seconds={self.seconds:g} is shorter than rdd.update_interval_s={self.rdd.update_interval_s:g}: "
                "RDD would never update B; use seconds >= update_interval_s or a shorter interval"
            )
        return self


class SALEvolutionConfig(RunConfig):
    """Pure SAL in an FC-shaped spiking net with its own random init (reference salnet_symm.py)."""

    kind: Literal["sal-evolution"] = "sal-evolution"
    sizes: list[int] = Field(default_factory=lambda: [1600, 384, 192, 10])
    n_epochs: int = Field(100, ge=1)
    len_epoch: int = Field(1000, ge=1, description="ticks per epoch / t_ref (one update per epoch)")
    t_ref: int = Field(10, ge=1)
    sal_lr: float = Field(0.01, gt=0)
    batch_size: int = Field(1, ge=1)
    chunk: int = Field(200, ge=1)

    @field_validator("sizes")
    @classmethod
    def _sizes_ok(cls, v: list[int]) -> list[int]:
        if len(v) < 2 or any(n < 1 for n in v):
            raise ValueError("sizes needs at least two positive layer sizes")
        return v
