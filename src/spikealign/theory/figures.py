"""Sweeps and drawing of the theory figures (fig2c, fig2d, fig2e, psp-shapes, proof).

Each ``*_sweeps(profile)`` names the runs a figure needs; each ``draw_*`` only reads their results,
draws PNG/SVG/PDF files and returns the key numbers together with the paper's qualitative
expectations, each marked met or not met from those numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..registry import Check, FigureOutput
from ..sweep import SweepResult, SweepSpec
from .kernels import exp_window, psp_kernel

# --------------------------------------------------------------------------- helpers


def _profile(profile: str) -> str:
    if profile not in ("quick", "paper"):
        raise UserError(f"unknown profile {profile!r} (allowed: quick, paper)")
    return profile


def _runs(result: SweepResult) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    """``(config, run_id, summary)`` of every completed run of a sweep."""
    table = result.completed()
    out = []
    for run_id in table["run_id"]:
        out.append((result.config(run_id), run_id, result.metrics(run_id).get("summary", {})))
    if not out:
        raise UserError(f"sweep {result.root.name} has no completed runs")
    return out


def _find(result: SweepResult, **match: Any) -> tuple[dict[str, Any], str, dict[str, Any]]:
    for cfg, run_id, summary in _runs(result):
        if all(np.isclose(cfg[k], v) if isinstance(v, float) else cfg[k] == v for k, v in match.items()):
            return cfg, run_id, summary
    raise UserError(f"sweep {result.root.name}: no completed run with {match}")


def _check(description: str, met: bool, detail: str) -> Check:
    return Check(description, bool(met), detail)


def _plt():
    from ..figures import plt

    return plt


# --------------------------------------------------------------------------- fig2c
FIG2C_CASES = {  # name: (w_12, w_21)
    "exc_asym": (0.8, 0.4),
    "exc_sym": (0.6, 0.6),
    "inh_asym": (-0.8, -0.4),
    "inh_sym": (-0.6, -0.6),
}


def fig2c_sweeps(profile: str) -> list[SweepSpec]:
    _profile(profile)  # both profiles are the paper's setting (four STDDs take well under a second)
    base = {"psp": "rect", "t_ref": 50, "t_max": 102, "b_1": -0.5, "b_2": -0.5, "fill_middle": "nan"}
    zipped = {"w_12": [c[0] for c in FIG2C_CASES.values()], "w_21": [c[1] for c in FIG2C_CASES.values()]}
    return [SweepSpec(name="stdds", experiment="theory-stdd", base=base, zip=zipped)]


def draw_fig2c(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    plt = _plt()
    from ..figures import save_figure

    res = results["stdds"]
    data = {}
    for name, (w12, w21) in FIG2C_CASES.items():
        cfg, run_id, summary = _find(res, w_12=w12, w_21=w21)
        arr = res.arrays(run_id, "stdd")
        data[name] = (arr["dt"], arr["p"], summary)
    r = int(cfg["t_ref"])
    fig, axes = plt.subplots(3, 1, figsize=(2.3, 3.5), sharex=False)
    for ax, kind in zip(axes[:2], ("exc", "inh"), strict=True):
        dt, p, _ = data[f"{kind}_asym"]
        left, right = dt < 0, dt > 0
        ax.fill_between(dt[right], p[right], color="purple", alpha=0.6, lw=0, label="causal")
        ax.fill_between(dt[left], p[left], color="tab:blue", alpha=0.6, lw=0, label="anti-causal")
        ax.plot(dt, p, color="k", lw=0.6, label=r"$w_{ji} \neq w_{ij}$")
        dts, ps, _ = data[f"{kind}_sym"]
        ax.plot(dts, ps, "k--", lw=0.8, label=r"$w_{ji} = w_{ij}$")
        ax.set_xticks([-r, 0, r], [r"$-\tau_\mathrm{ref}$", "0", r"$\tau_\mathrm{ref}$"])
        ax.set_yticks([])
        ax.set_xlim(dt[0], dt[-1])
        ax.set_ylabel("exc." if kind == "exc" else "inh.")
    axes[0].legend(fontsize=5, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    x = np.linspace(-2 * r, 2 * r, 801)
    axes[2].plot(x, exp_window(x, -1.0, 1.0, r, r), color="k")
    axes[2].axhline(0, color="gray", lw=0.5)
    axes[2].set_xticks([-2 * r, -r, 0, r, 2 * r])
    axes[2].set_xlabel(r"$\Delta t_{ji} = t_j - t_i$")
    axes[2].set_ylabel("window")
    fig.tight_layout()
    files = save_figure(fig, out_dir, "stdd")

    numbers: dict[str, float] = {}
    checks: list[Check] = []
    for name, (_, _, summary) in data.items():
        numbers[f"{name}_dw_12"] = float(summary["dw_12"])
    # excitatory asymmetric
    dt, p, s = data["exc_asym"]
    at = {int(t): v for t, v in zip(dt, p, strict=True)}
    inner = (np.abs(dt) >= 1) & (np.abs(dt) <= r - 1)
    m_right = float(np.sum(p[inner & (dt > 0)]))
    m_left = float(np.sum(p[inner & (dt < 0)]))
    peak = int(dt[np.nanargmax(p)])
    numbers.update(exc_asym_peak_dt=peak, exc_asym_inner_mass_right=m_right, exc_asym_inner_mass_left=m_left)
    checks += [
        _check("excitatory asymmetric STDD peaks at dt = +1", peak == 1, f"argmax at dt = {peak}"),
        _check("excitatory asymmetric: causal mass on lags 1..R-1 exceeds anti-causal mass", m_right > m_left,
               f"{m_right:.4f} vs {m_left:.4f}"),
        _check("excitatory asymmetric: both halves drop at |dt| = R", at[r] < at[r - 1] and at[-r] < at[-r + 1],
               f"p(R-1)={at[r - 1]:.4g}, p(R)={at[r]:.4g}, p(-R+1)={at[-r + 1]:.4g}, p(-R)={at[-r]:.4g}"),
        _check("SAL shrinks the larger excitatory weight (dW_12 < 0 at W_12 = 0.8 > W_21 = 0.4)", s["dw_12"] < 0,
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
            _check(f"{kind} symmetric STDD is flat on 1 <= |dt| <= R-1", spread < 1e-9, f"rel. spread {spread:.1e}"),
            _check(f"{kind} symmetric STDD has a {word} at |dt| = R", jump,
                   f"p(R-1)={at[r - 1]:.4g}, p(R)={at[r]:.4g}, p(R+1)={at[r + 1]:.4g}"),
            _check(f"{kind} symmetric: SAL = 0 to round-off", abs(s["dw_12"]) < 1e-12, f"dW_12 = {s['dw_12']:.1e}"),
        ]  # fmt: skip
    dt, p, s = data["inh_asym"]
    at = {int(t): v for t, v in zip(dt, p, strict=True)}
    peak = int(dt[np.nanargmax(p)])
    numbers["inh_asym_peak_dt"] = peak
    checks += [
        _check("inhibitory asymmetric STDD peaks at the rebound dt = +R", peak == r, f"argmax at dt = {peak}"),
        _check("inhibitory asymmetric: p(-1) > p(+1)", at[-1] > at[1], f"{at[-1]:.4g} vs {at[1]:.4g}"),
        _check("inhibitory asymmetric: rebound at -R lower than at +R", at[-r] < at[r], f"{at[-r]:.4g} vs {at[r]:.4g}"),
        _check("SAL raises the more negative weight (dW_12 > 0 at W_12 = -0.8 < W_21 = -0.4)", s["dw_12"] > 0,
               f"dW_12 = {s['dw_12']:.4g}"),
    ]  # fmt: skip
    return FigureOutput(files=files, numbers=numbers, checks=checks)


# --------------------------------------------------------------------------- fig2d
def _spiking_spec(name: str = "evolution") -> SweepSpec:
    base = {"w_12": 1.5, "w_21": 0.5, "b_1": -0.5, "b_2": -0.2, "t_ref": 25, "epoch_steps": 1500, "n_epochs": 1500,
            "lr": 0.03}  # fmt: skip
    return SweepSpec(name=name, experiment="theory-spiking-sal", base=base, grid={"frozen": ["none", "w_12"]},
                     seeds=[45])  # fmt: skip


def fig2d_sweeps(profile: str) -> list[SweepSpec]:
    _profile(profile)  # both profiles run the paper protocol (1500 epochs take about a second)
    return [_spiking_spec()]


def _trajectories(res: SweepResult) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for frozen in ("none", "w_12"):
        cfg, run_id, _ = _find(res, frozen=frozen)
        out[frozen] = {**res.arrays(run_id, "trajectory"), "config": cfg}
    return out


def _decay_time(time_s: np.ndarray, gap: np.ndarray) -> float:
    """First time at which |W_12 - W_21| falls below 1/e of its initial value."""
    below = np.nonzero(np.abs(gap) <= np.abs(gap[0]) / np.e)[0]
    return float(time_s[below[0]]) if below.size else float("inf")


def draw_fig2d(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    plt = _plt()
    from ..figures import save_figure

    tr = _trajectories(results["evolution"])
    both, one = tr["none"], tr["w_12"]
    t = both["time_s"]
    steps = slice(None, None, 10)
    fig, ax = plt.subplots(figsize=(3.2, 2.2))
    ax.plot(t[steps], both["w"][steps, 1], color="darkred", label="$W_{ji}$ (var)")
    ax.plot(t[steps], both["w"][steps, 0], color="red", ls="--", label="$W_{ij}$ (var)")
    ax.plot(one["time_s"][steps], one["w"][steps, 1], color="dimgray", label="$W_{ji}$ (var)")
    ax.plot(one["time_s"][steps], one["w"][steps, 0], color="darkgray", ls="--", label="$W_{ij}$ (fixed)")
    ax.set_xlabel("$t$ [s]")
    ax.set_ylabel("$W$")
    top = ax.secondary_xaxis("top", functions=(lambda x: x / 0.01, lambda x: x * 0.01))
    top.set_xlabel(r"$t$ [$\tau_\mathrm{ref}$]")
    fig.legend(loc="upper center", ncols=2, fontsize=5, frameon=False, bbox_to_anchor=(0.5, 1.15))
    fig.tight_layout()
    files = save_figure(fig, out_dir, "sal_evol")

    wb, wo = both["w"], one["w"]
    n_tail = max(1, len(wb) // 10)
    s0 = wb[0].sum()
    sum_drift = float(np.max(np.abs(wb.sum(1) - s0)))
    mean_target = s0 / 2
    tail_b = wb[-n_tail:].mean(0)
    tail_o = wo[-n_tail:, 1].mean()
    w_fix = float(wo[0, 0])
    tau_b = _decay_time(t, wb[:, 0] - wb[:, 1])
    tau_o = _decay_time(one["time_s"], wo[:, 0] - wo[:, 1])
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
        _check("both plastic: W_12 + W_21 is conserved", sum_drift < 1e-9, f"max |sum - {s0:g}| = {sum_drift:.1e}"),
        _check("both plastic: W_12 falls and W_21 rises", wb[-1, 0] < wb[0, 0] and wb[-1, 1] > wb[0, 1],
               f"W_12 {wb[0, 0]:g} -> {wb[-1, 0]:.3f}, W_21 {wb[0, 1]:g} -> {wb[-1, 1]:.3f}"),
        _check(f"both plastic: both weights end near the mean {mean_target:g} (within 0.05)",
               bool(np.all(np.abs(tail_b - mean_target) < 0.05)),
               f"mean of the last 10% of epochs: ({tail_b[0]:.3f}, {tail_b[1]:.3f})"),
        _check("one frozen: W_12 stays fixed", bool(np.all(wo[:, 0] == wo[0, 0])), f"W_12 = {wo[-1, 0]:g}"),
        # the spread of this tail mean across seeds is about 0.03 (16 seeds, here and with the reference)
        _check("one frozen: W_21 converges to the frozen W_12 (within 0.1, spiking noise)", abs(tail_o - w_fix) < 0.1,
               f"mean of the last 10% of epochs: {tail_o:.3f}"),
        _check("one frozen: the asymmetry decays more slowly (about half the rate)", tau_o > 1.3 * tau_b,
               f"1/e decay time {tau_o:.1f} s vs {tau_b:.1f} s"),
    ]  # fmt: skip
    return FigureOutput(files=files, numbers=numbers, checks=checks)


# --------------------------------------------------------------------------- fig2e
def fig2e_sweeps(profile: str) -> list[SweepSpec]:
    _profile(profile)  # the 17 x 17 grid takes well under a second: both profiles use it
    base = {"psp": "rect", "t_ref": 15, "t_max": 30, "b_1": 0.0, "b_2": 0.0, "w_min": -2.0, "w_max": 2.0, "n_w": 17}
    return [SweepSpec(name="phase_plane", experiment="theory-phase-plane", base=base), _spiking_spec("trajectories")]


def draw_fig2e(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    plt = _plt()
    from ..figures import save_figure

    pp = results["phase_plane"]
    _, run_id, summary = _runs(pp)[0]
    arr = pp.arrays(run_id, "phase_plane")
    w, sal = arr["w"], arr["sal"]
    d12, d21 = sal[:, :, 0], sal[:, :, 1]
    mag = np.sqrt(d12**2 + d21**2)
    fig, ax = plt.subplots(figsize=(2.5, 2.5))
    ax.set_aspect("equal")
    im = ax.contourf(w, w, mag / mag.max(), 15, alpha=0.9, cmap="GnBu")
    fig.colorbar(im, ax=ax, ticks=[0.0, 0.5, 1.0], label=r"$|\Delta W|$ (norm.)", shrink=0.8)
    # arrays are indexed [W_12, W_21]: x = W_21 (column), y = W_12 (row)
    ax.quiver(w[::2], w[::2], d21[::2, ::2], d12[::2, ::2], pivot="mid")
    ax.contour(w, w, d12, [0.0], colors="blue")
    tr = _trajectories(results["trajectories"]) if "trajectories" in results else {}
    for frozen, marker in (("none", "o"), ("w_12", "s")):
        if frozen in tr:
            ww = tr[frozen]["w"]
            ax.plot(ww[:, 1], ww[:, 0], ls="--", color="k", lw=0.8)
            ax.plot(ww[0, 1], ww[0, 0], marker=marker, color="k", fillstyle="none")
    ax.set_xlabel(r"$W_{ij}$ ($W_{21}$)")
    ax.set_ylabel(r"$W_{ji}$ ($W_{12}$)")
    files = save_figure(fig, out_dir, "ppd")

    numbers = {k: float(summary[k]) for k in ("max_offset", "deviation", "sign_agreement", "antisymmetry",
                                             "diag_max_abs_sal", "ratio_min", "ratio_max", "max_abs_sal")}  # fmt: skip
    checks = [
        _check("the zero set of dW_12 is the diagonal", summary["max_offset"] < 1e-6,
               f"max |W_12* - W_21| = {summary['max_offset']:.1e}, deviation metric {summary['deviation']:.1e}"),
        _check("SAL = 0 on the diagonal (rect PSP)", summary["diag_max_abs_sal"] < 1e-12,
               f"max |dW_12| on the diagonal = {summary['diag_max_abs_sal']:.1e}"),
        _check("sign(dW_12) = sign(W_21 - W_12) at every off-diagonal grid point", summary["sign_agreement"] == 1.0,
               f"agreement {100 * summary['sign_agreement']:.1f}%"),
        _check("dW_21 = -dW_12 (the flow is parallel to the anti-diagonal)", summary["antisymmetry"] < 1e-12,
               f"max |dW_12 + dW_21| = {summary['antisymmetry']:.1e}"),
        _check("dW_12 / (W_21 - W_12) is positive and of the same order everywhere",
               summary["ratio_min"] > 0 and summary["ratio_max"] < 20 * summary["ratio_min"],
               f"range [{summary['ratio_min']:.3g}, {summary['ratio_max']:.3g}]"),
    ]  # fmt: skip
    return FigureOutput(files=files, numbers=numbers, checks=checks,
                        notes="trajectories (R = 25, b = (-0.5, -0.2)) overlay a field with R = 15, b = 0, "
                              "as in the paper (qualitative only)")  # fmt: skip


# --------------------------------------------------------------------------- psp-shapes
PSP_SHAPES_CASES = {  # name: (psp, t_syn / t_ref in the phase planes, t_syn / t_ref in the STDD row)
    "rect": ("rect", 1.0, 1.0),
    "alpha_short": ("alpha", 1.0 / 3.0, 0.33),
    "alpha_long": ("alpha", 0.5, 0.5),
}
PSP_STDD_BIASES = [(-0.25, 0.75), (0.25, 0.25), (0.75, -0.25)]  # (b_1, b_2)


def _bias_range(profile: str) -> list[float]:
    return [-1.0, -0.5, 0.0, 0.5, 1.0] if profile == "quick" else [round(-1.0 + 0.25 * i, 2) for i in range(9)]


def psp_shapes_sweeps(profile: str) -> list[SweepSpec]:
    _profile(profile)
    specs = []
    biases = _bias_range(profile)
    for name, (psp, f_plane, f_stdd) in PSP_SHAPES_CASES.items():
        specs.append(SweepSpec(
            name=f"stdds-{name}", experiment="theory-stdd",
            base={"psp": psp, "t_ref": 30, "t_max": 60, "t_syn": 30 * f_stdd, "w_12": 1.0, "w_21": 1.0,
                  "fill_middle": "smooth"},
            zip={"b_1": [b[0] for b in PSP_STDD_BIASES], "b_2": [b[1] for b in PSP_STDD_BIASES]},
        ))  # fmt: skip
        specs.append(SweepSpec(
            name=f"planes-{name}", experiment="theory-phase-plane",
            base={"psp": psp, "t_ref": 10, "t_max": 20, "t_syn": 10 * f_plane, "w_min": -1.5, "w_max": 1.5,
                  "n_w": 10, "upscale": 100},
            grid={"b_1": biases, "b_2": biases},
        ))  # fmt: skip
    return specs


def draw_psp_shapes(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    plt = _plt()
    import matplotlib.colors as mcolors

    from ..figures import save_figure

    names = list(PSP_SHAPES_CASES)
    planes: dict[str, dict[tuple[float, float], tuple[dict, str, dict]]] = {}
    for name in names:
        planes[name] = {(round(c["b_1"], 6), round(c["b_2"], 6)): (c, rid, s) for c, rid, s in
                        _runs(results[f"planes-{name}"])}  # fmt: skip
    biases = sorted({b for key in planes["rect"] for b in key})
    nb = len(biases)
    dev = {name: np.full((nb, nb), np.nan) for name in names}  # [b_2 index, b_1 index]
    for name in names:
        for (b1, b2), (_, _, s) in planes[name].items():
            dev[name][biases.index(b2), biases.index(b1)] = s["deviation"]
    dev_max = max(float(np.nanmax(d)) for d in dev.values())

    fig = plt.figure(figsize=(14 / 2.54, 12 / 2.54))
    gs = fig.add_gridspec(4, 4, width_ratios=[1, 1, 1, 0.08], height_ratios=[0.6, 0.6, 1, 1], hspace=0.75, wspace=0.3)
    cmap_boa = plt.get_cmap("viridis")
    diffs = [2 * b for b in biases]  # b_2 - b_1 on the anti-diagonal b_1 = -b_2
    norm_boa = mcolors.Normalize(vmin=min(diffs), vmax=max(diffs))
    cmap_dev = plt.get_cmap("YlOrRd")
    norm_dev = mcolors.Normalize(vmin=0.0, vmax=dev_max)
    titles = {"rect": "rect PSP\n" + r"$\tau_\mathrm{syn}=\tau_\mathrm{ref}$",
              "alpha_short": r"$\alpha$-PSP (short)" + "\n" + r"$\tau_\mathrm{syn}=\tau_\mathrm{ref}/3$",
              "alpha_long": r"$\alpha$-PSP (long)" + "\n" + r"$\tau_\mathrm{syn}=\tau_\mathrm{ref}/2$"}  # fmt: skip
    numbers: dict[str, float] = {}
    stdd_sal: dict[str, dict[tuple[float, float], float]] = {}
    offsets: dict[str, dict[float, float]] = {}
    for col, name in enumerate(names):
        psp, f_plane, _ = PSP_SHAPES_CASES[name]
        # row 1: kernels (R = 10)
        ax = fig.add_subplot(gs[0, col])
        r = 10
        t = np.linspace(-2 * r / 10, 2 * r, 100)
        ax.plot(t, psp_kernel(psp, t, r, r * f_plane))
        ax.set_xticks([0, r], ["0", r"$\tau_\mathrm{ref}$"])
        ax.set_title(titles[name], fontsize=7)
        if col == 0:
            ax.set_ylabel(r"$\kappa(t)$")
        # row 2: STDDs at W = 1
        ax = fig.add_subplot(gs[1, col])
        stdd_sal[name] = {}
        for (b1, b2), color in zip(PSP_STDD_BIASES, cmap_boa(norm_boa([b2 - b1 for b1, b2 in PSP_STDD_BIASES])),
                                   strict=True):  # fmt: skip
            cfg, rid, s = _find(results[f"stdds-{name}"], b_1=b1, b_2=b2)
            arr = results[f"stdds-{name}"].arrays(rid, "stdd")
            ax.plot(arr["dt"], arr["p"], color=color, lw=0.8, label=f"$b_1$={b1}, $b_2$={b2}")
            stdd_sal[name][(b1, b2)] = float(s["dw_12"])
            numbers[f"{name}_stdd_dw_12_b{b1}_{b2}"] = float(s["dw_12"])
        rr = int(cfg["t_ref"])
        ax.set_xticks([-rr, 0, rr], [r"$-\tau_\mathrm{ref}$", "0", r"$\tau_\mathrm{ref}$"])
        ax.set_yticks([])
        if col == 0:
            ax.set_ylabel(r"$p(\Delta t)$")
        if col == 2:
            ax.legend(fontsize=4, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        # row 3: zero sets for b_1 = -b_2
        ax = fig.add_subplot(gs[2, col])
        offsets[name] = {}
        for b2 in biases:
            key = (round(-b2, 6), round(b2, 6))
            if key not in planes[name]:
                continue
            _, rid, s = planes[name][key]
            zeros = results[f"planes-{name}"].arrays(rid, "phase_plane")["zeros"]
            ax.plot(zeros[:, 0], zeros[:, 1], color=cmap_boa(norm_boa(2 * b2)), lw=0.8)
            offsets[name][2 * b2] = float(s["mean_offset_pos"])
        w = results[f"planes-{name}"].arrays(planes[name][next(iter(planes[name]))][1], "phase_plane")["w"]
        ax.plot(w, w, "k--", lw=0.6)
        ax.plot([1.0], [1.0], marker="o", color="red", fillstyle="none")
        ax.set_aspect("equal")
        ax.set_xlabel("$W_{21}$")
        if col == 0:
            ax.set_ylabel("$W_{12}$")
        # row 4: deviation over the bias grid
        ax = fig.add_subplot(gs[3, col])
        ax.contourf(biases, biases, dev[name], cmap=cmap_dev, norm=norm_dev)
        ax.scatter(biases, biases[::-1], edgecolors=cmap_boa(norm_boa([-2 * b for b in biases])), marker="s",
                   facecolors="none", linewidths=1.0, clip_on=False)  # fmt: skip
        ax.set_aspect("equal")
        ax.set_xlabel("$b_1$")
        if col == 0:
            ax.set_ylabel("$b_2$")
    cb = fig.colorbar(plt.cm.ScalarMappable(norm=norm_boa, cmap=cmap_boa), cax=fig.add_subplot(gs[2, 3]))
    cb.set_label("$b_2 - b_1$", fontsize=6)
    cb = fig.colorbar(plt.cm.ScalarMappable(norm=norm_dev, cmap=cmap_dev), cax=fig.add_subplot(gs[3, 3]))
    cb.set_label("av. rel. deviation", fontsize=6)
    files = save_figure(fig, out_dir, "psp_shapes")

    checks: list[Check] = []
    eq = {name: float(np.nanmax(np.abs(np.diag(dev[name])))) for name in names}
    corners = [(0, nb - 1), (nb - 1, 0)]  # (b_2 index, b_1 index): b_1 = 1, b_2 = -1 and b_1 = -1, b_2 = 1
    for name in names:
        numbers[f"{name}_max_deviation"] = float(np.nanmax(dev[name]))
        numbers[f"{name}_equal_bias_max_deviation"] = eq[name]
    a_short, a_long = float(np.nanmax(dev["alpha_short"])), float(np.nanmax(dev["alpha_long"]))
    rect_max = float(np.nanmax(dev["rect"]))
    checks.append(
        _check(
            "rect PSP: the attractor is the diagonal for all biases (deviation at interpolation level)",
            rect_max < 1e-2 * a_short,
            f"max deviation {rect_max:.1e} vs alpha short {a_short:.2e}",
        )
    )
    checks.append(
        _check(
            "equal biases: deviation 0 for every shape",
            max(eq.values()) < 1e-6,
            ", ".join(f"{k} {v:.1e}" for k, v in eq.items()),
        )
    )
    for name in ("alpha_short", "alpha_long"):
        d = dev[name]
        top = np.unravel_index(np.nanargmax(d), d.shape)
        checks.append(
            _check(
                f"{name}: deviation largest at a corner with maximal |b_1 - b_2|",
                top in corners,
                f"max {np.nanmax(d):.3g} at b_1 = {biases[top[1]]}, b_2 = {biases[top[0]]}",
            )
        )
        anti = [d[biases.index(b), biases.index(-b)] for b in biases if b > 0]
        checks.append(
            _check(
                f"{name}: deviation grows with |b_1 - b_2| along b_1 = -b_2",
                bool(np.all(np.diff(anti) > 0)),
                "values " + ", ".join(f"{v:.3g}" for v in anti),
            )
        )
    checks.append(
        _check(
            "alpha long deviates much more than alpha short (about 10x)",
            a_long > 3 * a_short,
            f"max {a_long:.3g} vs {a_short:.3g}",
        )
    )
    neg = [k for k in offsets["alpha_short"] if k < 0]
    pos = [k for k in offsets["alpha_short"] if k > 0]
    short_ok = all(offsets["alpha_short"][k] > 0 for k in neg) and all(offsets["alpha_short"][k] < 0 for k in pos)
    long_ok = all(offsets["alpha_long"][k] < 0 for k in neg) and all(offsets["alpha_long"][k] > 0 for k in pos)
    checks.append(
        _check(
            "alpha short bends above the diagonal for b_2 - b_1 < 0 and below for > 0 (mean "
            "W_12* - W_21 over W_21 > 0)",
            short_ok,
            ", ".join(f"{k:+g}: {v:+.3f}" for k, v in sorted(offsets["alpha_short"].items())),
        )
    )
    checks.append(
        _check(
            "alpha long bends the opposite way (far below the diagonal for b_2 - b_1 < 0)",
            long_ok,
            ", ".join(f"{k:+g}: {v:+.3f}" for k, v in sorted(offsets["alpha_long"].items())),
        )
    )
    lo, hi = PSP_STDD_BIASES[0], PSP_STDD_BIASES[2]
    rect_sal = max(abs(v) for v in stdd_sal["rect"].values())
    checks.append(
        _check("rect: SAL at W_12 = W_21 = 1 is zero to round-off", rect_sal < 1e-12, f"max |dW_12| {rect_sal:.1e}")
    )
    s, lg = stdd_sal["alpha_short"], stdd_sal["alpha_long"]
    checks.append(
        _check(
            "alpha short at W = 1: dW_12 < 0 for (b_1, b_2) = (-0.25, 0.75), > 0 for (0.75, -0.25)",
            s[lo] < 0 < s[hi],
            f"{s[lo]:.3g}, {s[hi]:.3g}",
        )
    )
    checks.append(_check("alpha long at W = 1: the reverse signs, larger magnitude",
                         lg[lo] > 0 > lg[hi] and abs(lg[lo]) > abs(s[lo]) and abs(lg[hi]) > abs(s[hi]),
                         f"{lg[lo]:.3g}, {lg[hi]:.3g}"))  # fmt: skip
    return FigureOutput(files=files, numbers=numbers, checks=checks)


# --------------------------------------------------------------------------- proof
PROOF_EPS = 0.05
PROOF_CASES = {"exc": 0.5, "inh": -0.5}


def proof_sweeps(profile: str) -> list[SweepSpec]:
    _profile(profile)  # four STDDs at R = 40: both profiles are the paper's
    w12, w21 = [], []
    for w in PROOF_CASES.values():
        w12 += [w, w + PROOF_EPS]
        w21 += [w, w - PROOF_EPS]
    base = {"psp": "rect", "t_ref": 40, "t_max": 80, "t_syn": 40, "b_1": 0.0, "b_2": 1.0, "fill_middle": "smooth"}
    return [SweepSpec(name="stdds", experiment="theory-stdd", base=base, zip={"w_12": w12, "w_21": w21})]


def proof_curves(p_0: np.ndarray, p_eps: np.ndarray, t_max: int) -> tuple[np.ndarray, np.ndarray]:
    """``delta(L)`` for ``L = 0..M-1`` and its running trapezoid sum ``Delta`` (length ``M - 1``).

    ``delta = (p_eps - p_0) - reversed(p_eps - p_0)`` kept for ``dt >= 0``;
    ``Delta[i-1] = trapz(delta[:i])`` for ``i = 1..M-1``.
    """
    from scipy.integrate import trapezoid

    diff = p_eps - p_0
    delta = (diff - diff[::-1])[t_max - 1 :]
    big = np.array([trapezoid(delta[:i]) for i in range(1, len(delta))])
    return delta, big


def _sign_changes(x: np.ndarray, tol: float) -> list[int]:
    s = np.sign(np.where(np.abs(x) > tol, x, 0.0))
    idx = np.nonzero(s)[0]
    return [int(idx[i + 1]) for i in range(len(idx) - 1) if s[idx[i]] != s[idx[i + 1]]]


def draw_proof(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    plt = _plt()
    from ..figures import save_figure

    res = results["stdds"]
    files: list[Path] = []
    numbers: dict[str, float] = {}
    checks: list[Check] = []
    for case, w in PROOF_CASES.items():
        cfg, rid0, s0 = _find(res, w_12=w, w_21=w)
        _, rid1, s1 = _find(res, w_12=w + PROOF_EPS, w_21=w - PROOF_EPS)
        m, r = int(cfg["t_max"]), int(cfg["t_ref"])
        p0, p1 = res.arrays(rid0, "stdd")["p"], res.arrays(rid1, "stdd")["p"]
        delta, big = proof_curves(p0, p1, m)
        for label, y, name in ((r"$\delta(t)$", delta, "delta"), (r"$\Delta(t)$", big, "big_delta")):
            fig, ax = plt.subplots(figsize=(2, 1.2))
            ax.plot(y)
            ax.axhline(0, color="gray", lw=0.5)
            ax.set_xticks([0, r], ["0", r"$\tau_\mathrm{ref}$"])
            ax.set_yticks([0])
            ax.set_ylabel(label)
            ax.set_xlabel("$t$")
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            fig.tight_layout()
            files += save_figure(fig, out_dir, f"proof_{name}_{case}")
        scale = float(np.max(np.abs(delta)))
        changes = _sign_changes(delta, 1e-9 * scale)
        numbers.update({
            f"{case}_sum_delta": float(delta.sum()),
            f"{case}_int_delta_trapz": float(big[-1] + 0.5 * (delta[-2] + delta[-1])),
            f"{case}_min_big_delta": float(big.min()),
            f"{case}_max_big_delta": float(big.max()),
            f"{case}_end_big_delta": float(big[-1]),
            f"{case}_dw_12_p0": float(s0["dw_12"]),
            f"{case}_dw_12_peps": float(s1["dw_12"]),
        })  # fmt: skip
        checks += [
            _check(f"{case}: the plain sum of delta is zero (each half keeps mass 1/2)", abs(delta.sum()) < 1e-12,
                   f"sum = {delta.sum():.1e}"),
            _check(f"{case}: Delta(t) >= 0 throughout, no sign change", big.min() > -1e-12 * big.max(),
                   f"min {big.min():.2e}, max {big.max():.2e}"),
            _check(f"{case}: Delta returns to about 0 at the end", abs(big[-1]) < 0.05 * big.max(),
                   f"Delta(end) = {big[-1]:.2e} ({100 * abs(big[-1]) / big.max():.1f}% of max)"),
            _check(f"{case}: SAL(p_0) = 0 to round-off despite b_1 != b_2", abs(s0["dw_12"]) < 1e-12,
                   f"dW_12 = {s0['dw_12']:.1e}"),
            _check(f"{case}: SAL(p_eps) restores (dW_12 < 0 after W_12 += eps, W_21 -= eps)", s1["dw_12"] < 0,
                   f"dW_12 = {s1['dw_12']:.3g}"),
        ]  # fmt: skip
        if case == "exc":
            checks.append(
                _check(
                    "exc: delta positive at short lags, negative later, one sign change before R",
                    len(changes) == 1 and changes[0] < r and delta[1] > 0,
                    f"sign changes at lags {changes}",
                )
            )
        else:
            checks.append(
                _check(
                    "inh: delta positive up to just below R, negative from about R on",
                    len(changes) >= 1 and abs(changes[0] - r) <= 2 and delta[1] > 0,
                    f"sign changes at lags {changes}",
                )
            )
    return FigureOutput(files=files, numbers=numbers, checks=checks)
