"""The reference's SSN YAML format (``scripts/ssn/*.yaml``), recognised by its keys and converted to ours.

The reference format (keys ``dim``, ``seed: {distr, init, sim}``, ``sim_params``, ``stdp: {ws, sal}``,
...) is recognised by :func:`detect_reference` and converted by :func:`from_reference`, reproducing
the reference's reading of it (docs/sampling.md, "Experiment types and sweeps"): the STDP time
constant is ``stdp.ws.tau_minus`` for both halves, SAL amplitudes and noise come from the ``ws``
section, ``sim_params.num_last_spikes`` is ignored.  Our config models are in :mod:`.config`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from .. import families
from ..config import StrictModel, validate
from ..errors import UserError
from .boltzmann import MAX_EXACT_DIM
from .config import SSNConfig


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
