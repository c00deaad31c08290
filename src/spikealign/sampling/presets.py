"""The reference's four experiment types, its minimal example, and their sweep grids.

See docs/sampling.md, "Experiment types and sweeps".

``PRESETS[name]`` is our ``ssn`` config mapping equal to the reference's ``scripts/ssn/<name>``
YAML (converted as :func:`spikealign.sampling.config.from_reference` does).  ``paper_sweep(name)``
is the reference's ``change_params.py`` grid: noise level outermost, then target (distr) seed,
then init seed (6 x 5 x 4 = 120 runs).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ..sweep import SweepSpec

DISTR_SEEDS = [4321, 4322, 4323, 4324, 4235]  # 4235 (sic) is what the reference used
INIT_SEEDS = [9002, 9003, 9004, 9005]
SYN_NOISE_LEVELS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
PLAST_NOISE_LEVELS = [0.0, 0.01, 0.02, 0.03, 0.04, 0.05]


def _base(**over: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "kind": "ssn",
        "seed": 4444,
        "dim": 7,
        "target": {"seed": 4242, "alpha": 1.0, "beta": 1.0},
        "init": {"seed": 4343, "weight": 0.2, "bias": 0.2, "noise": 0.0},
        "neuron": {"t_ref": 50, "tau_syn": 50},
        "schedule": {"num_epochs": 20001, "val_step": 500, "val_factor": 1000, "dur": 1000},
        "lr": {"bias": 0.01, "weight": 0.01, "symm": 0.0},
        "stdp": {"noise": 0.0, "a_plus": 1.0, "tau": 50.0, "kernel": "triangular"},
        "max_w": 2.0,
        "max_b": 2.0,
    }
    for key, value in over.items():
        node = cfg
        parts = key.split(".")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    return cfg


_PLAST = {
    "schedule.num_epochs": 150001,
    "schedule.val_step": 2000,
    "lr.bias": 0.001,
    "lr.weight": 0.001,
    "init.noise": 0.2,
    "stdp.noise": 0.05,
}

PRESETS: dict[str, dict[str, Any]] = {
    "syn_noise": _base(),
    "syn_noise_sal": _base(**{"lr.symm": 0.01}),
    "plast_noise": _base(**_PLAST),
    "plast_noise_sal": _base(**_PLAST, **{"lr.symm": 0.002}),
    "minimal_working_example": _base(
        **{**_PLAST, "lr.symm": 0.002, "schedule.num_epochs": 1501, "schedule.val_step": 20, "schedule.val_factor": 100}
    ),
}

NOISE_KEY = {"syn_noise": "init.noise", "syn_noise_sal": "init.noise",
             "plast_noise": "stdp.noise", "plast_noise_sal": "stdp.noise"}  # fmt: skip


def preset(name: str) -> dict[str, Any]:
    """A deep copy of the preset config ``name``."""
    if name not in PRESETS:
        from ..errors import UserError

        raise UserError(f"unknown SSN preset {name!r} (known: {', '.join(PRESETS)})")
    return copy.deepcopy(PRESETS[name])


def paper_sweep(name: str, levels: list[float] | None = None) -> SweepSpec:
    """The reference's 120-run sweep of experiment type ``name``."""
    base = preset(name)
    base["diagnostic_figure"] = False
    noise = levels if levels is not None else (SYN_NOISE_LEVELS if name.startswith("syn") else PLAST_NOISE_LEVELS)
    grid: dict[str, list[Any]] = {NOISE_KEY[name]: list(noise), "target.seed": DISTR_SEEDS, "init.seed": INIT_SEEDS}
    return SweepSpec(name=name, experiment="ssn", base=base, grid=grid)


# Quick profile: the same four comparisons on 2 cores in minutes.  Phases are 5x shorter
# (dur 200), there are fewer cycles, seeds and noise levels; the plast_* types use 5x larger
# learning rates so that 8000 cycles cover what 40000 paper cycles do.  Validation phases are
# 5e6 steps (2e5 state samples), long enough for a finite D_KL in most records.
@dataclass(frozen=True)
class QuickProfile:
    """The quick profile of one group of types: its schedule, noise levels and learning-rate factor."""

    schedule: dict[str, int]
    levels: list[float]
    lr_scale: float


QUICK = {
    "syn": QuickProfile(
        schedule={"num_epochs": 4001, "val_step": 500, "val_factor": 500, "dur": 200},
        levels=[0.0, 0.4, 0.8],
        lr_scale=1.0,
    ),
    "plast": QuickProfile(
        schedule={"num_epochs": 8001, "val_step": 1000, "val_factor": 500, "dur": 200},
        levels=[0.0, 0.025, 0.05],
        lr_scale=5.0,
    ),
}
QUICK_DISTR_SEEDS = DISTR_SEEDS[:2]
QUICK_INIT_SEEDS = INIT_SEEDS[:2]


def quick_sweep(name: str) -> SweepSpec:
    """Reduced sweep of type ``name`` for the quick profile (see :data:`QUICK`)."""
    fam = "syn" if name.startswith("syn") else "plast"
    q = QUICK[fam]
    base = preset(name)
    base["diagnostic_figure"] = False
    base["schedule"] = dict(q.schedule)
    for k in ("bias", "weight", "symm"):
        base["lr"][k] = base["lr"][k] * q.lr_scale
    grid: dict[str, list[Any]] = {
        NOISE_KEY[name]: list(q.levels),
        "target.seed": QUICK_DISTR_SEEDS,
        "init.seed": QUICK_INIT_SEEDS,
    }
    return SweepSpec(name=name, experiment="ssn", base=base, grid=grid)
