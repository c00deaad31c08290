"""Registries of experiments (what a run computes) and figures (what reproduce draws).

The kinds and figures that ship with spikealign are listed, with the module that implements each,
in the static table :mod:`spikealign.families`.  A family module is imported only when one of its
kinds or figures is asked for (:func:`get_experiment`, :func:`get_figure`); importing it calls
:func:`register_experiment` and :func:`register_figure`.  A family that fails to import reports
its real error: a missing optional library as a one-line :class:`~spikealign.errors.UserError`
naming the extra to install, anything else as the original exception.  Your own experiments
register the same way (call :func:`register_experiment` in your module and import it).

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

import dataclasses
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import families
from ._optional import MissingExtraError
from .errors import UserError

if TYPE_CHECKING:
    from .runs import RunContext
    from .sweep import SweepResult, SweepSpec

FAMILY_MODULES = tuple(dict.fromkeys(module for module, _ in families.EXPERIMENT_KINDS.values()))
FIGURE_IDS = tuple(families.FIGURE_MODULES)

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
    draw_run : optional ``draw_run(run_dir) -> list[Path]``, the run's own plots drawn from its
        files into ``run_dir/figures`` (after ``spikealign run`` and by ``spikealign figure
        RUN_DIR``); a ``"module:function"`` string is imported on first use, so that registering
        a kind does not import matplotlib.  See :mod:`spikealign.figures.run_plots`.
    """

    kind: str
    config_model: type
    run: Callable[[Any, RunContext], dict[str, Any] | None]
    summary: str = ""
    run_batch: Callable[[list[Any], list[RunContext]], Sequence[dict[str, Any] | None]] | None = None
    max_batch: int = 1
    detect_reference: Callable[[dict[str, Any]], bool] | None = None
    from_reference: Callable[[dict[str, Any], Path, dict[str, Any]], dict[str, Any]] | None = None
    draw_run: Callable[[Path], list[Path]] | str | None = None


@dataclass
class Check:
    """A qualitative expectation about a figure's numbers, marked met or not met.

    ``paper_only``: the expectation holds at the paper profile's scale only (e.g. a ratio that
    needs long runs); a quick reproduction shows it, labelled "paper profile", without counting it.
    """

    description: str
    met: bool
    detail: str = ""
    paper_only: bool = False


def counted_checks(checks: list[dict[str, Any]], profile: str) -> list[dict[str, Any]]:
    """The checks that decide whether a figure reproduced with ``profile`` is ok (see :class:`Check`)."""
    return [c for c in checks if profile == "paper" or not c.get("paper_only", False)]


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
# experiment kind -> module that registers it (sweep workers import only that module)
EXPERIMENT_MODULES: dict[str, str] = {kind: module for kind, (module, _) in families.EXPERIMENT_KINDS.items()}
_loading: str | None = None


def register_experiment(experiment: Experiment) -> Experiment:
    """Make ``experiment`` runnable by every command (call it when your module is imported).

    A kind that ships with the package takes its ``summary`` from :data:`spikealign.families.EXPERIMENT_KINDS`
    (the one place it is written, read by ``config --list`` without importing the family); the
    registered object, with that summary, is returned.
    """
    shipped = families.EXPERIMENT_KINDS.get(experiment.kind)
    if shipped is not None and experiment.summary != shipped[1]:
        if experiment.summary:
            raise ValueError(
                f"experiment kind {experiment.kind!r}: its summary is written in spikealign.families.EXPERIMENT_KINDS; "
                "leave summary unset"
            )
        experiment = dataclasses.replace(experiment, summary=shipped[1])
    if experiment.kind in EXPERIMENTS and EXPERIMENTS[experiment.kind] is not experiment:
        raise ValueError(f"experiment kind {experiment.kind!r} registered twice")
    EXPERIMENTS[experiment.kind] = experiment
    EXPERIMENT_MODULES.setdefault(experiment.kind, _loading or experiment.run.__module__)
    return experiment


def register_figure(figure: Figure) -> Figure:
    """Make ``figure`` available to ``reproduce`` and ``figure``."""
    if figure.id in FIGURES and FIGURES[figure.id] is not figure:
        raise ValueError(f"figure {figure.id!r} registered twice")
    FIGURES[figure.id] = figure
    return figure


def load_family(module: str) -> None:
    """Import one family module, which registers its experiments and figures.

    A missing optional library raises a one-line :class:`UserError` naming the extra to install;
    any other error propagates unchanged.
    """
    global _loading
    previous, _loading = _loading, module
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        extra = families.OPTIONAL_EXTRAS.get(missing)
        if extra is None:
            raise
        raise MissingExtraError(
            f"{module} needs {missing}, which is not installed: pip install 'spikealign[{extra}]'"
        ) from exc
    finally:
        _loading = previous


def load_all(*, skip_missing_extras: bool = False) -> list[str]:
    """Import every family of the package (``info`` and tests; commands load only what they use).

    With ``skip_missing_extras`` a family whose optional extra is not installed (e.g. the deep
    family without torch) is left out and its one-line message returned; any other error propagates.
    """
    skipped = []
    for module in FAMILY_MODULES:
        try:
            load_family(module)
        except MissingExtraError as exc:
            if not skip_missing_extras:
                raise
            skipped.append(str(exc))
    return skipped


def kind_summary(kind: str) -> str:
    """The one-line summary of ``kind`` without importing its family ("" for an unknown kind)."""
    if kind in families.EXPERIMENT_KINDS:
        return families.EXPERIMENT_KINDS[kind][1]
    return EXPERIMENTS[kind].summary if kind in EXPERIMENTS else ""


def known_kinds() -> list[str]:
    """Every experiment kind: the package's (without importing them) and any registered since."""
    return list(dict.fromkeys([*families.EXPERIMENT_KINDS, *EXPERIMENTS]))


def _lookup(table: dict, key: str, module: str | None, what: str, known: Callable[[], list[str]]):
    """``table[key]``, importing ``module`` (the family that registers ``key``) on first use."""
    if key not in table and module is not None:
        load_family(module)
        if key not in table:
            raise RuntimeError(f"{module} did not register {what} {key!r} (see spikealign.families)")
    if key not in table:
        raise UserError(f"unknown {what} {key!r} (known: {', '.join(known())})")
    return table[key]


def get_experiment(kind: str) -> Experiment:
    """The experiment ``kind``, importing its family module on first use."""
    module = families.EXPERIMENT_KINDS[kind][0] if kind in families.EXPERIMENT_KINDS else None
    return _lookup(EXPERIMENTS, kind, module, "experiment kind", known_kinds)


def get_figure(figure_id: str) -> Figure:
    """The figure ``figure_id``, importing its family module on first use."""
    return _lookup(FIGURES, figure_id, families.FIGURE_MODULES.get(figure_id), "figure", registered_figures)


def reference_to_config(raw: dict[str, Any], path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Our config mapping for a reference-implementation YAML ``raw`` (told apart by its keys): the
    package's formats (:data:`spikealign.families.RECOGNISERS`), then those of experiments registered
    by the user (``detect_reference``).  ``options``: the CLI's reference choices (``section``, ...).
    """
    found = families.recognise(raw)
    experiment: Experiment | None
    if found is not None:
        experiment = get_experiment(found.kind)
    else:  # formats of experiments registered by the user
        experiment = next((e for e in EXPERIMENTS.values() if e.detect_reference and e.detect_reference(raw)), None)
    if experiment is None or experiment.from_reference is None:
        raise UserError(f"{path}: no 'kind' key and not a known reference format (kinds: {', '.join(known_kinds())})")
    return experiment.from_reference(raw, path, options)


def registered_figures() -> list[str]:
    """Every figure id (without importing the families), in the paper order, then any others."""
    return list(dict.fromkeys([*FIGURE_IDS, *FIGURES]))
