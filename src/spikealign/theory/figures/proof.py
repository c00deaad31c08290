"""Proof sketch: the perturbation ``delta`` of the STDD and its running sum ``Delta >= 0``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...figures.style import COLORS, CYCLE, figure, panel_label, save_figure, style
from ...registry import Check, FigureOutput
from ...sweep import SweepResult, SweepSpec
from .common import TAU_REF, check, check_profile, find_run

EPS = 0.05
CASES = {"exc": 0.5, "inh": -0.5}  # equal weights before the perturbation W_12 += eps, W_21 -= eps
CASE_COLORS = {"exc": CYCLE[0], "inh": CYCLE[1]}
CASE_WORDS = {"exc": "excitatory", "inh": "inhibitory"}


def sweeps(profile: str) -> list[SweepSpec]:
    check_profile(profile)  # four STDDs at R = 40: both profiles are the paper's
    w12, w21 = [], []
    for w in CASES.values():
        w12 += [w, w + EPS]
        w21 += [w, w - EPS]
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


def sign_changes(x: np.ndarray, tol: float) -> list[int]:
    """Indices where ``x`` changes sign, ignoring entries with ``|x| <= tol``."""
    s = np.sign(np.where(np.abs(x) > tol, x, 0.0))
    idx = np.nonzero(s)[0]
    return [int(idx[i + 1]) for i in range(len(idx) - 1) if s[idx[i]] != s[idx[i + 1]]]


def draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    res = results["stdds"]
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    numbers: dict[str, float] = {}
    checks: list[Check] = []
    for case, w in CASES.items():
        cfg, rid0, s0 = find_run(res, w_12=w, w_21=w)
        _, rid1, s1 = find_run(res, w_12=w + EPS, w_21=w - EPS)
        m, r = int(cfg["t_max"]), int(cfg["t_ref"])
        p0, p1 = res.arrays(rid0, "stdd")["p"], res.arrays(rid1, "stdd")["p"]
        curves[case] = proof_curves(p0, p1, m)
        n, c = _case_checks(case, *curves[case], s0, s1, r)
        numbers.update(n)
        checks += c
    files = _draw(curves, r, out_dir)
    return FigureOutput(files=files, numbers=numbers, checks=checks)


def _draw(curves: dict[str, tuple[np.ndarray, np.ndarray]], r: int, out_dir: Path) -> list[Path]:
    fig, axes = figure(1, 2, width="onehalf", aspect=0.75)
    with style():
        for ax, k, ylabel, letter in zip(axes, (0, 1), ("perturbation $\\delta(L)$", "running sum $\\Delta(L)$"),
                                         "ab", strict=True):  # fmt: skip
            ax.axhline(0, color=COLORS["neutral"], lw=0.5)
            ax.axvline(r, color=COLORS["neutral"], lw=0.5, ls=":")
            for case, pair in curves.items():
                ax.plot(pair[k], color=CASE_COLORS[case], label=CASE_WORDS[case])
            ax.set_xticks([0, r], ["0", TAU_REF])
            ax.set_xlabel("lag $L$")
            ax.set_ylabel(ylabel)
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
            panel_label(ax, letter)
        axes[1].legend(loc="upper right")
    return save_figure(fig, out_dir, "proof_perturbation")


def _case_checks(case: str, delta: np.ndarray, big: np.ndarray, s0: dict, s1: dict, r: int):
    numbers = {
        f"{case}_sum_delta": float(delta.sum()),
        f"{case}_int_delta_trapz": float(big[-1] + 0.5 * (delta[-2] + delta[-1])),
        f"{case}_min_big_delta": float(big.min()),
        f"{case}_max_big_delta": float(big.max()),
        f"{case}_end_big_delta": float(big[-1]),
        f"{case}_dw_12_p0": float(s0["dw_12"]),
        f"{case}_dw_12_peps": float(s1["dw_12"]),
    }
    changes = sign_changes(delta, 1e-9 * float(np.max(np.abs(delta))))
    checks = [
        check(f"{case}: the plain sum of delta is zero (each half keeps mass 1/2)", abs(delta.sum()) < 1e-12,
              f"sum = {delta.sum():.1e}"),
        check(f"{case}: Delta(t) >= 0 throughout, no sign change", big.min() > -1e-12 * big.max(),
              f"min {big.min():.2e}, max {big.max():.2e}"),
        check(f"{case}: Delta returns to about 0 at the end", abs(big[-1]) < 0.05 * big.max(),
              f"Delta(end) = {big[-1]:.2e} ({100 * abs(big[-1]) / big.max():.1f}% of max)"),
        check(f"{case}: SAL(p_0) = 0 to round-off despite b_1 != b_2", abs(s0["dw_12"]) < 1e-12,
              f"dW_12 = {s0['dw_12']:.1e}"),
        check(f"{case}: SAL(p_eps) restores (dW_12 < 0 after W_12 += eps, W_21 -= eps)", s1["dw_12"] < 0,
              f"dW_12 = {s1['dw_12']:.3g}"),
    ]  # fmt: skip
    if case == "exc":
        checks.append(
            check(
                "exc: delta positive at short lags, negative later, one sign change before R",
                len(changes) == 1 and changes[0] < r and delta[1] > 0,
                f"sign changes at lags {changes}",
            )
        )
    else:
        checks.append(check("inh: delta positive up to just below R, negative from about R on",
                            len(changes) >= 1 and abs(changes[0] - r) <= 2 and delta[1] > 0,
                            f"sign changes at lags {changes}"))  # fmt: skip
    return numbers, checks
