"""Drawing the ``dale`` figure's panels in spikealign's figure style (drawing only, no checks).

* :func:`draw_phase_plane`: the SAL field of the E->E synapses in effective-weight coordinates:
  colour = normalised length of (dW(e1<-e2), dW(e2<-e1)), arrows = its direction, the zero set of
  dW(e2<-e1) with its interpolated crossings, the effective (y = x) and raw (equal raw weights)
  diagonals, and the raw weights on the top and right axes.
* :func:`draw_rate_check`: e2's on-fraction in the E-I and in the direct circuit against the raw
  weight (bottom axis) and the effective weight (top axis).

See docs/sampling.md, "Dale's-law E/I system" for the quantities.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .measure import effective_axes, zero_crossings

#: colours by role (keys of spikealign.figures.style.COLORS)
ROLE = {"zero_set": "no_sal", "effective": "bp", "raw": "neutral", "ei": "sal", "direct": "green"}
ZERO_SET_LABEL = r"$\Delta W(e_2\!\leftarrow\!e_1) = 0$"
MAX_ARROWS = 12  # arrows per axis at most; larger grids show every other point


def _field(grid: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean dW(e1<-e2) (x component), dW(e2<-e1) (y component), and the length normalised to max 1."""
    d12 = grid["dw_e1_e2"].mean(axis=-1)
    d21 = grid["dw_e2_e1"].mean(axis=-1)
    length = np.hypot(d12, d21)
    top = float(length.max())
    return d12, d21, length / top if top > 0 else length


def _diagonals(ax, x: np.ndarray, y: np.ndarray, gap: float, colors: dict[str, str]) -> None:
    lo, hi = min(x[0], y[0]), max(x[-1], y[-1])
    ax.plot([lo, hi], [lo, hi], color=colors["effective"], lw=0.8, ls=(0, (4, 2)), label="equal effective weights")
    if abs(gap) > 1e-12:  # the two diagonals coincide for equal pathways
        raw = [lo + gap, hi + gap]
        ax.plot([lo, hi], raw, color=colors["raw"], lw=0.8, ls=(0, (1, 1.5)), label="equal raw weights")


def _raw_axes(ax, off21: float, off12: float) -> None:
    top = ax.secondary_xaxis("top", functions=(lambda v: v - off12, lambda v: v + off12))
    top.set_xlabel(r"raw $W(e_1\!\leftarrow\!e_2)$")
    right = ax.secondary_yaxis("right", functions=(lambda v: v - off21, lambda v: v + off21))
    right.set_ylabel(r"raw $W(e_2\!\leftarrow\!e_1)$")


def draw_phase_plane(grid: dict[str, np.ndarray], out_dir: Path, name: str, title: str) -> list[Path]:
    """One phase-plane panel of a ``dale-sal`` grid (see the module docstring); returns the files."""
    from ...figures.style import SEQUENTIAL, figure, method_color, save_figure, style

    colors = {role: method_color(key) for role, key in ROLE.items()}
    off21, off12 = (float(v) for v in grid["offsets"])
    x, y = effective_axes(grid)
    d12, d21, length = _field(grid)
    step = 1 if max(x.size, y.size) <= MAX_ARROWS else 2
    with style():
        fig, ax = figure(width="single", aspect=1.12)
        mesh = ax.pcolormesh(x, y, length, cmap=SEQUENTIAL, vmin=0.0, vmax=1.0, shading="nearest", rasterized=True)
        norm = np.where(length > 0, np.hypot(d12, d21), 1.0)
        ax.quiver(x[::step], y[::step], (d12 / norm)[::step, ::step], (d21 / norm)[::step, ::step], color="white",
                  angles="xy", pivot="middle", scale=1.6 / (step * float(x[1] - x[0])) if x.size > 1 else None,
                  scale_units="xy", width=0.006, headwidth=3.5)  # fmt: skip
        if np.nanmin(d21) < 0 < np.nanmax(d21):
            ax.contour(x, y, d21, [0.0], colors=[colors["zero_set"]], linewidths=1.4)
            pts = zero_crossings(x, y, d21)
            ax.plot(pts[:, 0], pts[:, 1], "o", ms=2.2, color=colors["zero_set"], label=ZERO_SET_LABEL)
        _diagonals(ax, x, y, off21 - off12, colors)
        ax.set(xlim=(x[0], x[-1]), ylim=(y[0], y[-1]), aspect="equal", title=title)
        ax.set_xlabel(r"effective $W(e_1\!\leftarrow\!e_2)$")
        ax.set_ylabel(r"effective $W(e_2\!\leftarrow\!e_1)$")
        _raw_axes(ax, off21, off12)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, handlelength=1.8, columnspacing=1.0)
        fig.colorbar(mesh, ax=ax, shrink=0.6, aspect=25, ticks=[0.0, 0.5, 1.0], label="SAL update size (normalised)")
        return save_figure(fig, out_dir, name)


def draw_rate_check(data: dict[str, np.ndarray], offset: float, out_dir: Path, name: str) -> list[Path]:
    """e2's on-fraction, E-I vs direct circuit (mean and standard error over replicas)."""
    from ...figures.style import figure, method_color, save_figure, style

    w = data["w_e2_e1"]
    ei, di = data["on_ei"], data["on_direct"]
    n = ei.shape[1]

    def sem(a: np.ndarray):
        return a.std(axis=1, ddof=1) / math.sqrt(n) if n > 1 else None

    with style():
        fig, ax = figure(width="single", aspect=0.62)
        ax.errorbar(w, ei.mean(1), yerr=sem(ei), ls="", marker="o", mfc="white", ms=5, capsize=1.5,
                    color=method_color(ROLE["ei"]), label="E-I circuit (raw weight)")  # fmt: skip
        ax.errorbar(w, di.mean(1), yerr=sem(di), ls="", marker="D", ms=2.5, capsize=1.5, zorder=3,
                    color=method_color(ROLE["direct"]), label="direct circuit (effective weight)")  # fmt: skip
        lo = min(0.36, float(min(ei.mean(1).min(), di.mean(1).min())) - 0.02)
        hi = max(0.64, float(max(ei.mean(1).max(), di.mean(1).max())) + 0.02)
        ax.set(xlim=(-0.2, 2.2), ylim=(lo, hi))
        ax.set_xlabel(r"raw $W(e_2\!\leftarrow\!e_1)$")
        ax.set_ylabel(r"on-fraction of $e_2$ ($r\,\tau_\mathrm{ref}$)")
        top = ax.secondary_xaxis("top", functions=(lambda v: v + offset, lambda v: v - offset))
        top.set_xlabel(r"effective $W(e_2\!\leftarrow\!e_1)$")
        ax.legend(loc="lower right")
        return save_figure(fig, out_dir, name)
