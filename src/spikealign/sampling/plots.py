"""Figures of the sampling family: the per-run diagnostic figure and Figs. 4-5 (spec 5.6, 8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..figures import save_figure


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_run(rec: dict[str, np.ndarray], out_dir: Path, name: str = "ssn_run", title: str = "") -> list[Path]:
    """Six stacked panels: D_KL, asymmetry, weights vs target, biases vs target, W - W^T, final q vs p*."""
    plt = _plt()
    it = rec["iterations"]
    fig, ax = plt.subplots(6, 1, figsize=(7, 14), constrained_layout=True)
    dk = np.where(np.isfinite(rec["dkls"]), rec["dkls"], np.nan)
    ax[0].semilogy(it, dk, "k.-")
    ax[0].set_ylabel("D_KL(p* || q)")
    ax[0].set_title(title)
    ax[1].plot(it, rec["all_asym"], "k.-")
    ax[1].set_ylabel("Var(W - W^T)")
    W = rec["all_weights"]
    n = W.shape[-1]
    iu = np.triu_indices(n, k=1)
    for k, (i, j) in enumerate(zip(*iu, strict=True)):
        c = f"C{k % 10}"
        ax[2].plot(it, W[:, i, j], color=c, lw=0.8)
        ax[2].plot(it, W[:, j, i], color=c, lw=0.8, ls=":")
        ax[2].axhline(rec["W_target"][i, j], color=c, ls="--", lw=0.5)
    ax[2].set_ylabel("weights (dashed: target)")
    for i in range(n):
        ax[3].plot(it, rec["all_biases"][:, i], color=f"C{i}")
        ax[3].axhline(rec["b_target"][i], color=f"C{i}", ls="--", lw=0.5)
    ax[3].set_ylabel("biases")
    D = W - np.swapaxes(W, -1, -2)
    for i, j in zip(*iu, strict=True):
        ax[4].plot(it, D[:, i, j], lw=0.8)
    ax[4].set_ylabel("W - W^T")
    ax[4].set_xlabel("wake-sleep cycle")
    x = np.arange(rec["target_distr"].size)
    ax[5].bar(x - 0.2, rec["target_distr"], width=0.4, label="target p*")
    ax[5].bar(x + 0.2, rec["all_distr"][-1], width=0.4, label="sampled q (last)")
    ax[5].set_yscale("log")
    ax[5].set_xlabel("state")
    ax[5].legend()
    paths = save_figure(fig, out_dir, name)
    plt.close(fig)
    return list(paths) if paths else []


def quartiles(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """25 %, 50 %, 75 % quantiles ignoring NaN (inf counts as larger than any value)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (e.g. every D_KL infinite)
        q = np.nanquantile(np.asarray(values, dtype=float), [0.25, 0.5, 0.75], axis=axis)
    return q[0], q[1], q[2]


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
    plt = _plt()
    fig, ax = plt.subplots(2, 2, figsize=(16 / 2.54 * 1.6, 8 / 2.54 * 1.8), sharex="col", constrained_layout=True)
    colors = ["purple", "C1", "C2"]
    positive = np.zeros((2, 2), dtype=bool)  # does a panel have any finite positive value (else no log axis)?

    def note(row: int, col: int, x: np.ndarray) -> None:
        positive[row, col] |= bool(np.any(np.isfinite(x) & (x > 0)))

    for k, (label, c) in enumerate(curves.items()):
        for row, key in enumerate(("asym", "dkl")):
            vals = np.where(np.isfinite(c[key]), c[key], np.nan)
            lo, med, hi = quartiles(vals)
            note(row, 0, med)
            ax[row, 0].plot(c["x"], med, color=colors[k % 3], label=f"({k + 1}) {label}", ls="--" if log_asym else "-")
            ax[row, 0].fill_between(c["x"], lo, hi, color=colors[k % 3], alpha=0.25, lw=0)
    base = curves[baseline_label]
    for row, key in enumerate(("asym", "dkl")):
        lo, med, hi = quartiles(np.where(np.isfinite(base[key][:, -1]), base[key][:, -1], np.nan))
        ax[row, 1].axhline(med, color="purple", lw=1)
        ax[row, 1].axhspan(lo, hi, color="purple", alpha=0.2, lw=0)
        for cond, shift, col, lab in (("nosal", -dx, "C1", "without SAL"), ("sal", dx, "C2", "with SAL")):
            f = finals[cond]
            v = np.where(np.isfinite(f[key]), f[key], np.nan)
            lo, med, hi = quartiles(v, axis=1)
            note(row, 1, med)
            ax[row, 1].errorbar(f["levels"] + shift, med, yerr=[med - lo, hi - med], fmt="x", color=col, label=lab)
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
    ax[1, 0].set_xlabel("wake-sleep cycles")
    ax[1, 1].set_xlabel(noise_label)
    handles, labels = ax[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=3, fontsize=8)
    ax[0, 1].legend(fontsize=7)
    paths = save_figure(fig, out_dir, name)
    plt.close(fig)
    return list(paths) if paths else []
