"""Figures of the sampling family: the per-run diagnostic figure and Figs. 4-5, in spikealign's style.

See docs/sampling.md, "Figures 4 and 5" for what the panels show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..figures.style import COLORS, CYCLE, figure, save_figure, style


def plot_run(rec: dict[str, np.ndarray], out_dir: Path, name: str = "ssn_run", title: str = "") -> list[Path]:
    """Six stacked panels: D_KL, asymmetry, weights vs target, biases vs target, W - W^T, final q vs p*."""
    with style():
        fig, ax = figure(6, 1, width="onehalf", aspect=0.3, sharex=False)
        _run_curves(ax, rec, title)
        x = np.arange(rec["target_distr"].size)
        ax[5].bar(x - 0.2, rec["target_distr"], width=0.4, color=COLORS["bp"], label="target p*")
        ax[5].bar(x + 0.2, rec["all_distr"][-1], width=0.4, color=COLORS["sal"], label="sampled q (last)")
        ax[5].set_yscale("log")
        ax[5].set_xlabel("state")
        ax[5].legend()
        return list(save_figure(fig, out_dir, name))


def _run_curves(ax, rec: dict[str, np.ndarray], title: str) -> None:
    it = rec["iterations"]
    dk = np.where(np.isfinite(rec["dkls"]), rec["dkls"], np.nan)
    ax[0].semilogy(it, dk, ".-", color=COLORS["bp"])
    ax[0].set_ylabel("D_KL(p* || q)")
    ax[0].set_title(title)
    ax[1].plot(it, rec["all_asym"], ".-", color=COLORS["bp"])
    ax[1].set_ylabel("Var(W - W^T)")
    W = rec["all_weights"]
    n = W.shape[-1]
    iu = np.triu_indices(n, k=1)
    for k, (i, j) in enumerate(zip(*iu, strict=True)):
        c = CYCLE[k % len(CYCLE)]
        ax[2].plot(it, W[:, i, j], color=c, lw=0.8)
        ax[2].plot(it, W[:, j, i], color=c, lw=0.8, ls=":")
        ax[2].axhline(rec["W_target"][i, j], color=c, ls="--", lw=0.5)
    ax[2].set_ylabel("weights (dashed: target)")
    for unit in range(n):
        c = CYCLE[unit % len(CYCLE)]
        ax[3].plot(it, rec["all_biases"][:, unit], color=c)
        ax[3].axhline(rec["b_target"][unit], color=c, ls="--", lw=0.5)
    ax[3].set_ylabel("biases")
    D = W - np.swapaxes(W, -1, -2)
    for k, (i, j) in enumerate(zip(*iu, strict=True)):
        ax[4].plot(it, D[:, i, j], lw=0.8, color=CYCLE[k % len(CYCLE)])
    ax[4].set_ylabel("W - W^T")
    ax[4].set_xlabel("wake-sleep cycle")


def quartiles(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """25 %, 50 %, 75 % quantiles ignoring NaN (inf counts as larger than any value)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (e.g. every D_KL infinite)
        q = np.nanquantile(np.asarray(values, dtype=float), [0.25, 0.5, 0.75], axis=axis)
    return q[0], q[1], q[2]


#: colours of the three time courses (baseline, without SAL, with SAL) and of the two conditions
CURVE_COLORS = (COLORS["bp"], COLORS["no_sal"], COLORS["sal"])
CONDITIONS = (("nosal", "without SAL", COLORS["no_sal"], -1), ("sal", "with SAL", COLORS["sal"], +1))


def plot_noise_figure(
    curves: dict[str, dict[str, np.ndarray]],
    finals: dict[str, dict[str, np.ndarray]],
    baseline_label: str,
    noise_label: str,
    out_dir: Path,
    name: str,
    log_asym: bool,
    dx: float,
) -> list[Path]:
    """2 x 2 layout of Figs. 4/5: left time courses (median, IQR band), right final value vs noise.

    ``curves[label]`` has ``x`` (cycles), ``asym`` and ``dkl`` (runs, records); ``finals[cond]`` has
    ``levels`` and per-level arrays ``asym``/``dkl`` (levels, runs); cond in {"sal", "nosal"};
    the baseline curve is ``curves[baseline_label]``.
    """
    with style():
        fig, ax = figure(2, 2, width="double", aspect=0.55, sharex="col")
        positive = np.zeros((2, 2), dtype=bool)  # does a panel have any finite positive value (else no log axis)?
        _time_courses(ax[:, 0], curves, log_asym, positive[:, 0])
        _final_values(ax[:, 1], curves[baseline_label], finals, dx, positive[:, 1])
        _noise_axes(ax, positive, log_asym)
        ax[1, 0].set_xlabel("wake-sleep cycles")
        ax[1, 1].set_xlabel(noise_label)
        handles, labels = ax[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper center", ncol=3)
        ax[0, 1].legend()
        return list(save_figure(fig, out_dir, name))


def _finite(v: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(v), v, np.nan)


def _any_positive(x: np.ndarray) -> bool:
    return bool(np.any(np.isfinite(x) & (x > 0)))


def _time_courses(col, curves: dict[str, dict[str, np.ndarray]], log_asym: bool, positive: np.ndarray) -> None:
    """Median and interquartile band over runs of each curve, asymmetry (top) and D_KL (bottom)."""
    for k, (label, c) in enumerate(curves.items()):
        color = CURVE_COLORS[k % len(CURVE_COLORS)]
        for row, key in enumerate(("asym", "dkl")):
            lo, med, hi = quartiles(_finite(c[key]))
            positive[row] |= _any_positive(med)
            col[row].plot(c["x"], med, color=color, label=f"({k + 1}) {label}", ls="--" if log_asym else "-")
            col[row].fill_between(c["x"], lo, hi, color=color, alpha=0.2, lw=0)


def _final_values(col, base, finals: dict[str, dict[str, np.ndarray]], dx: float, positive: np.ndarray) -> None:
    """Final values vs noise level per condition (median, IQR bars), over the noise-free baseline band."""
    for row, key in enumerate(("asym", "dkl")):
        lo, med, hi = quartiles(_finite(base[key][:, -1]))
        col[row].axhline(med, color=CURVE_COLORS[0], lw=0.8)
        col[row].axhspan(lo, hi, color=CURVE_COLORS[0], alpha=0.12, lw=0)
        for cond, label, color, side in CONDITIONS:
            f = finals[cond]
            lo, med, hi = quartiles(_finite(f[key]), axis=1)
            positive[row] |= _any_positive(med)
            col[row].errorbar(f["levels"] + side * dx, med, yerr=[med - lo, hi - med], fmt="o", ms=3, capsize=1.5,
                              color=color, label=label)  # fmt: skip


def _noise_axes(ax, positive: np.ndarray, log_asym: bool) -> None:
    for col, a in enumerate(ax[0]):
        if log_asym and positive[0, col]:
            a.set_yscale("log")
        elif not log_asym:
            a.set_yscale("symlog", linthresh=1e-4)
            a.set_ylim(-5e-5, 3)
        a.set_ylabel("Var(W - W^T)")
    for col, a in enumerate(ax[1]):
        if positive[1, col]:
            a.set_yscale("log")
        else:
            a.text(0.5, 0.5, "no finite D_KL (some states never sampled)", transform=a.transAxes, ha="center")
        a.set_ylabel("D_KL(p* || q)")
