"""Per-run plots: what one run of each kind shows, drawn from its files into ``<run>/figures/``.

An experiment names its drawer as ``Experiment(draw_run=...)``: a function ``draw_run(run_dir)
-> list[Path]`` that reads only the run's files (``config.yaml``, ``metrics.json``, ``*.npz``) and
returns the figure files it wrote.  ``spikealign run`` calls it when a run completes and
``spikealign figure RUN_DIR`` calls it again; :func:`draw_sweep_summary` draws a sweep's table.
A new kind registers its own function the same way; the ones below serve the packaged kinds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import save_figure
from .style import figure, styled


def draw_run_dir(run_dir: str | Path) -> list[Path]:
    """Draw the plots of the run in ``run_dir`` with its kind's ``draw_run`` (none: ``[]``).

    Raises
    ------
    UserError
        ``run_dir`` holds no completed run (no ``meta.json`` of status completed).
    """
    import importlib

    from ..errors import UserError
    from ..registry import get_experiment
    from ..runs import read_json

    run_dir = Path(run_dir)
    meta = read_json(run_dir / "meta.json", {}) or {}
    if meta.get("status") != "completed" or "experiment" not in meta:
        raise UserError(f"{run_dir} holds no completed run (meta.json status: {meta.get('status', 'missing')})")
    draw = get_experiment(meta["experiment"]).draw_run
    if isinstance(draw, str):
        module, _, name = draw.partition(":")
        draw = getattr(importlib.import_module(module), name)
    return list(draw(run_dir)) if draw is not None else []


def draw_folder(folder: str | Path) -> list[Path]:
    """``spikealign figure DIR``: a run folder's plots (:func:`draw_run_dir`) or a sweep folder's
    summary (:func:`draw_sweep_summary`).

    Raises
    ------
    UserError
        ``folder`` is neither a run (``meta.json``) nor a sweep (``table.csv``) folder.
    """
    from ..errors import UserError

    folder = Path(folder)
    if (folder / "meta.json").is_file():
        return draw_run_dir(folder)
    if (folder / "table.csv").is_file():
        return draw_sweep_summary(folder)
    raise UserError(
        f"{folder} is neither a run folder (meta.json) nor a sweep folder (table.csv); "
        "for a reproduce folder name the figure: spikealign figure FIGURE_ID DIR"
    )


def _load(run_dir: Path, name: str) -> dict[str, np.ndarray]:
    from ..runs import load_npz

    return load_npz(Path(run_dir) / name)


def _metrics(run_dir: Path) -> dict[str, Any]:
    from ..runs import read_json

    return read_json(Path(run_dir) / "metrics.json", {}) or {}


def _out(run_dir: Path) -> Path:
    return Path(run_dir) / "figures"


# --------------------------------------------------------------------------- toy
@styled
def draw_toy_run(run_dir: Path) -> list[Path]:
    """``walks.png``: every walker's position over steps."""
    trace = _load(run_dir, "trace.npz")["trace"]
    fig, ax = figure(width="single")
    ax.plot(trace, lw=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("position")
    return save_figure(fig, _out(run_dir), "walks")


# --------------------------------------------------------------------------- theory
@styled
def draw_stdd_run(run_dir: Path) -> list[Path]:
    """``stdd.png``: the spike-time-difference distribution p(dt) and the SAL signal it gives."""
    d = _load(run_dir, "stdd.npz")
    summary = _metrics(run_dir).get("summary", {})
    fig, ax = figure(width="single")
    ax.bar(d["dt"], d["p"], width=1.0, color="0.4")
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel("spike time difference t_post - t_pre (steps)")
    ax.set_ylabel("probability")
    if "dw_12" in summary:
        ax.set_title(f"SAL signal dW12 = {summary['dw_12']:.3g}, dW21 = {summary['dw_21']:.3g}", fontsize="small")
    return save_figure(fig, _out(run_dir), "stdd")


@styled
def draw_phase_plane_run(run_dir: Path) -> list[Path]:
    """``phase_plane.png``: the SAL update field over (w12, w21) and its zero set."""
    d = _load(run_dir, "phase_plane.npz")
    w, sal = d["w"], d["sal"]
    fig, ax = figure(width="single", aspect=1.0)
    W1, W2 = np.meshgrid(w, w, indexing="ij")
    norm = np.hypot(sal[..., 0], sal[..., 1])
    mesh = ax.pcolormesh(w, w, norm.T, shading="nearest", cmap="viridis")
    ax.quiver(W1, W2, sal[..., 0] / np.where(norm > 0, norm, 1), sal[..., 1] / np.where(norm > 0, norm, 1),
              color="w", scale=25)  # fmt: skip
    if len(d["zeros"]):
        ax.plot(d["zeros"][:, 0], d["zeros"][:, 1], "r.", ms=4, label="zero set")
        ax.legend(loc="upper left", fontsize="small")
    ax.plot(w, w, "k--", lw=0.6)
    ax.set_xlabel("w12")
    ax.set_ylabel("w21")
    fig.colorbar(mesh, ax=ax, label="|SAL update|", pad=0.02)
    return save_figure(fig, _out(run_dir), "phase_plane")


@styled
def draw_spiking_sal_run(run_dir: Path) -> list[Path]:
    """``trajectory.png``: the two weights over training (SAL makes them equal)."""
    d = _load(run_dir, "trajectory.npz")
    fig, ax = figure(width="single")
    ax.plot(d["time_s"], d["w"][:, 0], label="w12")
    ax.plot(d["time_s"], d["w"][:, 1], label="w21")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("weight")
    ax.legend()
    return save_figure(fig, _out(run_dir), "trajectory")


# --------------------------------------------------------------------------- sampling
def draw_ssn_run(run_dir: Path) -> list[Path]:
    """``ssn_run.png``: D_KL, asymmetry, weights and the sampled distribution over training."""
    from ..sampling.plots import plot_run

    arrays = _load(run_dir, "records.npz")
    if len(arrays.get("iterations", [])) == 0:
        return []
    return list(plot_run(arrays, _out(run_dir), "ssn_run", title="") or [])


@styled
def draw_dale_sal_run(run_dir: Path) -> list[Path]:
    """``dale_sal.png``: the SAL update dW(e2<-e1) over the grid of raw E->E weights."""
    d = _load(run_dir, "sal.npz")
    dw = d["dw_e2_e1"].mean(axis=-1)
    fig, ax = figure(width="single", aspect=1.0)
    limit = float(np.max(np.abs(dw))) or 1.0
    mesh = ax.pcolormesh(d["w_e1_e2"], d["w_e2_e1"], dw, shading="nearest", cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_xlabel("raw W(e1 <- e2)")
    ax.set_ylabel("raw W(e2 <- e1)")
    fig.colorbar(mesh, ax=ax, label="dW(e2 <- e1)", pad=0.02)
    return save_figure(fig, _out(run_dir), "dale_sal")


@styled
def draw_dale_rate_run(run_dir: Path) -> list[Path]:
    """``dale_rate.png``: e2's on-fraction in the E-I circuit and in its direct equivalent."""
    d = _load(run_dir, "rates.npz")
    fig, ax = figure(width="single")
    for key, label, marker in (("on_ei", "E-I circuit", "o"), ("on_direct", "direct, W_eff", "s")):
        mean = d[key].mean(axis=1)
        err = d[key].std(axis=1, ddof=1) / np.sqrt(d[key].shape[1]) if d[key].shape[1] > 1 else None
        ax.errorbar(d["w_e2_e1"], mean, yerr=err, marker=marker, label=label, capsize=2)
    ax.set_xlabel("raw W(e2 <- e1)")
    ax.set_ylabel("e2 on-fraction")
    ax.legend()
    return save_figure(fig, _out(run_dir), "dale_rate")


# --------------------------------------------------------------------------- microcircuit
def draw_microcircuit_run(run_dir: Path) -> list[Path]:
    """``teacher.png`` and ``student.png`` (losses, weights, outputs and the B-W21^T angle) from the run's files."""
    from types import SimpleNamespace

    from ..microcircuit.figures import draw_run_figures
    from ..microcircuit.protocol import feedback_angle

    t, s, m = _load(run_dir, "teacher.npz"), _load(run_dir, "student.npz"), _metrics(run_dir)
    teacher = SimpleNamespace(inputs=t["inputs"], u_out=t["targets"], n_train=int(t["n_train"]))
    ends = {k[len("end_") :]: v for k, v in s.items() if k.startswith("end_")}
    res = SimpleNamespace(
        validation_loss=m.get("validation_loss", []),
        prediction_error=m.get("prediction_error", []),
        u_out=s["u_out"],
        u_tgt=s["u_tgt"],
        u_free=s["u_free"],
        weights_end=ends,
    )
    epoch_len = int(m.get("epoch_len", 0))
    angles = None
    if epoch_len and ends["b"].shape[1] * ends["b"].shape[2] > 1:
        idx = np.arange(epoch_len - 1, len(s["u_out"]), epoch_len)
        angles = [feedback_angle(ends["b"][i], ends["w21"][i]) for i in idx]
    return draw_run_figures(teacher, res, epoch_len, _out(run_dir), angles)


# --------------------------------------------------------------------------- deep
@styled
def draw_deep_run(run_dir: Path) -> list[Path]:
    """``training.png``: loss and accuracy per epoch, and the W-B angle of every logged layer."""
    m = _metrics(run_dir)
    epochs = m.get("epochs", [])
    if not epochs:
        return []
    x = [e["epoch"] + 1 for e in epochs]
    fig, (ax_loss, ax_acc, ax_angle) = figure(1, 3, width="double", aspect=0.9)
    for split in ("train", "test"):
        ax_loss.plot(x, [e[f"{split}_loss"] for e in epochs], "o-", label=split)
        ax_acc.plot(x, [e[f"{split}_accuracy"] for e in epochs], "o-", label=split)
    layers = [k.split("/")[0] for k in epochs[-1] if k.endswith("/angle") and "/" not in k[: -len("/angle")]]
    initial = m.get("initial", {})
    for layer in layers:
        values = [initial.get(f"{layer}/angle", np.nan)] + [e.get(f"{layer}/angle", np.nan) for e in epochs]
        ax_angle.plot([0, *x], values, "o-", label=layer)
    ax_loss.set_ylabel("loss")
    ax_acc.set_ylabel("accuracy (%)")
    ax_angle.set_ylabel("angle W vs feedback (deg)")
    for ax in (ax_loss, ax_acc, ax_angle):
        ax.set_xlabel("epoch")
    ax_loss.legend()
    if layers:
        ax_angle.legend(fontsize="small")
    fig.suptitle(f"{m.get('method', '')} on {m.get('dataset', '')}", fontsize="small")
    return save_figure(fig, _out(run_dir), "training")


@styled
def draw_connection_run(run_dir: Path) -> list[Path]:
    """``connection.png``: angle between W and the estimate over time, and B against W at the end."""
    d = _load(run_dir, "connection.npz")
    fig, (ax_t, ax_s) = figure(1, 2, width="onehalf", aspect=0.9)
    ax_t.plot(d["time_s"], d["angle"], "o-")
    ax_t.set_xlabel("simulated time (s)")
    ax_t.set_ylabel("angle W vs B (deg)")
    ax_s.plot(d["W"].ravel(), d["B"].ravel(), ".", ms=3)
    ax_s.set_xlabel("W entry")
    ax_s.set_ylabel("estimated B entry")
    return save_figure(fig, _out(run_dir), "connection")


@styled
def draw_evolution_run(run_dir: Path) -> list[Path]:
    """``evolution.png``: every layer's W-B angle and correlation over epochs."""
    d = _load(run_dir, "evolution.npz")
    fig, (ax_a, ax_c) = figure(1, 2, width="onehalf", aspect=0.9)
    for layer in range(d["angle"].shape[1]):
        ax_a.plot(d["epoch"], d["angle"][:, layer], "o-", label=f"layer {layer}")
        ax_c.plot(d["epoch"], d["corr"][:, layer], "o-", label=f"layer {layer}")
    ax_a.set_ylabel("angle W vs B (deg)")
    ax_c.set_ylabel("correlation W, B")
    for ax in (ax_a, ax_c):
        ax.set_xlabel("epoch")
    ax_a.legend()
    return save_figure(fig, _out(run_dir), "evolution")


# --------------------------------------------------------------------------- sweeps
class _SweepSummary(NamedTuple):
    """What the sweep summary plots: the completed runs, up to six metrics, the x key and the line groups."""

    done: Any
    metrics: list[str]
    x_key: str | None
    groups: list[str]


def _varied_keys(sweep_dir: Path) -> list[str]:
    """The keys ``sweep.yaml`` varies (its grid, then its zip), none without the file."""
    import yaml

    spec_file = sweep_dir / "sweep.yaml"
    spec = (yaml.safe_load(spec_file.read_text()) if spec_file.is_file() else None) or {}
    return [*(spec.get("grid") or {}), *(spec.get("zip") or {})]


def _sweep_summary(sweep_dir: Path) -> _SweepSummary | None:
    """The completed runs of ``table.csv`` and how to plot them (``None`` when there is nothing to plot)."""
    import pandas as pd

    table = pd.read_csv(sweep_dir / "table.csv")
    done = table[table["status"] == "completed"]
    varied = _varied_keys(sweep_dir)
    skip = {"run_id", "status", "error", "seed", "wall_time_s", *varied}
    metrics = [c for c in done.columns if c not in skip and pd.api.types.is_numeric_dtype(done[c])][:6]
    if done.empty or not metrics:
        return None
    swept = [k for k in varied if k in done.columns]
    numeric = [k for k in swept if pd.api.types.is_numeric_dtype(done[k])]
    x_key: str | None = next(iter(numeric or swept), None)
    others = [k for k in swept if k != x_key]
    groups = [k for k in [*others, "seed"] if k in done.columns and done[k].nunique() > 1]
    return _SweepSummary(done, metrics, x_key, groups)


@styled
def draw_sweep_summary(sweep_dir: Path) -> list[Path]:
    """``<sweep>/figures/summary.png``: each numeric summary metric against the first swept key
    (one line per value of the other swept keys and per seed).

    The table is ``table.csv`` (one row per run: ``run_id``, ``status``, the swept keys, ``seed``
    and the summary metrics); the x key is the first numeric swept key (else the first swept key).
    """
    sweep_dir = Path(sweep_dir)
    summary = _sweep_summary(sweep_dir)
    if summary is None:
        return []
    done, metrics, x_key, groups = summary
    ncols = min(3, len(metrics))
    nrows = -(-len(metrics) // ncols)
    fig, grid = figure(nrows, ncols, width="double", aspect=0.7 * ncols / nrows / 3 * nrows)
    axes = np.atleast_1d(grid).ravel()
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    axes = axes[: len(metrics)]
    grouped = done.groupby(groups) if groups else [((), done)]
    for key, part in grouped:
        label = ", ".join(f"{g}={v}" for g, v in zip(groups, key if isinstance(key, tuple) else (key,), strict=True))
        part = part.sort_values(x_key) if x_key else part
        xs = part[x_key] if x_key else np.arange(len(part))
        for ax, metric in zip(axes, metrics, strict=True):
            ax.plot(xs, part[metric], "o-", label=label or None)
    for ax, metric in zip(axes, metrics, strict=True):
        ax.set_xlabel(x_key or "run")
        ax.set_ylabel(metric)
    if groups and len(done.groupby(groups)) <= 8:
        axes[0].legend(fontsize="small")
    return save_figure(fig, sweep_dir / "figures", "summary")
