"""Figures of the estimator experiments: sweeps, checks and drawing; importing this module registers them.

``fig7``           SAL vs RDD vs STDWI on one 50x50 connection: W-B scatter per method, angle vs time.
``sal-evolution``  SAL's time evolution in [1600, 384, 192, 10].

Drawing only reads what the runs saved; :mod:`spikealign.deep.estimators.experiments` imports this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...figures.style import styled
from ...registry import Check, Figure, FigureOutput, register_figure
from ...sweep import SweepResult, SweepSpec
from ..metrics import alignment_metrics

# --------------------------------------------------------------------------- Fig. 7
FIG7_SECONDS = {"quick": 60.0, "paper": 100.0}
METHOD_STYLE = {"sal": ("SAL", "-"), "rdd": ("RDD", "--"), "stdwi": ("STDWI", "-.")}


def fig7_sweeps(profile: str) -> list[SweepSpec]:
    return [
        SweepSpec(
            name="connection",
            experiment="estimator-connection",
            base={"seconds": FIG7_SECONDS.get(profile, FIG7_SECONDS["quick"]), "seed": 0},
            grid={"method": ["sal", "rdd", "stdwi"]},
        )
    ]


def _square(ax, w, b) -> None:
    lim = 1.1 * max(np.abs(w).max(), np.abs(b).max())
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")


@styled
def fig7_draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    from ...figures import save_figure
    from ...figures.style import WIDTH, figure
    from ..methods import method_style

    res = results["connection"]
    table = res.completed()
    data = {}
    for _, row in table.iterrows():
        data[row["method"]] = (res.arrays(row["run_id"], "connection"), row)
    fig, axes = figure(2, 2, figsize=(WIDTH["onehalf"], WIDTH["onehalf"] * 0.9))
    numbers: dict[str, float] = {}
    checks: list[Check] = []
    for ax, method in zip(axes.flat[:3], ("sal", "rdd", "stdwi"), strict=True):
        label, _ = METHOD_STYLE[method]
        if method not in data:
            ax.set_title(f"{label}: missing")
            continue
        arr, _row = data[method]
        W, B = arr["W"], arr["B"]
        ax.scatter(W.ravel(), B.ravel(), s=6, alpha=0.2, color=method_style(method)["color"])
        _square(ax, W, B)
        ax.set_xlabel("W")
        ax.set_ylabel("B")
        ax.set_title(label)
    ax = axes.flat[3]
    for method, (arr, _row) in data.items():
        label, ls = METHOD_STYLE[method]
        # RDD's B changes only at its update times: draw it as steps
        ax.plot(
            arr["time_s"],
            arr["angle"],
            ls,
            label=label,
            color=method_style(method)["color"],
            drawstyle="steps-post" if method == "rdd" else "default",
        )
        m = alignment_metrics(arr["W"], arr["B"])
        numbers[f"{method}_initial_angle_deg"] = float(arr["angle"][0])
        numbers[f"{method}_final_angle_deg"] = m["angle"]
        numbers[f"{method}_slope"] = m["slope"]
        numbers[f"{method}_corr"] = m["corr"]
        checks.append(
            Check(
                f"{label} lowers the angle between W and B",
                bool(m["angle"] < arr["angle"][0] - 1.0),
                f"{arr['angle'][0]:.1f} deg -> {m['angle']:.1f} deg after {arr['time_s'][-1]:.0f} s",
            )
        )
    if "sal" in data:
        arr = data["sal"][0]
        secs = float(arr["time_s"][-1])
        final = numbers["sal_final_angle_deg"]
        checks.append(
            Check(
                "SAL brings the angle below 45 degrees (docs/deep.md, 'One connection'; 100 s in the paper profile)",
                bool(final < 45.0),
                f"{final:.1f} deg after {secs:.0f} s",
            )
        )
    ax.set_xlabel("t [s]")
    ax.set_ylabel("angle(W, B) [deg]")
    ax.legend(frameon=False)
    files = save_figure(fig, out_dir, "fig7")
    return FigureOutput(
        files=files,
        numbers=numbers,
        checks=checks,
        notes="RDD uses a cumulative update clock (the notebook's per-second clock never updates RDD's B).",
    )


register_figure(
    Figure(
        id="fig7",
        summary="SAL vs RDD vs STDWI on one 50x50 connection: W-B scatter and angle over 100 s",
        sweeps=fig7_sweeps,
        draw=fig7_draw,
    )
)

# --------------------------------------------------------------------------- SAL evolution
EVO_PROFILE = {"quick": {"n_epochs": 6}, "paper": {"n_epochs": 100}}


def evo_sweeps(profile: str) -> list[SweepSpec]:
    return [
        SweepSpec(
            name="evolution",
            experiment="sal-evolution",
            base={**EVO_PROFILE.get(profile, EVO_PROFILE["quick"]), "seed": 0},
        )
    ]


@styled
def evo_draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    from ...figures import save_figure
    from ...figures.style import WIDTH, figure

    res = results["evolution"]
    table = res.completed()
    fig, (a1, a2) = figure(1, 2, figsize=(WIDTH["double"], WIDTH["double"] * 0.4))
    numbers: dict[str, float] = {}
    checks: list[Check] = []
    if len(table):
        arr = res.arrays(table.iloc[0]["run_id"], "evolution")
        ep, ang, cor = arr["epoch"], arr["angle"], arr["corr"]
        for l in range(ang.shape[1]):
            a1.plot(ep, ang[:, l], label=f"layer {l}")
            a2.plot(ep, cor[:, l], label=f"layer {l}")
            numbers[f"initial_angle_{l}_deg"] = float(ang[0, l])
            numbers[f"final_angle_{l}_deg"] = float(ang[-1, l])
            numbers[f"final_corr_{l}"] = float(cor[-1, l])
            checks.append(
                Check(
                    f"SAL lowers the angle of feedback matrix {l}",
                    bool(ang[-1, l] < ang[0, l] - 0.5),
                    f"{ang[0, l]:.1f} -> {ang[-1, l]:.1f} deg over {int(ep[-1])} epochs",
                )
            )
    a1.set_xlabel("epoch")
    a1.set_ylabel("angle(W, B) [deg]")
    a2.set_xlabel("epoch")
    a2.set_ylabel("corr(W, B)")
    a1.legend(frameon=False)
    files = save_figure(fig, out_dir, "sal-evolution")
    return FigureOutput(files=files, numbers=numbers, checks=checks)


register_figure(
    Figure(
        id="sal-evolution",
        summary="SAL alone in [1600, 384, 192, 10]: angle and correlation per layer over epochs",
        sweeps=evo_sweeps,
        draw=evo_draw,
    )
)
