"""PSP-shape figure: SAL with rect and alpha PSPs (kernels, STDDs, zero sets, deviation over biases)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...figures.style import COLORS, CYCLE, SEQUENTIAL, figure, panel_label, save_figure, style
from ...registry import Check, FigureOutput
from ...sweep import SweepResult, SweepSpec
from ..kernels import psp_kernel
from .common import TAU_REF, check, check_profile, completed_runs, find_run, lag_ticks

CASES = {  # name: (psp, t_syn / t_ref in the phase planes, t_syn / t_ref in the STDD row)
    "rect": ("rect", 1.0, 1.0),
    "alpha_short": ("alpha", 1.0 / 3.0, 0.33),
    "alpha_long": ("alpha", 0.5, 0.5),
}
TITLES = {
    "rect": "rectangular, " + r"$\tau_\mathrm{syn}=\tau_\mathrm{ref}$",
    "alpha_short": "alpha, " + r"$\tau_\mathrm{syn}=\tau_\mathrm{ref}/3$",
    "alpha_long": "alpha, " + r"$\tau_\mathrm{syn}=\tau_\mathrm{ref}/2$",
}
BIAS_DIFF_CMAP = "plasma"  # b_2 - b_1 (no white middle: the equal-bias curve must stay visible)
STDD_BIASES = [(-0.25, 0.75), (0.25, 0.25), (0.75, -0.25)]  # (b_1, b_2)


def bias_range(profile: str) -> list[float]:
    """The bias values of both axes of the deviation maps."""
    return [-1.0, -0.5, 0.0, 0.5, 1.0] if profile == "quick" else [round(-1.0 + 0.25 * i, 2) for i in range(9)]


def sweeps(profile: str) -> list[SweepSpec]:
    check_profile(profile)
    specs = []
    biases = bias_range(profile)
    for name, (psp, f_plane, f_stdd) in CASES.items():
        specs.append(SweepSpec(
            name=f"stdds-{name}", experiment="theory-stdd",
            base={"psp": psp, "t_ref": 30, "t_max": 60, "t_syn": 30 * f_stdd, "w_12": 1.0, "w_21": 1.0,
                  "fill_middle": "smooth"},
            zip={"b_1": [b[0] for b in STDD_BIASES], "b_2": [b[1] for b in STDD_BIASES]},
        ))  # fmt: skip
        specs.append(SweepSpec(
            name=f"planes-{name}", experiment="theory-phase-plane",
            base={"psp": psp, "t_ref": 10, "t_max": 20, "t_syn": 10 * f_plane, "w_min": -1.5, "w_max": 1.5,
                  "n_w": 10, "upscale": 100},
            grid={"b_1": biases, "b_2": biases},
        ))  # fmt: skip
    return specs


def _collect(results: dict[str, SweepResult]) -> dict[str, Any]:
    """Everything the figure shows, read from the sweeps (STDD curves, zero sets, deviation maps)."""
    planes = {}
    for name in CASES:
        planes[name] = {(round(c["b_1"], 6), round(c["b_2"], 6)): (c, rid, s) for c, rid, s in
                        completed_runs(results[f"planes-{name}"])}  # fmt: skip
    biases = sorted({b for key in planes["rect"] for b in key})
    nb = len(biases)
    d: dict[str, Any] = {"biases": biases, "dev": {}, "stdd": {}, "stdd_sal": {}, "zeros": {}, "offsets": {}, "w": {}}
    for name in CASES:
        dev = np.full((nb, nb), np.nan)  # [b_2 index, b_1 index]
        for (b1, b2), (_, _, s) in planes[name].items():
            dev[biases.index(b2), biases.index(b1)] = s["deviation"]
        d["dev"][name] = dev
        res = results[f"stdds-{name}"]
        d["stdd"][name], d["stdd_sal"][name] = {}, {}
        for b1, b2 in STDD_BIASES:
            cfg, rid, s = find_run(res, b_1=b1, b_2=b2)
            arr = res.arrays(rid, "stdd")
            d["stdd"][name][(b1, b2)] = (arr["dt"], arr["p"])
            d["stdd_sal"][name][(b1, b2)] = float(s["dw_12"])
        d["stdd_t_ref"] = int(cfg["t_ref"])
        d["zeros"][name], d["offsets"][name] = {}, {}
        for b2 in biases:  # zero sets along the anti-diagonal b_1 = -b_2
            key = (round(-b2, 6), round(b2, 6))
            if key in planes[name]:
                _, rid, s = planes[name][key]
                d["zeros"][name][2 * b2] = results[f"planes-{name}"].arrays(rid, "phase_plane")["zeros"]
                d["offsets"][name][2 * b2] = float(s["mean_offset_pos"])
        first = planes[name][next(iter(planes[name]))][1]
        d["w"][name] = results[f"planes-{name}"].arrays(first, "phase_plane")["w"]
    return d


def draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    d = _collect(results)
    files = _draw(d, out_dir)
    numbers, checks = _checks(d)
    return FigureOutput(files=files, numbers=numbers, checks=checks)


def _draw(d: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib
    import matplotlib.colors as mcolors
    from matplotlib import cm

    biases = d["biases"]
    diff_norm = mcolors.Normalize(vmin=-2 * max(biases), vmax=2 * max(biases))
    diff_cmap = matplotlib.colormaps[BIAS_DIFF_CMAP]
    dev_norm = mcolors.Normalize(vmin=0.0, vmax=max(float(np.nanmax(v)) for v in d["dev"].values()))
    fig, axes = figure(4, 3, width="double", aspect=0.62, gridspec_kw={"height_ratios": [0.55, 0.7, 1, 1]})
    with style():
        for col, name in enumerate(CASES):
            _kernel_panel(axes[0, col], name)
            _stdd_panel(axes[1, col], d, name)
            _zero_set_panel(axes[2, col], d, name, diff_cmap, diff_norm)
            _deviation_panel(axes[3, col], d, name, dev_norm, diff_cmap, diff_norm)
            axes[0, col].set_title(TITLES[name])
        for row, (letter, ylabel) in enumerate(zip("abcd", ("PSP $\\kappa(t)$", "p(lag) at $W=1$", "$W_{12}$",
                                                                "$b_2$"), strict=True)):  # fmt: skip
            axes[row, 0].set_ylabel(ylabel)
            panel_label(axes[row, 0], letter)
        # inside the rectangular-PSP panel, below its plateau: a legend outside the grid would push the
        # colour bars of rows c and d away from their panels
        axes[1, 0].legend(loc="lower center", title="$(b_1, b_2)$", fontsize="x-small", title_fontsize="x-small")
        fig.colorbar(cm.ScalarMappable(norm=diff_norm, cmap=diff_cmap), ax=axes[2, :], label="$b_2 - b_1$",
                     shrink=0.9, pad=0.01)  # fmt: skip
        fig.colorbar(cm.ScalarMappable(norm=dev_norm, cmap=SEQUENTIAL), ax=axes[3, :],
                     label="mean rel. distance\nof the zero set", shrink=0.9, pad=0.01)  # fmt: skip
    return save_figure(fig, out_dir, "psp_shape_comparison")


def _kernel_panel(ax, name: str) -> None:
    psp, f_plane, _ = CASES[name]
    r = 10
    t = np.linspace(-2 * r / 10, 2 * r, 100)
    ax.fill_between(t, psp_kernel(psp, t, r, r * f_plane), color=COLORS["sal"], alpha=0.3, lw=0)
    ax.plot(t, psp_kernel(psp, t, r, r * f_plane), color=COLORS["sal"])
    ax.set_xticks([0, r], ["0", TAU_REF])


def _stdd_panel(ax, d: dict[str, Any], name: str) -> None:
    for (b1, b2), color in zip(STDD_BIASES, (CYCLE[0], COLORS["neutral"], CYCLE[1]), strict=True):
        dt, p = d["stdd"][name][(b1, b2)]
        ax.plot(dt, p, color=color, lw=0.9, label=f"({b1:g}, {b2:g})")
    lag_ticks(ax, d["stdd_t_ref"])
    ax.set_yticks([])


def _zero_set_panel(ax, d: dict[str, Any], name: str, cmap, norm) -> None:
    w = d["w"][name]
    ax.plot(w, w, color=COLORS["neutral"], lw=0.6, ls=":")
    for diff, zeros in d["zeros"][name].items():
        ax.plot(zeros[:, 0], zeros[:, 1], color=cmap(norm(diff)), lw=0.9)
    ax.plot([1.0], [1.0], marker="o", color=COLORS["bp"], fillstyle="none")
    ax.set_aspect("equal")
    ax.set_xlabel("$W_{21}$")


def _deviation_panel(ax, d: dict[str, Any], name: str, norm, diff_cmap, diff_norm) -> None:
    biases = d["biases"]
    ax.contourf(biases, biases, d["dev"][name], cmap=SEQUENTIAL, norm=norm)
    # the anti-diagonal b_1 = -b_2 of the zero-set row, coloured by b_2 - b_1
    ax.scatter(biases, biases[::-1], c=[diff_cmap(diff_norm(-2 * b)) for b in biases], marker="o", s=12,
               edgecolors=COLORS["bp"], linewidths=0.5, clip_on=False, zorder=3)  # fmt: skip
    ax.set_aspect("equal")
    ax.set_xlabel("$b_1$")


def _checks(d: dict[str, Any]) -> tuple[dict[str, float], list[Check]]:
    dev, biases, names = d["dev"], d["biases"], list(CASES)
    nb = len(biases)
    numbers: dict[str, float] = {}
    for name in names:
        for (b1, b2), v in d["stdd_sal"][name].items():
            numbers[f"{name}_stdd_dw_12_b{b1}_{b2}"] = v
    eq = {name: float(np.nanmax(np.abs(np.diag(dev[name])))) for name in names}
    corners = [(0, nb - 1), (nb - 1, 0)]  # (b_2 index, b_1 index): b_1 = 1, b_2 = -1 and b_1 = -1, b_2 = 1
    for name in names:
        numbers[f"{name}_max_deviation"] = float(np.nanmax(dev[name]))
        numbers[f"{name}_equal_bias_max_deviation"] = eq[name]
    a_short, a_long = float(np.nanmax(dev["alpha_short"])), float(np.nanmax(dev["alpha_long"]))
    rect_max = float(np.nanmax(dev["rect"]))
    checks = [
        check("rect PSP: the attractor is the diagonal for all biases (deviation at interpolation level)",
              rect_max < 1e-2 * a_short, f"max deviation {rect_max:.1e} vs alpha short {a_short:.2e}"),
        check("equal biases: deviation 0 for every shape", max(eq.values()) < 1e-6,
              ", ".join(f"{k} {v:.1e}" for k, v in eq.items())),
    ]  # fmt: skip
    for name in ("alpha_short", "alpha_long"):
        dn = dev[name]
        top = np.unravel_index(np.nanargmax(dn), dn.shape)
        anti = [dn[biases.index(b), biases.index(-b)] for b in biases if b > 0]
        checks += [
            check(f"{name}: deviation largest at a corner with maximal |b_1 - b_2|", top in corners,
                  f"max {np.nanmax(dn):.3g} at b_1 = {biases[top[1]]}, b_2 = {biases[top[0]]}"),
            check(f"{name}: deviation grows with |b_1 - b_2| along b_1 = -b_2", bool(np.all(np.diff(anti) > 0)),
                  "values " + ", ".join(f"{v:.3g}" for v in anti)),
        ]  # fmt: skip
    checks.append(check("alpha long deviates much more than alpha short (about 10x)", a_long > 3 * a_short,
                        f"max {a_long:.3g} vs {a_short:.3g}"))  # fmt: skip
    return numbers, checks + _bend_checks(d["offsets"]) + _stdd_checks(d["stdd_sal"])


def _bend_checks(offsets: dict[str, dict[float, float]]) -> list[Check]:
    short, long_ = offsets["alpha_short"], offsets["alpha_long"]
    neg, pos = [k for k in short if k < 0], [k for k in short if k > 0]
    short_ok = all(short[k] > 0 for k in neg) and all(short[k] < 0 for k in pos)
    long_ok = all(long_[k] < 0 for k in neg) and all(long_[k] > 0 for k in pos)
    return [
        check("alpha short bends above the diagonal for b_2 - b_1 < 0 and below for > 0 (mean "
              "W_12* - W_21 over W_21 > 0)", short_ok,
              ", ".join(f"{k:+g}: {v:+.3f}" for k, v in sorted(short.items()))),
        check("alpha long bends the opposite way (far below the diagonal for b_2 - b_1 < 0)", long_ok,
              ", ".join(f"{k:+g}: {v:+.3f}" for k, v in sorted(long_.items()))),
    ]  # fmt: skip


def _stdd_checks(stdd_sal: dict[str, dict[tuple[float, float], float]]) -> list[Check]:
    lo, hi = STDD_BIASES[0], STDD_BIASES[2]
    rect_sal = max(abs(v) for v in stdd_sal["rect"].values())
    s, lg = stdd_sal["alpha_short"], stdd_sal["alpha_long"]
    return [
        check("rect: SAL at W_12 = W_21 = 1 is zero to round-off", rect_sal < 1e-12, f"max |dW_12| {rect_sal:.1e}"),
        check("alpha short at W = 1: dW_12 < 0 for (b_1, b_2) = (-0.25, 0.75), > 0 for (0.75, -0.25)",
              s[lo] < 0 < s[hi], f"{s[lo]:.3g}, {s[hi]:.3g}"),
        check("alpha long at W = 1: the reverse signs, larger magnitude",
              lg[lo] > 0 > lg[hi] and abs(lg[lo]) > abs(s[lo]) and abs(lg[hi]) > abs(s[hi]),
              f"{lg[lo]:.3g}, {lg[hi]:.3g}"),
    ]  # fmt: skip
