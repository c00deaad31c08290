"""Fig. 2d: SAL weight evolution of two spiking neurons, both weights plastic or one frozen."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...figures.style import COLORS, figure, panel_label, save_figure, style
from ...registry import Check, FigureOutput
from ...sweep import SweepResult, SweepSpec
from .common import check, check_profile, spiking_spec, trajectories

TAU_REF_S = 0.01  # the paper's time axis: one refractory time is 10 ms


def sweeps(profile: str) -> list[SweepSpec]:
    check_profile(profile)  # both profiles run the paper protocol (1500 epochs take about a second)
    return [spiking_spec()]


def decay_time(time_s: np.ndarray, gap: np.ndarray) -> float:
    """First time at which |W_12 - W_21| falls below 1/e of its initial value."""
    below = np.nonzero(np.abs(gap) <= np.abs(gap[0]) / np.e)[0]
    return float(time_s[below[0]]) if below.size else float("inf")


def draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    tr = trajectories(results["evolution"])
    files = _draw(tr["none"], tr["w_12"], out_dir)
    numbers, checks = _checks(tr["none"], tr["w_12"])
    return FigureOutput(files=files, numbers=numbers, checks=checks)


def _draw(both: dict, one: dict, out_dir: Path) -> list[Path]:
    fig, axes = figure(1, 2, width="onehalf", aspect=0.8, sharey=True)
    panels = (
        (both, "both weights plastic", "mean of the two", "upper right"),
        (one, "$W_{12}$ held fixed", "fixed $W_{12}$", "lower right"),
    )
    with style():
        for ax, (run, title, ref_label, where), letter in zip(axes, panels, "ab", strict=True):
            t, w = run["time_s"], run["w"]
            ref = w[0].sum() / 2 if run is both else w[0, 0]
            ax.axhline(ref, color=COLORS["neutral"], lw=0.6, ls=":", label=ref_label)
            ax.plot(t, w[:, 0], color=COLORS["no_sal"], label="$W_{12}$ (onto 1)")
            ax.plot(t, w[:, 1], color=COLORS["sal"], label="$W_{21}$ (onto 2)")
            ax.set_title(title, pad=16)  # above the top axis and its label
            ax.set_xlabel("time (s)")
            top = ax.secondary_xaxis("top", functions=(lambda x: x / TAU_REF_S, lambda x: x * TAU_REF_S))
            top.set_xlabel(r"time ($\tau_\mathrm{ref}$)")
            top.tick_params(labelsize=6)
            panel_label(ax, letter)
            ax.legend(loc=where)
        axes[0].set_ylabel("weight")
    return save_figure(fig, out_dir, "weight_evolution")


def _checks(both: dict, one: dict) -> tuple[dict[str, float], list[Check]]:
    wb, wo = both["w"], one["w"]
    t = both["time_s"]
    n_tail = max(1, len(wb) // 10)
    s0 = wb[0].sum()
    sum_drift = float(np.max(np.abs(wb.sum(1) - s0)))
    mean_target = s0 / 2
    tail_b = wb[-n_tail:].mean(0)
    tail_o = wo[-n_tail:, 1].mean()
    w_fix = float(wo[0, 0])
    tau_b = decay_time(t, wb[:, 0] - wb[:, 1])
    tau_o = decay_time(one["time_s"], wo[:, 0] - wo[:, 1])
    numbers = {
        "both_w_12_final": float(wb[-1, 0]),
        "both_w_21_final": float(wb[-1, 1]),
        "both_tail_mean_w_12": float(tail_b[0]),
        "both_tail_mean_w_21": float(tail_b[1]),
        "sum_drift": sum_drift,
        "frozen_w_21_final": float(wo[-1, 1]),
        "frozen_tail_mean_w_21": float(tail_o),
        "decay_time_both_s": tau_b,
        "decay_time_frozen_s": tau_o,
    }
    checks = [
        check("both plastic: W_12 + W_21 is conserved", sum_drift < 1e-9, f"max |sum - {s0:g}| = {sum_drift:.1e}"),
        check("both plastic: W_12 falls and W_21 rises", wb[-1, 0] < wb[0, 0] and wb[-1, 1] > wb[0, 1],
              f"W_12 {wb[0, 0]:g} -> {wb[-1, 0]:.3f}, W_21 {wb[0, 1]:g} -> {wb[-1, 1]:.3f}"),
        check(f"both plastic: both weights end near the mean {mean_target:g} (within 0.05)",
              bool(np.all(np.abs(tail_b - mean_target) < 0.05)),
              f"mean of the last 10% of epochs: ({tail_b[0]:.3f}, {tail_b[1]:.3f})"),
        check("one frozen: W_12 stays fixed", bool(np.all(wo[:, 0] == wo[0, 0])), f"W_12 = {wo[-1, 0]:g}"),
        # the spread of this tail mean across seeds is about 0.03 (16 seeds, here and with the reference)
        check("one frozen: W_21 converges to the frozen W_12 (within 0.1, spiking noise)", abs(tail_o - w_fix) < 0.1,
              f"mean of the last 10% of epochs: {tail_o:.3f}"),
        check("one frozen: the asymmetry decays more slowly (about half the rate)", tau_o > 1.3 * tau_b,
              f"1/e decay time {tau_o:.1f} s vs {tau_b:.1f} s"),
    ]  # fmt: skip
    return numbers, checks
