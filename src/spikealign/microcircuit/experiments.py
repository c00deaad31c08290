"""Registration of the microcircuit experiment and its figures (``fig6``, ``mc-wide``).

- experiment ``microcircuit``: one teacher-student run (:mod:`.runner`); also reads the
  reference's microcircuit YAML files unchanged.
- figure ``fig6``: 3 conditions (SAL, BP, FA) x 20 seeds with the reference's seeds
  (``base + i + 1`` for the student's poisson, weights-init and training seeds, run i = 0..19),
  150 epochs ("paper"); 8 seeds x 60 epochs ("quick").
- figure ``mc-wide`` (beyond the paper): a [4, 8, 3] student-teacher task in which the feedback
  matrix B is 8x3, so that alignment is an angle between B and W21^T (see :func:`wide_config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from ..registry import Experiment, Figure, register_experiment, register_figure
from ..resources import F64, NP_ARRAY_IN_LIST, PY_TUPLE2_IN_LIST, MemoryEstimate, register_estimate
from ..sweep import SweepSpec
from . import reference as mc_reference
from .config import MicrocircuitConfig
from .runner import run

# seeds and the differing settings of the reference's three Fig. 6 configs (docs/microcircuits.md, "Parameters")
PAPER_CONDITIONS: dict[str, dict[str, Any]] = {
    "sal": {
        "lr_down": 0.001,
        "student_seeds": (649854, 355445, 915344),
        "teacher_poisson_seed": 423433,
        "teacher_t_pattern": 2000,
    },
    "fa": {
        "lr_down": 0.0,
        "student_seeds": (645360, 354535, 918344),
        "teacher_poisson_seed": 423433,
        "teacher_t_pattern": 20000,
    },
    "bp": {
        "lr_down": 0.0,
        "student_seeds": (654560, 375635, 936544),
        "teacher_poisson_seed": 426534,
        "teacher_t_pattern": 20000,
    },
}


def paper_config(condition: str, num_epochs: int = 150) -> dict[str, Any]:
    """Our config mapping equal to the reference's ``scripts/microcircuits/<condition>`` YAML."""
    c = PAPER_CONDITIONS[condition]
    poisson, winit, training = c["student_seeds"]
    return {
        "kind": "microcircuit",
        "feedback": condition,
        "network": {"dims": [1, 1, 1], "lr_up": [0.2, 0.003], "lr_down": c["lr_down"]},
        "teacher": {
            "weights": {"w10": 2.0, "w21": 2.0},
            "bias": [-1.0, -1.0],
            "t_pattern": c["teacher_t_pattern"],
            "poisson_seed": c["teacher_poisson_seed"],
        },
        "student": {
            "len_epoch": 20,
            "len_symmetrization": 5,
            "len_validation": 6,
            "num_epochs": num_epochs,
            "t_pattern": 2000,
            "recorded_sample_length": 20000,
            "poisson_seed": poisson,
            "weights_init_seed": winit,
            "training_seed": training,
        },
        "inputs": {
            "training": [-3.0, -2.5, -2.0, -0.8, 0.8, 2.0, 2.5, 3.0],
            "validation": [-2.7, -1.8, -0.5, 0.5, 1.8, 2.7],
        },
    }


def seed_zip(condition: str, n_seeds: int, key_prefix: str = "student") -> dict[str, list[int]]:
    """The reference's seed sweep: run i uses base + i + 1 for each student seed (``change_params.py``)."""
    poisson, winit, training = PAPER_CONDITIONS[condition]["student_seeds"]
    idx = range(1, n_seeds + 1)
    return {
        f"{key_prefix}.poisson_seed": [poisson + i for i in idx],
        f"{key_prefix}.weights_init_seed": [winit + i for i in idx],
        f"{key_prefix}.training_seed": [training + i for i in idx],
        "seed": [i - 1 for i in idx],
    }


def _condition_sweeps(make_config, n_epochs: int, seeding) -> list[SweepSpec]:
    """One sweep per condition (sal, bp, fa) of ``make_config(cond, n_epochs)`` without per-run figures.

    ``seeding(cond)`` gives the sweep's seed arguments (``zip`` or ``seeds`` of :class:`SweepSpec`).
    """
    out = []
    for cond in ("sal", "bp", "fa"):
        base = make_config(cond, n_epochs)
        base["figures"] = False
        out.append(SweepSpec(name=cond, experiment="microcircuit", base=base, **seeding(cond)))
    return out


FIG6_PROFILES = {"paper": (20, 150), "quick": (8, 60)}


def fig6_sweeps(profile: str) -> list[SweepSpec]:
    n_seeds, n_epochs = FIG6_PROFILES.get(profile, FIG6_PROFILES["quick"])
    return _condition_sweeps(paper_config, n_epochs, lambda cond: {"zip": seed_zip(cond, n_seeds)})


# ------------------------------------------------------------------------------- wide task
WIDE_DIMS = [4, 8, 3]


def wide_config(condition: str, num_epochs: int = 60) -> dict[str, Any]:
    """A wider student-teacher task (beyond the paper): dims [4, 8, 3].

    The teacher has random weights U(-1.5, 1.5) (seed 2024); inputs are 8 training and 4
    validation 4-vectors in [-3, 3] (fixed numbers below).  The student starts from
    U(-1.5, 1.5) weights; B is an 8x3 matrix, so alignment is measured as the angle between B and
    W21^T.  Learning rates: W10 0.2, W21 0.003, B 0.001 as in the paper; SAL symmetrisation as in
    the paper (5 of 20 training patterns per epoch).  Student seeds: ``seed``-derived.
    """
    lr_down = 0.001 if condition == "sal" else 0.0
    return {
        "kind": "microcircuit",
        "feedback": condition,
        "network": {"dims": WIDE_DIMS, "lr_up": [0.2, 0.003], "lr_down": lr_down},
        "teacher": {"random_weights": {"limits": [-1.5, 1.5], "seed": 2024}, "t_pattern": 2000, "poisson_seed": 7},
        "student": {
            "len_epoch": 20,
            "len_symmetrization": 5,
            "len_validation": 4,
            "num_epochs": num_epochs,
            "t_pattern": 2000,
            "init_limits_up": [-1.5, 1.5],
            "init_limits_down": [-1.5, 1.5],
        },
        "inputs": {"training": WIDE_TRAIN, "validation": WIDE_VAL},
    }


# fixed input vectors of the wide task, written by hand to cover [-3, 3] in every input
WIDE_TRAIN = [
    [-2.1, 1.4, 0.3, -0.9],
    [2.6, -0.4, -1.8, 1.1],
    [0.7, 2.2, -2.5, -0.2],
    [-1.3, -2.7, 1.9, 2.4],
    [1.8, 0.9, 2.8, -2.2],
    [-2.8, -0.6, -0.7, 0.5],
    [0.2, -1.9, -1.1, -2.9],
    [2.3, 2.9, 1.2, 1.7],
]
WIDE_VAL = [[-0.5, 1.0, -1.5, 2.0], [1.5, -1.2, 0.6, -0.8], [-2.4, 2.0, 2.2, -1.6], [2.0, -2.6, -0.3, 0.9]]
WIDE_PROFILES = {"paper": (10, 150), "quick": (3, 30)}


def wide_sweeps(profile: str) -> list[SweepSpec]:
    n_seeds, n_epochs = WIDE_PROFILES.get(profile, WIDE_PROFILES["quick"])
    return _condition_sweeps(wide_config, n_epochs, lambda cond: {"seeds": list(range(n_seeds))})


# ------------------------------------------------------------------------------- registration
def _from_reference(raw: dict[str, Any], path: Path, options: dict[str, Any]) -> dict[str, Any]:
    bad = [k for k in ("section", "dataset") if options.get(k) is not None]
    if bad:
        raise UserError(f"--{bad[0]} does not apply to microcircuit configs (only --n-epochs does)")
    return mc_reference.from_reference(raw, path, options)


def _draw_fig6(results, out_dir):
    from .figures import draw_fig6

    return draw_fig6(results, out_dir)


def _draw_wide(results, out_dir):
    from .figures import draw_wide

    return draw_wide(results, out_dir)


MICROCIRCUIT = register_experiment(
    Experiment(
        kind="microcircuit",
        config_model=MicrocircuitConfig,
        run=run,
        draw_run="spikealign.figures.run_plots:draw_microcircuit_run",
        detect_reference=mc_reference.detect_reference,
        from_reference=_from_reference,
    )
)

register_figure(
    Figure(
        id="fig6",
        summary="Fig. 6: spiking microcircuits learn a teacher with SAL as well as with BP, unlike FA",
        sweeps=fig6_sweeps,
        draw=_draw_fig6,
    )
)

register_figure(
    Figure(
        id="mc-wide",
        summary="beyond the paper: SAL aligns an 8x3 feedback matrix in a [4, 8, 3] microcircuit",
        sweeps=wide_sweeps,
        draw=_draw_wide,
    )
)


# --------------------------------------------------------------------------- memory estimate
@register_estimate("microcircuit")
def memory_estimate(config: MicrocircuitConfig) -> list[MemoryEstimate]:
    n0, n1, n2 = config.network.dims
    weights = F64 * 2 * (n1 * n0 + 2 * n2 * n1)  # teacher and student: W10, W21, B
    neurons = n0 + n1 + n2
    averages = F64 * neurons * config.network.size_moving_average
    st = config.student
    patterns = st.num_epochs * (st.len_epoch + st.len_validation)
    # inputs and targets; the (symmetrisation, validation) flags are built as a list of tuples first
    schedule = patterns * (F64 * (n0 + n2) + PY_TUPLE2_IN_LIST)
    # after every pattern 9 arrays are appended to lists: outputs, free outputs, 3 weight matrices, 4 rates
    history = patterns * (9 * NP_ARRAY_IN_LIST + F64 * (2 * n2 + n1 * n0 + 2 * n2 * n1))
    pattern_keys = ("student.num_epochs", "student.len_epoch", "student.len_validation", "network.dims")
    t_pattern = max(config.teacher.t_pattern, st.t_pattern) * config.network.t_ref
    draws = F64 * neurons * t_pattern  # the uniform draws of one pattern
    return [
        MemoryEstimate(weights, "the teacher and student weight matrices", ("network.dims",)),
        MemoryEstimate(averages, "the moving averages", ("network.dims", "network.size_moving_average")),
        MemoryEstimate(schedule, f"the input and target schedule of {patterns:.3g} patterns", pattern_keys),
        MemoryEstimate(history, f"the recorded outputs and weights of {patterns:.3g} patterns", pattern_keys),
        MemoryEstimate(draws, "the random draws of one pattern", ("student.t_pattern", "teacher.t_pattern")),
    ]
