"""Helpers shared by the theory figures: reading sweep results, checks, the spiking sweep."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import UserError
from ...registry import Check
from ...sweep import SweepResult, SweepSpec

#: tick labels of lags in units of the refractory time
TAU_REF = r"$\tau_\mathrm{ref}$"


def check_profile(profile: str) -> str:
    if profile not in ("quick", "paper"):
        raise UserError(f"unknown profile {profile!r} (allowed: quick, paper)")
    return profile


def completed_runs(result: SweepResult) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    """``(config, run_id, summary)`` of every completed run of a sweep."""
    table = result.completed()
    out = []
    for run_id in table["run_id"]:
        out.append((result.config(run_id), run_id, result.metrics(run_id).get("summary", {})))
    if not out:
        raise UserError(f"sweep {result.root.name} has no completed runs")
    return out


def find_run(result: SweepResult, **match: Any) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The first completed run whose config has the given values (floats compared with isclose)."""
    for cfg, run_id, summary in completed_runs(result):
        if all(np.isclose(cfg[k], v) if isinstance(v, float) else cfg[k] == v for k, v in match.items()):
            return cfg, run_id, summary
    raise UserError(f"sweep {result.root.name}: no completed run with {match}")


def check(description: str, met: bool, detail: str) -> Check:
    return Check(description, bool(met), detail)


def lag_ticks(ax, r: int, *, double: bool = False) -> None:
    """x ticks at -R, 0, R (and +-2R) labelled in units of the refractory time."""
    ticks = [-r, 0, r]
    labels = [r"$-\tau_\mathrm{ref}$", "0", TAU_REF]
    if double:
        ticks = [-2 * r, *ticks, 2 * r]
        labels = [r"$-2\tau_\mathrm{ref}$", *labels, r"$2\tau_\mathrm{ref}$"]
    ax.set_xticks(ticks, labels)


# --------------------------------------------------------------------------- spiking SAL runs (fig2d, fig2e)
def spiking_spec(name: str = "evolution") -> SweepSpec:
    """The two spiking runs of Fig. 2d: both weights plastic, and W_12 frozen."""
    base = {"w_12": 1.5, "w_21": 0.5, "b_1": -0.5, "b_2": -0.2, "t_ref": 25, "epoch_steps": 1500, "n_epochs": 1500,
            "lr": 0.03}  # fmt: skip
    return SweepSpec(name=name, experiment="theory-spiking-sal", base=base, grid={"frozen": ["none", "w_12"]},
                     seeds=[45])  # fmt: skip


def trajectories(res: SweepResult) -> dict[str, dict[str, Any]]:
    """``trajectory.npz`` arrays (and the config) of the runs of :func:`spiking_spec`, by ``frozen``."""
    out: dict[str, dict[str, Any]] = {}
    for frozen in ("none", "w_12"):
        cfg, run_id, _ = find_run(res, frozen=frozen)
        out[frozen] = {**res.arrays(run_id, "trajectory"), "config": cfg}
    return out
