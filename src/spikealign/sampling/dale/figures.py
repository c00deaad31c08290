"""The ``dale`` figure: its sweeps per profile, loading their results, checks, and registration.

Three panels (drawn by :mod:`.panels`): the SAL phase plane of the noisy circuit (the paper's
panel), the same for the noise-free circuit, and the effective-weight rate check.  See
docs/sampling.md, "Dale's-law E/I system" for the grid, the profiles and the checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import UserError
from ...registry import Check, Figure, FigureOutput, register_figure
from .measure import zero_set_distances
from .panels import draw_phase_plane, draw_rate_check

#: file names of the three panels
PANELS = {"noisy": "dale_phase_plane_noisy", "noise_free": "dale_phase_plane_noise_free", "rate": "dale_rate_check"}


@dataclass(frozen=True)
class DaleProfile:
    """Sizes of the ``dale`` figure's sweeps."""

    n_grid: int  # grid values G = 0, step, ..., (n_grid - 1) step for both raw E->E weights
    step: float
    rows_per_run: int  # grid rows (values of W(e2<-e1)) per run
    n_steps: int
    rate_steps: int
    rate_replicas: int
    rate_weights: tuple[float, ...] = tuple(0.25 * k for k in range(9))


PROFILES: dict[str, DaleProfile] = {
    # the paper: 21 x 21 grid of 2e6 steps, rate check 5e5 steps (replicas add error bars)
    "paper": DaleProfile(n_grid=21, step=0.1, rows_per_run=3, n_steps=2_000_000, rate_steps=500_000, rate_replicas=8),
    "quick": DaleProfile(n_grid=11, step=0.2, rows_per_run=4, n_steps=500_000, rate_steps=200_000, rate_replicas=4),
}


def grid_values(n: int, step: float) -> list[float]:
    """G = [0, step, ..., (n-1) step], rounded to 10 decimals (stable config hashes)."""
    return [round(k * step, 10) for k in range(n)]


def make_sweeps(profile: DaleProfile) -> list:
    """The three sweeps of the ``dale`` figure: noisy and noise-free SAL grids and the rate check."""
    from ...sweep import SweepSpec

    G = grid_values(profile.n_grid, profile.step)
    chunks = [G[k : k + profile.rows_per_run] for k in range(0, len(G), profile.rows_per_run)]
    specs = [
        SweepSpec(
            name=name,
            experiment="dale-sal",
            base={"circuit": circuit, "w_e1_e2": G, "n_steps": profile.n_steps},
            grid={"w_e2_e1": chunks},
        )
        for name, circuit in (("sal_noisy", "noisy"), ("sal_noise_free", "noise_free"))
    ]
    rate_base = {
        "circuit": "noisy",
        "w_e2_e1": list(profile.rate_weights),
        "n_steps": profile.rate_steps,
        "n_replicas": profile.rate_replicas,
    }
    specs.append(SweepSpec(name="eff_rate", experiment="dale-rate", base=rate_base))
    return specs


def dale_sweeps(profile: str) -> list:
    if profile not in PROFILES:
        raise UserError(f"unknown profile {profile!r} for figure 'dale' (allowed: {', '.join(PROFILES)})")
    return make_sweeps(PROFILES[profile])


def load_sal_grid(result) -> dict[str, np.ndarray]:
    """Assemble the runs of a ``dale-sal`` sweep into one grid, rows sorted by W(e2<-e1)."""
    table = result.completed()
    if table.empty:
        raise UserError(f"sweep {result.root} has no completed dale-sal runs")
    parts = [result.arrays(run_id, "sal") for run_id in table["run_id"]]
    cols = parts[0]["w_e1_e2"]
    for p in parts:
        if not np.array_equal(p["w_e1_e2"], cols):
            raise UserError(f"sweep {result.root}: runs disagree on the W(e1<-e2) grid")
    rows = np.concatenate([p["w_e2_e1"] for p in parts])
    order = np.argsort(rows, kind="stable")
    out = {"w_e2_e1": rows[order], "w_e1_e2": cols, "offsets": parts[0]["offsets"]}
    for key in ("dw_e2_e1", "dw_e1_e2", "counts"):
        out[key] = np.concatenate([p[key] for p in parts])[order]
    return out


def rate_agreement(data: dict[str, np.ndarray], alpha: float = 0.01) -> dict[str, float]:
    """Compare e2's on-fraction of the E-I and direct circuits point by point.

    z_k = (mean_EI - mean_direct) / sqrt(se_EI^2 + se_direct^2) with standard errors from the
    spread over replicas; the threshold is the two-sided Bonferroni bound
    z_crit = Phi^-1(1 - alpha / (2 n_points)), so that with exact agreement max |z| > z_crit has
    probability <= alpha.  Needs >= 2 replicas (else the z values are NaN).
    """
    from scipy.stats import norm

    ei, di = data["on_ei"], data["on_direct"]
    n = ei.shape[1]
    diff = ei.mean(1) - di.mean(1)
    if n > 1:
        se = np.sqrt(ei.var(1, ddof=1) / n + di.var(1, ddof=1) / n)
        z = diff / np.where(se > 0, se, np.nan)
    else:
        z = np.full(diff.shape, np.nan)
    span = float(np.ptp(ei.mean(1)))
    finite = np.isfinite(z).any()
    return {
        "max_abs_diff": float(np.max(np.abs(diff))),
        "max_abs_z": float(np.nanmax(np.abs(z))) if finite else float("nan"),
        "z_crit": float(norm.ppf(1 - alpha / (2 * diff.size))),
        "w_at_max_z": float(data["w_e2_e1"][int(np.nanargmax(np.abs(z)))]) if finite else float("nan"),
        "on_fraction_span": span,
        "rel_max_diff": float(np.max(np.abs(diff)) / span) if span > 0 else float("nan"),
    }


def noisy_checks(zs: dict[str, float]) -> list[Check]:
    """Checks of the noisy phase plane: zero set on the effective diagonal, SAL sign."""
    return [
        Check(
            "the SAL zero set of dW(e2<-e1) lies on the diagonal of effective weights, not of raw weights",
            bool(zs["dist_eff"] < zs["dist_raw"]),
            f"mean distance of {zs['n_crossings']} zero crossings to the effective diagonal {zs['dist_eff']:.3f}, "
            f"to the raw diagonal {zs['dist_raw']:.3f} (lines {zs['gap'] / math.sqrt(2):.3f} apart); "
            f"mean W_eff asymmetry on the zero set {zs['mean_asym']:+.3f}",
        ),
        Check(
            "SAL reduces the effective asymmetry: sign dW(e2<-e1) = -sign(W_eff(e2<-e1) - W_eff(e1<-e2)) "
            "wherever |asymmetry| >= 0.3",
            bool(zs["sign_fraction"] == 1.0),
            f"fraction of such grid points with the expected sign: {zs['sign_fraction']:.3f}",
        ),
    ]


def noise_free_check(zf: dict[str, float], spacing: float) -> Check:
    return Check(
        "noise-free circuit: the SAL zero set lies on the (common) diagonal within one grid spacing",
        bool(zf["dist_eff"] < spacing),
        f"mean distance {zf['dist_eff']:.3f}, grid spacing {spacing:.3f}",
    )


def rate_checks(ra: dict[str, float]) -> list[Check]:
    """Check of the rate panel: the effective weight predicts e2's on-fraction to within 10 % of the span.

    The E-I and direct circuits are not expected to agree within the statistical error: the
    effective weight is a mean-field approximation (it replaces i1's sigmoidal response to e1 by
    its value at e1's mean activity), and long simulations resolve its error, largest at W = 0
    where e2 is driven only through i1 (docs/sampling.md; tests/sampling/test_dale.py measures
    it).  The z statistic is reported as a number (``rate_max_abs_z``), not as an expectation.
    """
    return [
        Check(
            "the effective weight predicts e2's on-fraction to within 10% of the range the sweep spans",
            bool(ra["rel_max_diff"] < 0.1),
            f"max |difference| {ra['max_abs_diff']:.4f} = {ra['rel_max_diff']:.1%} of the span "
            f"{ra['on_fraction_span']:.3f} (mean-field error resolved at max |z| = {ra['max_abs_z']:.2f}, "
            f"W = {ra['w_at_max_z']:.2f})",
        ),
    ]


def draw_dale(results: dict, out_dir: Path) -> FigureOutput:
    """Draw the three panels of the ``dale`` figure from the sweep results and check them."""
    out_dir = Path(out_dir)
    noisy = load_sal_grid(results["sal_noisy"])
    files = draw_phase_plane(noisy, out_dir, PANELS["noisy"], "noisy circuit")
    zs = zero_set_distances(noisy)
    numbers = {f"noisy_{k}": v for k, v in zs.items()}
    numbers["offset_e2_e1"], numbers["offset_e1_e2"] = (float(v) for v in noisy["offsets"])
    checks = noisy_checks(zs)

    free = load_sal_grid(results["sal_noise_free"])
    files += draw_phase_plane(free, out_dir, PANELS["noise_free"], "noise-free circuit")
    zf = zero_set_distances(free)
    numbers.update({f"noise_free_{k}": v for k, v in zf.items()})
    spacing = float(np.min(np.diff(free["w_e2_e1"]))) if free["w_e2_e1"].size > 1 else float("nan")
    checks.append(noise_free_check(zf, spacing))

    rate_table = results["eff_rate"].completed()
    if rate_table.empty:
        raise UserError("sweep eff_rate has no completed dale-rate run")
    rates = results["eff_rate"].arrays(rate_table["run_id"].iloc[0], "rates")
    files += draw_rate_check(rates, numbers["offset_e2_e1"], out_dir, PANELS["rate"])
    ra = rate_agreement(rates)
    numbers.update({f"rate_{k}": v for k, v in ra.items()})
    checks += rate_checks(ra)
    notes = "Panels: {noisy} (the paper's), {noise_free} (noise-free circuit), {rate} (effective-weight check)."
    return FigureOutput(files=files, numbers=numbers, checks=checks, notes=notes.format(**PANELS))


register_figure(
    Figure(
        id="dale",
        summary="Dale's law: SAL aligns the effective E->E weights of an E/I circuit (phase planes + rate check)",
        sweeps=dale_sweeps,
        draw=draw_dale,
    )
)
