"""Fig. 2c: spike-timing-difference distributions of two neurons and the SAL window."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...figures.style import COLORS, figure, panel_label, save_figure, style
from ...registry import Check, FigureOutput
from ...spiking.stdp import exp_window
from ...sweep import SweepResult, SweepSpec
from .common import check, check_profile, find_run, lag_ticks

CASES = {  # name: (w_12, w_21)
    "exc_asym": (0.8, 0.4),
    "exc_sym": (0.6, 0.6),
    "inh_asym": (-0.8, -0.4),
    "inh_sym": (-0.6, -0.6),
}


def sweeps(profile: str) -> list[SweepSpec]:
    check_profile(profile)  # both profiles are the paper's setting (four STDDs take well under a second)
    base = {"psp": "rect", "t_ref": 50, "t_max": 102, "b_1": -0.5, "b_2": -0.5, "fill_middle": "nan"}
    zipped = {"w_12": [c[0] for c in CASES.values()], "w_21": [c[1] for c in CASES.values()]}
    return [SweepSpec(name="stdds", experiment="theory-stdd", base=base, zip=zipped)]


def draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    res = results["stdds"]
    data = {}
    for name, (w12, w21) in CASES.items():
        cfg, run_id, summary = find_run(res, w_12=w12, w_21=w21)
        arr = res.arrays(run_id, "stdd")
        data[name] = (arr["dt"], arr["p"], summary)
    r = int(cfg["t_ref"])
    files = _draw(data, r, out_dir)
    numbers, checks = _checks(data, r)
    return FigureOutput(files=files, numbers=numbers, checks=checks)


def _draw(data: dict, r: int, out_dir: Path) -> list[Path]:
    fig, axes = figure(3, 1, width="single", aspect=0.45)
    with style():
        for ax, kind, word in zip(axes[:2], ("exc", "inh"), ("excitatory", "inhibitory"), strict=True):
            dt, p, _ = data[f"{kind}_asym"]
            left, right = dt < 0, dt > 0
            ax.fill_between(dt[right], p[right], color=COLORS["no_sal"], alpha=0.5, lw=0, label="causal pairs")
            ax.fill_between(dt[left], p[left], color=COLORS["sal"], alpha=0.5, lw=0, label="anti-causal pairs")
            ax.plot(dt, p, color=COLORS["bp"], lw=0.7, label="unequal weights")
            dts, ps, _ = data[f"{kind}_sym"]
            ax.plot(dts, ps, color=COLORS["neutral"], ls=":", lw=1.0, label="equal weights")
            lag_ticks(ax, r)
            ax.set_yticks([])
            ax.set_xlim(dt[0], dt[-1])
            ax.set_ylabel(f"p(lag), {word}")
        axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        x = np.linspace(-2 * r, 2 * r, 801)
        axes[2].axhline(0, color=COLORS["neutral"], lw=0.5)
        axes[2].plot(x, exp_window(x, -1.0, 1.0, r, r), color=COLORS["sal"])
        lag_ticks(axes[2], r, double=True)
        axes[2].set_xlabel("lag $t_j - t_i$")
        axes[2].set_ylabel("SAL window")
        for ax, letter in zip(axes, "abc", strict=True):
            panel_label(ax, letter)
    return save_figure(fig, out_dir, "stdd_and_window")


def _checks(data: dict, r: int) -> tuple[dict[str, float], list[Check]]:
    numbers: dict[str, float] = {f"{name}_dw_12": float(s["dw_12"]) for name, (_, _, s) in data.items()}
    dt, p, s = data["exc_asym"]
    at = {int(t): v for t, v in zip(dt, p, strict=True)}
    inner = (np.abs(dt) >= 1) & (np.abs(dt) <= r - 1)
    m_right = float(np.sum(p[inner & (dt > 0)]))
    m_left = float(np.sum(p[inner & (dt < 0)]))
    peak = int(dt[np.nanargmax(p)])
    numbers.update(exc_asym_peak_dt=peak, exc_asym_inner_mass_right=m_right, exc_asym_inner_mass_left=m_left)
    checks = [
        check("excitatory asymmetric STDD peaks at dt = +1", peak == 1, f"argmax at dt = {peak}"),
        check("excitatory asymmetric: causal mass on lags 1..R-1 exceeds anti-causal mass", m_right > m_left,
              f"{m_right:.4f} vs {m_left:.4f}"),
        check("excitatory asymmetric: both halves drop at |dt| = R", at[r] < at[r - 1] and at[-r] < at[-r + 1],
              f"p(R-1)={at[r - 1]:.4g}, p(R)={at[r]:.4g}, p(-R+1)={at[-r + 1]:.4g}, p(-R)={at[-r]:.4g}"),
        check("SAL shrinks the larger excitatory weight (dW_12 < 0 at W_12 = 0.8 > W_21 = 0.4)", s["dw_12"] < 0,
              f"dW_12 = {s['dw_12']:.4g}"),
    ]  # fmt: skip
    # symmetric cases: flat, SAL = 0
    for kind, word in (("exc", "drop"), ("inh", "rebound peak")):
        dt, p, s = data[f"{kind}_sym"]
        at = {int(t): v for t, v in zip(dt, p, strict=True)}
        flat = p[inner]
        spread = float(np.ptp(flat) / np.mean(flat))
        numbers[f"{kind}_sym_flat_spread"] = spread
        jump = at[r] < at[r - 1] if kind == "exc" else (at[r] > at[r - 1] and at[r] > at[r + 1])
        checks += [
            check(f"{kind} symmetric STDD is flat on 1 <= |dt| <= R-1", spread < 1e-9, f"rel. spread {spread:.1e}"),
            check(f"{kind} symmetric STDD has a {word} at |dt| = R", jump,
                  f"p(R-1)={at[r - 1]:.4g}, p(R)={at[r]:.4g}, p(R+1)={at[r + 1]:.4g}"),
            check(f"{kind} symmetric: SAL = 0 to round-off", abs(s["dw_12"]) < 1e-12, f"dW_12 = {s['dw_12']:.1e}"),
        ]  # fmt: skip
    dt, p, s = data["inh_asym"]
    at = {int(t): v for t, v in zip(dt, p, strict=True)}
    peak = int(dt[np.nanargmax(p)])
    numbers["inh_asym_peak_dt"] = peak
    checks += [
        check("inhibitory asymmetric STDD peaks at the rebound dt = +R", peak == r, f"argmax at dt = {peak}"),
        check("inhibitory asymmetric: p(-1) > p(+1)", at[-1] > at[1], f"{at[-1]:.4g} vs {at[1]:.4g}"),
        check("inhibitory asymmetric: rebound at -R lower than at +R", at[-r] < at[r], f"{at[-r]:.4g} vs {at[r]:.4g}"),
        check("SAL raises the more negative weight (dW_12 > 0 at W_12 = -0.8 < W_21 = -0.4)", s["dw_12"] > 0,
              f"dW_12 = {s['dw_12']:.4g}"),
    ]  # fmt: skip
    return numbers, checks
