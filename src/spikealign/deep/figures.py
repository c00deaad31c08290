"""Fig. 8 of the deep family: sweeps, checks and drawing; importing this module registers ``fig8``.

Fig. 8: test accuracy and FC alignment angles against epoch for every method of the table in
:mod:`spikealign.deep.methods` marked ``in_fig8`` (all but ``brsf``).

* quick: the bundled MNIST 5k subset (4,000 train / 1,000 test), 6 epochs, one seed, faithful
  mode; about 40 s per baseline method on 2 CPU cores.
* paper: 100 epochs on MNIST, Fashion-MNIST, CIFAR-10 and SVHN (the data must be present, see
  :mod:`spikealign.deep.data`); one seed; meant for a GPU or a cluster.

Estimator methods get their settings for a profile from
``spikealign.deep.estimators.profile_settings(estimator_name, profile)``: the estimator class's
``quick_settings`` for the quick profile, its defaults for the paper profile.

Drawing only reads the runs' ``metrics.json``; :mod:`spikealign.deep.experiments` imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..figures.style import styled
from ..registry import Check, Figure, FigureOutput, register_figure
from ..sweep import SweepResult, SweepSpec
from .methods import get_method, method_names
from .train import history

QUICK_EPOCHS = 6
PAPER_EPOCHS = 100
PAPER_DATASETS = ("mnist", "fmnist", "cifar10", "svhn")
FC_LAYERS = ("fc1", "fc2", "fc3")


# --------------------------------------------------------------------------- Fig. 8
def fig8_methods() -> list[str]:
    """The methods Fig. 8 trains: every method of the table with ``in_fig8``."""
    return [m for m in method_names() if get_method(m).in_fig8]


def _estimator_settings(method: str, profile: str) -> dict[str, Any]:
    """Settings of ``method``'s estimator for ``profile`` (``{}`` for methods without one)."""
    est = get_method(method).estimator
    if est is None:
        return {}
    from .estimators.registry import profile_settings

    return profile_settings(est, profile)


def fig8_sweeps(profile: str) -> list[SweepSpec]:
    """One sweep per dataset over all registered methods (zipped with their estimator settings)."""
    methods = fig8_methods()
    datasets: tuple[str, ...]
    if profile == "quick":
        datasets, n_epochs = ("mnist5k",), QUICK_EPOCHS
    elif profile == "paper":
        datasets, n_epochs = PAPER_DATASETS, PAPER_EPOCHS
    else:
        raise UserError(f"unknown profile {profile!r} for fig8 (allowed: quick, paper)")
    specs = []
    for ds in datasets:
        specs.append(
            SweepSpec(
                name=f"fig8-{ds}",
                experiment="deep",
                base={"kind": "deep", "dataset": ds, "n_epochs": n_epochs, "mode": "faithful"},
                zip={"method": methods, "estimator": [_estimator_settings(m, profile) for m in methods]},
                seeds=[0],
            )
        )
    return specs


def _series(result: SweepResult) -> dict[str, dict[str, np.ndarray]]:
    """method -> {"test_accuracy": (epochs,), "fc1": (1 + epochs,) angles incl. epoch 0, ...}; first seed."""
    out: dict[str, dict[str, np.ndarray]] = {}
    table = result.completed()
    for _, row in table.iterrows():
        method = str(row["method"])
        if method in out:
            continue
        m = result.metrics(row["run_id"])
        series = {"test_accuracy": history(m, "test_accuracy")}
        initial = m.get("initial", {})
        for layer in (*FC_LAYERS, "conv2"):
            # angle at epoch 0 (before any training or estimator phase), then after each epoch
            series[layer] = np.concatenate([[initial.get(f"{layer}/angle", np.nan)], history(m, f"{layer}/angle")])
        series["epoch"] = history(m, "epoch") + 1
        series["angle_epoch"] = np.concatenate([[0.0], series["epoch"]])
        out[method] = series
    return out


def _final_fc_angle(series: dict[str, np.ndarray]) -> float:
    return float(np.mean([series[layer][-1] for layer in FC_LAYERS]))


def _has_estimator(method: str) -> bool:
    try:
        return get_method(method).estimator is not None
    except UserError:  # a method that is no longer registered
        return False


def _checks(ds: str, data: dict[str, dict[str, np.ndarray]]) -> list[Check]:
    checks: list[Check] = []
    final_acc = {m: float(s["test_accuracy"][-1]) for m, s in data.items() if len(s["test_accuracy"])}
    angle = {m: _final_fc_angle(s) for m, s in data.items() if len(s["fc1"])}
    n_epochs = max((len(s["test_accuracy"]) for s in data.values()), default=0)
    if "bp" in final_acc:
        # the paper's claim covers the paper's methods; the methods beyond it are judged in _new_method_checks
        others = {m: a for m, a in final_acc.items() if m != "bp" and m not in NEW_METHODS}
        best_other = max(others.values(), default=-np.inf)
        checks.append(
            Check(
                f"{ds}: BP reaches the highest final test accuracy of the paper's methods (within 0.5 points)",
                final_acc["bp"] >= best_other - 0.5,
                f"bp {final_acc['bp']:.2f} %, best other {best_other:.2f} %",
            )
        )
        if ds in ("mnist5k", "mnist"):
            checks.append(
                Check(f"{ds}: BP test accuracy above 95 %", final_acc["bp"] > 95.0, f"{final_acc['bp']:.2f} %")
            )
    if "fa" in angle:
        checks.append(
            Check(f"{ds}: FA's FC angles stay far from 0 (mean > 45°)", angle["fa"] > 45.0, f"{angle['fa']:.1f}°")
        )
        for m in ("kp", "scfa", *(m for m in angle if _has_estimator(m))):
            if m in angle:
                checks.append(
                    Check(
                        f"{ds}: {m}'s final FC angles are below FA's",
                        angle[m] < angle["fa"],
                        f"{m} {angle[m]:.1f}° vs fa {angle['fa']:.1f}°",
                    )
                )
    checks += _new_method_checks(ds, final_acc, angle)
    checks += _conv_checks(ds, data)
    if "kp" in angle and n_epochs >= 50:
        checks.append(Check(f"{ds}: KP's FC angles go to ~0 (mean < 10°)", angle["kp"] < 10.0, f"{angle['kp']:.1f}°"))
    return checks


#: methods beyond the paper (see docs/deep.md, 'Feedback layers'), judged against chance, BP and FA
NEW_METHODS = ("dfa", "usf", "frsf", "sal_conv")
#: accuracy a method must exceed on a 10-class dataset to count as learning (chance: 10 %)
LEARNS_ABOVE = 50.0


def _new_method_checks(ds: str, final_acc: dict[str, float], angle: dict[str, float]) -> list[Check]:
    checks = []
    for m in NEW_METHODS:
        if m not in final_acc:
            continue
        checks.append(
            Check(
                f"{ds}: {m} learns (final test accuracy above {LEARNS_ABOVE:.0f} %, chance 10 %)",
                final_acc[m] > LEARNS_ABOVE,
                f"{m} {final_acc[m]:.2f} %",
            )
        )
        # sign-concordant feedback shares W's signs, so its angle to W is far below FA's random ~90°
        if m in ("usf", "frsf") and "fa" in angle and np.isfinite(angle.get(m, np.nan)):
            checks.append(
                Check(
                    f"{ds}: {m}'s FC angles are below FA's",
                    angle[m] < angle["fa"],
                    f"{m} {angle[m]:.1f}° vs fa {angle['fa']:.1f}°",
                )
            )
    return checks


def _conv_checks(ds: str, data: dict[str, dict[str, np.ndarray]]) -> list[Check]:
    """SAL on conv feedback (``sal_conv``) aligns conv2, which every other FA method leaves random (~90°)."""
    if "sal_conv" not in data or "sal" not in data:
        return []
    ours, fc_only = data["sal_conv"]["conv2"], data["sal"]["conv2"]
    return [
        Check(
            f"{ds}: sal_conv lowers conv2's angle below sal's (FC-only SAL leaves conv feedback random)",
            bool(ours[-1] < fc_only[-1] - 5.0),
            f"sal_conv {ours[0]:.1f}° -> {ours[-1]:.1f}°, sal {fc_only[-1]:.1f}°",
        )
    ]


@styled
def fig8_draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    """Test accuracy and fc1-3 and conv2 angles against epoch, one row per dataset, one line per method."""
    from ..figures import save_figure
    from ..figures.style import WIDTH, figure
    from .methods import method_style

    names = sorted(results)
    angle_layers = (*FC_LAYERS, "conv2")
    ncols = 1 + len(angle_layers)
    fig, axes = figure(len(names), ncols, figsize=(WIDTH["double"] * 1.4, 2.2 * len(names)), squeeze=False)
    output = FigureOutput()
    for row, sweep_name in enumerate(names):
        ds = sweep_name.removeprefix("fig8-")
        data = _series(results[sweep_name])
        for method, s in data.items():
            ax, kw = axes[row], method_style(method)
            ax[0].plot(s["epoch"], s["test_accuracy"], label=method, **kw)
            for k, layer in enumerate(angle_layers, start=1):
                ax[k].plot(s["angle_epoch"], s[layer], label=method, **kw)
            if len(s["test_accuracy"]):
                output.numbers[f"{ds}/{method}/final_test_accuracy"] = float(s["test_accuracy"][-1])
                fc_angle = _final_fc_angle(s)  # NaN for dfa: hidden layers have no W-B angle
                if np.isfinite(fc_angle):
                    output.numbers[f"{ds}/{method}/final_fc_angle_mean"] = fc_angle
        axes[row][0].set_ylabel(f"{ds}\ntest accuracy [%]")
        for k, layer in enumerate(angle_layers, start=1):
            axes[row][k].set_ylabel(f"angle(W, B) {layer} [deg]")
            axes[row][k].set_ylim(-2, 95)
        for ax in axes[row]:
            ax.set_xlabel("epoch")
    output.checks += _checks(ds, data)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=6)
    output.files = save_figure(fig, out_dir, "fig8")
    return output


FIGURE = register_figure(
    Figure(
        id="fig8",
        summary="deep ConvNet: test accuracy and FC feedback alignment for BP, FA, KP, SCFA and spiking estimators",
        sweeps=fig8_sweeps,
        draw=fig8_draw,
    )
)
