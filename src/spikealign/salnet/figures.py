"""Figures of the ``sal-network`` family: the per-run asymmetry plot and the figure ``sal-engines``.

``sal-engines`` (beyond the paper)
    The same network and seeds in every engine whose extra is installed: asymmetry against time,
    per engine and seed; checks that each engine reduces the asymmetry at least 10x and that the
    engines' final asymmetries agree within the seed-to-seed spread. Engines whose extra is absent
    are listed in the figure's notes.

Importing this module registers the figure; the family module :mod:`spikealign.salnet.experiments`
imports it.  Drawing only: every function here reads what runs wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError
from ..registry import Check, Figure, FigureOutput, register_figure
from ..sweep import SweepResult, SweepSpec
from .config import ENGINES


# --------------------------------------------------------------------------- one run
def draw_run(arrays: dict[str, np.ndarray], engine: str, out_dir: Path) -> list[Path]:
    """Asymmetry (log scale) and the W-W^T angle against time, one run."""
    from ..figures.style import COLORS, figure, save_figure, style

    fig, (ax_a, ax_b) = figure(1, 2, width="onehalf", aspect=0.75)
    t = arrays["times_ms"] * 1e-3
    with style():
        ax_a.semilogy(t, arrays["asymmetry"], color=COLORS["sal"], marker=".")
        ax_a.set(xlabel="time (s)", ylabel="asymmetry", title=f"Var(W - W^T) / Var(W), {engine}")
        ax_b.plot(t, arrays["angle_deg"], color=COLORS["sal"], marker=".")
        ax_b.set(xlabel="time (s)", ylabel=r"angle($W$, $W^T$) (deg)", title="angle to the transpose")
    return save_figure(fig, out_dir, "asymmetry")


def draw_run_dir(run_dir: Path) -> list[Path]:
    """The run's own plot again, from its ``asymmetry.npz`` and ``config.yaml`` (``spikealign figure RUN``)."""
    import yaml

    from ..runs import load_npz

    run_dir = Path(run_dir)
    engine = (yaml.safe_load((run_dir / "config.yaml").read_text()) or {}).get("engine", "spikealign")
    return draw_run(load_npz(run_dir / "asymmetry.npz"), str(engine), run_dir / "figures")


# --------------------------------------------------------------------------- figure sal-engines
ENGINE_SEEDS = {"quick": [0, 1, 2], "paper": [0, 1, 2, 3, 4, 5]}
#: the quick profile's network: the spec's defaults (20 s of simulated time)
ENGINE_BASE: dict[str, object] = {"figures": False}


def engine_sweeps(profile: str) -> list[SweepSpec]:
    """One sweep over the engines whose extras are installed, the same seeds for each."""
    if profile not in ENGINE_SEEDS:
        raise UserError(f"unknown profile {profile!r} (allowed: {', '.join(ENGINE_SEEDS)})")
    from .experiments import engine_unavailable

    engines = [e for e in ENGINES if engine_unavailable(e) is None]
    return [SweepSpec(name="engines", experiment="sal-network", base=dict(ENGINE_BASE), grid={"engine": engines},
                      seeds=ENGINE_SEEDS[profile])]  # fmt: skip


def draw_engines(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    from ..figures.style import CYCLE, figure, save_figure, style
    from .experiments import engine_unavailable

    res = results["engines"]
    table = res.completed()
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for run_id in table["run_id"]:
        engine = res.config(run_id)["engine"]
        saved = res.arrays(run_id, "asymmetry")
        curves.setdefault(engine, []).append((saved["times_ms"] * 1e-3, saved["asymmetry"]))
    fig, ax = figure(1, 1, width="single", aspect=0.8)
    with style():
        # the torch engine reproduces the numba engine's spikes: dashed lines on top of solid ones
        styles = dict(zip(ENGINES, ("-", (0, (2, 1.5)), "-.", (0, (4, 2))), strict=True))
        for colour, (engine, runs) in zip(CYCLE, sorted(curves.items()), strict=False):
            for k, (t, asym) in enumerate(runs):
                ax.semilogy(t, asym, color=colour, ls=styles.get(engine, "-"), lw=1.0, alpha=0.85,
                            label=engine if k == 0 else None)  # fmt: skip
        ax.set(xlabel="time (s)", ylabel=r"Var($W - W^T$) / Var($W$)", title="SAL network, engines side by side")
        ax.legend()
    files = save_figure(fig, out_dir, "sal-engines")
    numbers, checks = engine_checks(curves)
    missing = {e: engine_unavailable(e) for e in ENGINES if e not in curves}
    notes = "; ".join(f"engine {e} skipped: {why or 'no completed run'}" for e, why in missing.items())
    return FigureOutput(files=files, numbers=numbers, checks=checks, notes=notes)


def engine_checks(curves: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> tuple[dict[str, float], list[Check]]:
    """Each engine reduces the asymmetry >= 10x; engines' mean final log-asymmetries agree within the spread.

    Agreement: the engines' means of ``log(final asymmetry)`` over seeds differ by at most
    ``3 * sqrt(2 / n_seeds)`` times the pooled seed-to-seed standard deviation (a 3-sigma bound on
    the difference of two means).
    """
    numbers: dict[str, float] = {}
    checks: list[Check] = []
    finals: dict[str, np.ndarray] = {}
    for engine, runs in sorted(curves.items()):
        reduction = np.array([a[0] / a[-1] for _, a in runs])
        finals[engine] = np.log(np.array([a[-1] for _, a in runs]))
        numbers[f"{engine}_min_reduction"] = float(reduction.min())
        numbers[f"{engine}_mean_final_asymmetry"] = float(np.exp(finals[engine]).mean())
        checks.append(Check(f"{engine}: asymmetry reduced at least 10x in every seed", bool(reduction.min() >= 10),
                            f"reductions {', '.join(f'{r:.1f}x' for r in reduction)}"))  # fmt: skip
    if len(finals) >= 2:
        pooled = float(np.sqrt(np.mean([np.var(f, ddof=1) for f in finals.values()])))
        n = min(len(f) for f in finals.values())
        means = {e: float(f.mean()) for e, f in finals.items()}
        spread = max(means.values()) - min(means.values())
        bound = 3 * np.sqrt(2 / n) * pooled
        numbers["final_log_asymmetry_spread"] = spread
        numbers["seed_to_seed_sd"] = pooled
        checks.append(Check("engines agree: final asymmetries within the seed-to-seed spread", spread <= bound,
                            f"largest difference of mean log final asymmetry {spread:.3f} <= {bound:.3f}"))  # fmt: skip
    return numbers, checks


register_figure(Figure("sal-engines", "SAL network in every installed engine: asymmetry vs time (beyond the paper)",
                       engine_sweeps, draw_engines))  # fmt: skip
