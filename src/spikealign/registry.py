"""Registries of experiments (what a run computes) and figures (what reproduce draws).

Model families add themselves by calling :func:`register_experiment` and
:func:`register_figure` at import time in their ``experiments`` module; the modules listed in
:data:`FAMILY_MODULES` are imported by :func:`load_all`.

An experiment turns one validated config into results inside a run directory::

    def run(config, ctx: RunContext) -> dict[str, float]:   # scalar summary metrics
        ...

and may offer ``run_batch(configs, ctxs) -> list[dict]`` to simulate many runs in one compiled
call (the sweep executors then hand it chunks of runs).

A figure names the sweeps it needs for each profile and draws from their results::

    def sweeps(profile: str) -> list[SweepSpec]
    def draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput

``draw`` only reads results; it never simulates.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UserError

if TYPE_CHECKING:
    from .runs import RunContext
    from .sweep import SweepResult, SweepSpec

FAMILY_MODULES = (
    "spikealign.experiments.toy",
    "spikealign.theory.experiments",
    "spikealign.sampling.experiments",
    "spikealign.sampling.dale",
    "spikealign.microcircuit.experiments",
    "spikealign.deep.experiments",
    "spikealign.deep.estimators.experiments",
)

FIGURE_IDS = (
    "fig2c", "fig2d", "fig2e", "fig4", "fig5", "fig6", "fig7", "fig8",
    "dale", "sal-evolution", "psp-shapes", "proof",
)  # fmt: skip

PROFILES = ("quick", "paper")


@dataclass(frozen=True)
class Experiment:
    """One kind of run.

    Attributes
    ----------
    kind : value of ``kind:`` in a run config.
    config_model : pydantic model (subclass of :class:`spikealign.config.RunConfig`).
    run : ``run(config, ctx) -> dict`` of scalar summary metrics.
    summary : one line for ``--help`` and ``info``.
    run_batch : optional ``run_batch(configs, ctxs) -> list[dict]`` for batched kernels.
    max_batch : largest chunk handed to ``run_batch``.
    detect_reference : optional predicate on a raw YAML mapping: is it this family's
        reference-implementation format?
    from_reference : optional converter ``(raw, path, options) -> dict`` from the reference
        format to our config mapping; ``options`` holds CLI choices such as ``section``.
    estimate_memory : optional ``(config) -> list[spikealign.resources.MemoryEstimate]``, lower
        bounds of the run's big allocations, checked before the run starts.
    """

    kind: str
    config_model: type
    run: Callable[[Any, RunContext], dict[str, Any] | None]
    summary: str = ""
    run_batch: Callable[[list[Any], list[RunContext]], list[dict[str, Any] | None]] | None = None
    max_batch: int = 1
    detect_reference: Callable[[dict[str, Any]], bool] | None = None
    from_reference: Callable[[dict[str, Any], Path, dict[str, Any]], dict[str, Any]] | None = None
    estimate_memory: Callable[[Any], list[Any]] | None = None


@dataclass
class Check:
    """A qualitative expectation about a figure's numbers, marked met or not met."""

    description: str
    met: bool
    detail: str = ""


@dataclass
class FigureOutput:
    """What drawing a figure produced: files, key numbers and checked expectations."""

    files: list[Path] = field(default_factory=list)
    numbers: dict[str, float] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: str = ""


@dataclass(frozen=True)
class Figure:
    """A paper figure: the sweeps behind it per profile and the function that draws it."""

    id: str
    summary: str
    sweeps: Callable[[str], list[SweepSpec]]
    draw: Callable[[dict[str, SweepResult], Path], FigureOutput]


EXPERIMENTS: dict[str, Experiment] = {}
FIGURES: dict[str, Figure] = {}
LOAD_ERRORS: dict[str, str] = {}  # family module -> why it could not be imported
EXPERIMENT_MODULES: dict[str, str] = {}  # experiment kind -> module that registered it
_loaded = False
_loading: str | None = None


def register_experiment(experiment: Experiment) -> Experiment:
    if experiment.kind in EXPERIMENTS and EXPERIMENTS[experiment.kind] is not experiment:
        raise ValueError(f"experiment kind {experiment.kind!r} registered twice")
    EXPERIMENTS[experiment.kind] = experiment
    EXPERIMENT_MODULES[experiment.kind] = _loading or experiment.run.__module__
    return experiment


def register_figure(figure: Figure) -> Figure:
    if figure.id in FIGURES and FIGURES[figure.id] is not figure:
        raise ValueError(f"figure {figure.id!r} registered twice")
    FIGURES[figure.id] = figure
    return figure


def load_all() -> None:
    """Import every model family so that its experiments and figures are registered.

    A family that fails to import (a missing optional library, a broken install) does not take
    the others down: its error is kept in :data:`LOAD_ERRORS`, shown by ``spikealign info``, and
    named when one of its experiments or figures is asked for.
    """
    global _loaded
    if _loaded:
        return
    for name in FAMILY_MODULES:
        load_family(name)
    _loaded = True


def load_family(module: str) -> None:
    """Import one family module (sweep workers load only the family they run)."""
    global _loading
    _loading = module
    try:
        importlib.import_module(module)
    except Exception as exc:
        LOAD_ERRORS[module] = f"{type(exc).__name__}: {exc}"
    finally:
        _loading = None


def _load_problems() -> str:
    if not LOAD_ERRORS:
        return ""
    return "; could not load " + "; ".join(f"{m} ({e})" for m, e in LOAD_ERRORS.items())


def get_experiment(kind: str) -> Experiment:
    load_all()
    if kind not in EXPERIMENTS:
        known = ", ".join(sorted(EXPERIMENTS)) or "none"
        raise UserError(f"unknown experiment kind {kind!r} (known: {known}){_load_problems()}")
    return EXPERIMENTS[kind]


def get_figure(figure_id: str) -> Figure:
    load_all()
    if figure_id not in FIGURES:
        known = ", ".join(f for f in FIGURE_IDS if f in FIGURES) or "none"
        planned = [f for f in FIGURE_IDS if f not in FIGURES]
        extra = f"; not yet available: {', '.join(planned)}" if planned and figure_id in planned else ""
        raise UserError(f"unknown figure {figure_id!r} (registered: {known}{extra}){_load_problems()}")
    return FIGURES[figure_id]


def registered_figures() -> list[str]:
    """Registered figure ids, in the paper order of :data:`FIGURE_IDS` then any others."""
    load_all()
    ordered = [f for f in FIGURE_IDS if f in FIGURES]
    return ordered + sorted(f for f in FIGURES if f not in FIGURE_IDS)
