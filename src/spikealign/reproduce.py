"""Reproduce paper figures: run the sweeps behind each figure, draw it, write the report.

Layout under the output folder (default ``results/``)::

    <figure>/<sweep>/runs/<run_id>/   one run directory per grid point
    <figure>/<sweep>/table.csv        the sweep's results table
    <figure>/figures/                 the figure (PNG; other formats with --figure-format)
    <figure>/figure.json              key numbers, checked expectations, wall time, sweeps used
    report/index.html                 every figure with its parameters, numbers and checks
"""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._optional import MissingExtraError
from .config import to_plain
from .errors import UserError
from .registry import PROFILES, Check, FigureOutput, counted_checks, get_figure, registered_figures
from .runs import atomic_write_json, read_json
from .sweep import Executor, SweepResult, run_sweep


@dataclass
class FigureRecord:
    """What reproducing one figure gave (also stored as ``<figure>/figure.json``)."""

    id: str
    summary: str
    profile: str
    ok: bool
    wall_time_s: float
    files: list[str] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    sweeps: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[str, int] = field(default_factory=dict)
    error: str = ""
    notes: str = ""


def resolve_figures(figure_ids: list[str] | None, skipped: list[str] | None = None) -> list[str]:
    """The figures to reproduce: ``figure_ids`` (each checked), or every figure when none are given.

    With no ids, a figure whose family needs an optional extra that is not installed (e.g. the deep
    figures without torch) is left out and its one-line reason appended to ``skipped``; a figure
    asked for by name raises that reason instead.
    """
    if not figure_ids:
        chosen = []
        for fid in registered_figures():
            try:
                get_figure(fid)
            except MissingExtraError as exc:
                if skipped is not None:
                    skipped.append(f"{fid}: {exc}")
                continue
            chosen.append(fid)
        return chosen
    for fid in figure_ids:
        get_figure(fid)  # raises a UserError naming the known figures
    return list(dict.fromkeys(figure_ids))


def reproduce_figure(
    figure_id: str,
    profile: str,
    out: Path,
    executor: Executor,
    *,
    resume: bool = False,
    show_progress: bool = True,
) -> FigureRecord:
    """Run the sweeps of one figure and draw it; failures are recorded, not raised."""
    if profile not in PROFILES:
        raise UserError(f"unknown profile {profile!r} (allowed: {', '.join(PROFILES)})")
    figure = get_figure(figure_id)
    fig_dir = out / figure_id
    t0 = time.perf_counter()
    record = FigureRecord(id=figure_id, summary=figure.summary, profile=profile, ok=False, wall_time_s=0.0)
    try:
        specs = figure.sweeps(profile)
        record.sweeps = [to_plain(s) for s in specs]
        results: dict[str, SweepResult] = {}
        for spec in specs:
            results[spec.name] = run_sweep(
                spec, fig_dir / spec.name, executor=executor, resume=resume, show_progress=show_progress
            )
            table = results[spec.name].table
            done = int((table["status"] == "completed").sum())
            record.runs[spec.name] = done
            if done < len(table):
                failed = table[table["status"] != "completed"]
                record.error += (
                    f"sweep {spec.name}: {len(failed)} of {len(table)} runs failed ({failed['error'].iloc[0]}); "
                )
        output = figure.draw(results, fig_dir / "figures")
        _store_output(record, output, out)
        record.ok = not record.error and all(Path(out / f).is_file() for f in record.files) and not unmet_checks(record)
    except Exception as exc:  # a UserError too (e.g. a dataset missing): this figure fails, the others run
        record.error += f"{type(exc).__name__}: {exc}"
        record.notes = traceback.format_exc()
    record.wall_time_s = round(time.perf_counter() - t0, 2)
    atomic_write_json(fig_dir / "figure.json", asdict(record))
    return record


def unmet_checks(record: FigureRecord) -> list[dict[str, Any]]:
    """The counted checks of ``record`` that are not met (a figure is ok only without any)."""
    return [c for c in counted_checks(record.checks, record.profile) if not c.get("met")]


def status_line(record: FigureRecord, seconds: float) -> str:
    """``[fig] ok in 12.3 s; expectations met 4/4 (1 paper-profile check not counted)`` or what failed."""
    counted = counted_checks(record.checks, record.profile)
    met = sum(1 for c in counted if c.get("met"))
    unmet = unmet_checks(record)
    if record.error:
        state = f"FAILED: {record.error}"
    elif unmet:
        state = "NOT OK: unmet " + "; ".join(c.get("description", "") for c in unmet)
    else:
        state = "ok"
    line = f"[{record.id}] {state} in {seconds:.1f} s; expectations met {met}/{len(counted)}"
    skipped = len(record.checks) - len(counted)
    if skipped:
        paper_met = sum(1 for c in record.checks if c not in counted and c.get("met"))
        line += f" (+{skipped} paper-profile check(s) not counted at this scale, {paper_met} met)"
    return line


def overall_line(done: int, total: int, elapsed: float) -> str:
    """``[overall] 3/13 figures in 5 min 20 s; about 12 min left at the pace so far`` (the time
    left assumes the remaining figures take as long on average as the finished ones)."""
    from .progress import format_duration

    line = f"[overall] {done}/{total} figures in {format_duration(elapsed)}"
    if done < total:
        line += f"; about {format_duration(elapsed / done * (total - done))} left at the pace so far"
    return line


def _store_output(record: FigureRecord, output: FigureOutput, out: Path) -> None:
    record.files = [str(Path(f).resolve().relative_to(out.resolve())) for f in output.files]
    record.numbers = {k: _plain_number(v) for k, v in output.numbers.items()}
    record.checks = [asdict(c) if isinstance(c, Check) else dict(c) for c in output.checks]
    record.notes = output.notes


def _plain_number(v: Any) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def load_record(fig_dir: Path) -> FigureRecord | None:
    data = read_json(fig_dir / "figure.json")
    if not data:
        return None
    try:
        return FigureRecord(**data)
    except TypeError:
        raise UserError(f"{fig_dir / 'figure.json'} is corrupt (not a figure record); delete it and redraw") from None


def redraw(figure_id: str, results_dir: str | Path) -> FigureRecord:
    """Draw a figure again from existing sweep results (``results_dir`` is the figure's folder
    or the reproduce output folder that contains it)."""
    figure = get_figure(figure_id)
    root = Path(results_dir)
    if not root.is_dir():
        raise UserError(f"results directory not found: {root}")
    fig_dir = root / figure_id if (root / figure_id).is_dir() else root
    previous = load_record(fig_dir)
    profile = previous.profile if previous else "quick"
    names = [s.name for s in figure.sweeps(profile)]
    missing = [n for n in names if not (fig_dir / n / "table.csv").is_file()]
    if missing:
        raise UserError(f"{fig_dir} has no results for sweep(s) {', '.join(missing)} of figure {figure_id}")
    t0 = time.perf_counter()
    output = figure.draw({n: SweepResult(fig_dir / n) for n in names}, fig_dir / "figures")
    record = previous or FigureRecord(id=figure_id, summary=figure.summary, profile=profile, ok=True, wall_time_s=0)
    _store_output(record, output, fig_dir.parent)
    record.ok = not record.error and not unmet_checks(record)
    record.notes = (record.notes + f" (redrawn in {time.perf_counter() - t0:.1f} s)").strip()
    atomic_write_json(fig_dir / "figure.json", asdict(record))
    return record
