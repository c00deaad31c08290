"""Fig. 2e: phase plane of the SAL flow with the spiking trajectories of Fig. 2d overlaid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...figures.style import COLORS, SEQUENTIAL, figure, save_figure, style
from ...registry import Check, FigureOutput
from ...sweep import SweepResult, SweepSpec
from .common import check, check_profile, completed_runs, spiking_spec, trajectories

SUMMARY_KEYS = ("max_offset", "deviation", "sign_agreement", "antisymmetry", "diag_max_abs_sal", "ratio_min",
                "ratio_max", "max_abs_sal")  # fmt: skip


def sweeps(profile: str) -> list[SweepSpec]:
    check_profile(profile)  # the 17 x 17 grid takes well under a second: both profiles use it
    base = {"psp": "rect", "t_ref": 15, "t_max": 30, "b_1": 0.0, "b_2": 0.0, "w_min": -2.0, "w_max": 2.0, "n_w": 17}
    return [SweepSpec(name="phase_plane", experiment="theory-phase-plane", base=base), spiking_spec("trajectories")]


def draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    pp = results["phase_plane"]
    _, run_id, summary = completed_runs(pp)[0]
    arr = pp.arrays(run_id, "phase_plane")
    tr = trajectories(results["trajectories"]) if "trajectories" in results else {}
    files = _draw(arr["w"], arr["sal"], tr, out_dir)
    numbers = {k: float(summary[k]) for k in SUMMARY_KEYS}
    return FigureOutput(files=files, numbers=numbers, checks=_checks(summary),
                        notes="trajectories (R = 25, b = (-0.5, -0.2)) overlay a field with R = 15, b = 0, "
                              "as in the paper (qualitative only)")  # fmt: skip


def _draw(w: np.ndarray, sal: np.ndarray, tr: dict, out_dir: Path) -> list[Path]:
    d12, d21 = sal[:, :, 0], sal[:, :, 1]
    mag = np.sqrt(d12**2 + d21**2)
    fig, ax = figure(width="single", aspect=0.85)
    with style():
        ax.set_aspect("equal")
        im = ax.contourf(w, w, mag / mag.max(), 15, alpha=0.9, cmap=SEQUENTIAL)
        fig.colorbar(im, ax=ax, ticks=[0.0, 0.5, 1.0], label="flow speed (rel.)", shrink=0.8)
        # arrays are indexed [W_12, W_21]: x = W_21 (column), y = W_12 (row)
        ax.quiver(w[::2], w[::2], d21[::2, ::2], d12[::2, ::2], pivot="mid", color="white")
        ax.contour(w, w, d12, [0.0], colors=COLORS["no_sal"])
        for frozen, marker in (("none", "o"), ("w_12", "s")):
            if frozen in tr:
                ww = tr[frozen]["w"]
                ax.plot(ww[:, 1], ww[:, 0], ls="--", color=COLORS["bp"], lw=0.8)
                ax.plot(ww[0, 1], ww[0, 0], marker=marker, color=COLORS["bp"], fillstyle="none")
        ax.set_xlabel("$W_{21}$")
        ax.set_ylabel("$W_{12}$")
    return save_figure(fig, out_dir, "ppd")


def _checks(summary: dict) -> list[Check]:
    return [
        check("the zero set of dW_12 is the diagonal", summary["max_offset"] < 1e-6,
              f"max |W_12* - W_21| = {summary['max_offset']:.1e}, deviation metric {summary['deviation']:.1e}"),
        check("SAL = 0 on the diagonal (rect PSP)", summary["diag_max_abs_sal"] < 1e-12,
              f"max |dW_12| on the diagonal = {summary['diag_max_abs_sal']:.1e}"),
        check("sign(dW_12) = sign(W_21 - W_12) at every off-diagonal grid point", summary["sign_agreement"] == 1.0,
              f"agreement {100 * summary['sign_agreement']:.1f}%"),
        check("dW_21 = -dW_12 (the flow is parallel to the anti-diagonal)", summary["antisymmetry"] < 1e-12,
              f"max |dW_12 + dW_21| = {summary['antisymmetry']:.1e}"),
        check("dW_12 / (W_21 - W_12) is positive and of the same order everywhere",
              summary["ratio_min"] > 0 and summary["ratio_max"] < 20 * summary["ratio_min"],
              f"range [{summary['ratio_min']:.3g}, {summary['ratio_max']:.3g}]"),
    ]  # fmt: skip
