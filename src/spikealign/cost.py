"""The projected CPU cost of ``reproduce --profile paper`` from measured rates (``--dry-run``).

Each projection multiplies the size of a figure's paper sweep by a rate that ``spikealign bench``
measured and wrote to ``benchmarks/results/<name>.json``:

* fig4, fig5: network steps of the whole sweep (``sampling.json``) / training steps per CPU second;
* fig6: simulated steps of the sweep x microseconds per step (``microcircuit.json``);
* dale: the extrapolated 2-core wall time of the grid (``dale.json``) x 2 cores;
* fig8: for every dataset, method and epoch: the training images / training images per CPU second
  of that method (``deep.json``; estimator methods train like ``fa``), plus a third of that for
  the test images (forward only), plus the method's estimator phase at its paper settings
  (``estimators.json``: SAL per tick with the exact engine, RDD per phase, the conv SAL phase;
  STDWI from the Fig. 8 quick profile's extra time over ``fa``, scaled to its paper duration).
  The 32 x 32 x 3 datasets cost ``(32/28)^2`` times an MNIST image (the conv layers' area).

Figures not listed take seconds to minutes (README, "Expected cost").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._optional import MissingExtraError

#: (training, test) images of the paper's datasets
DATASET_SIZES = {"mnist": (60000, 10000), "fmnist": (60000, 10000), "cifar10": (50000, 10000), "svhn": (73257, 26032)}
#: cost of one image relative to an MNIST image (conv layers' output area)
IMAGE_COST = {"mnist": 1.0, "fmnist": 1.0, "cifar10": (32 / 28) ** 2, "svhn": (32 / 28) ** 2}


@dataclass(frozen=True)
class Projection:
    """``cpu_hours`` of a figure's paper profile (``None``: no rate measured) and how it was computed."""

    figure: str
    cpu_hours: float | None
    basis: str


def _results(results_dir: Path | None) -> Path:
    if results_dir is not None:
        return results_dir
    from .bench import benchmarks_dir

    return benchmarks_dir() / "results"


def _details(results_dir: Path, name: str) -> dict[str, Any] | None:
    path = results_dir / f"{name}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("details", {})


def _sampling(fid: str, d: dict) -> Projection:
    steps, rate = d[f"{fid}_full_sweep_network_steps"], d["train_batch120_steps_per_cpu_s"]
    return Projection(fid, steps / rate / 3600, f"sampling.json: {steps:.2e} network steps / {rate:.2e} per CPU-s")


def _fig6(d: dict) -> Projection:
    steps, us = d["fig6_paper_sweep_steps"], d["us_per_step_cpu"]
    return Projection("fig6", steps * us / 1e6 / 3600, f"microcircuit.json: {steps:.2e} steps x {us:.3f} us")


def _dale(value_s: float) -> Projection:
    return Projection("dale", value_s * 2 / 3600, f"dale.json: {value_s:.1f} s on 2 cores")


def estimator_phase_cpu_s(est: str, settings: dict, estimators: dict, deep: dict | None) -> float:
    """CPU seconds of one paper-settings phase of estimator ``est`` (see the module docstring)."""
    if est == "sal":
        ticks = settings["n_iterations"] * settings["len_epoch"] * settings["t_ref"]
        return estimators["sal_cpu_ms_per_tick_32_replicas"] * settings["batch_size"] / 32 * ticks / 1e3
    if est == "sal_conv":
        ticks = settings["n_iterations"] * settings["len_epoch"] * settings["t_ref"]
        return estimators["sal_conv_ms_per_tick_convnet_maps_32_replicas"] * settings["batch_size"] / 32 * ticks / 1e3
    if est == "rdd":
        return estimators["rdd_phase_90s_estimated_s"] * settings["rdd_time"] / 90.0
    if est == "stdwi":
        runs = ((deep or {}).get("fig8_quick_profile") or {}).get("fig8-mnist5k", {}).get("runs", {})
        quick = runs.get("stdwi", {}).get("wall_time_s"), runs.get("fa", {}).get("wall_time_s")
        if None in quick:
            return 0.0
        from .deep.estimators import profile_settings

        per_epoch = max(0.0, quick[0] - quick[1]) / 6
        return per_epoch * settings["seconds"] / profile_settings("stdwi", "quick")["seconds"]
    raise KeyError(est)


def _fig8(deep: dict, estimators: dict) -> Projection:
    from .deep.figures import fig8_sweeps
    from .deep.methods import get_method

    rates = deep["images_per_cpu_s_1_thread"]
    total = 0.0
    n_runs = 0
    for spec in fig8_sweeps("paper"):
        ds, epochs = spec.base["dataset"], spec.base["n_epochs"]
        n_train, n_test = DATASET_SIZES[ds]
        for method, settings in zip(spec.zip["method"], spec.zip["estimator"], strict=True):
            m = get_method(method)
            rate = rates.get(method, rates["fa"])
            per_epoch = (n_train + n_test / 3) * IMAGE_COST[ds] / rate
            if m.estimator is not None:
                per_epoch += estimator_phase_cpu_s(m.estimator, settings, estimators, deep)
            total += epochs * per_epoch
            n_runs += 1
    basis = f"deep.json + estimators.json: {n_runs} runs, training rate ~{rates['fa']:.0f} images per CPU-s"
    return Projection("fig8", total / 3600, basis)


#: figure -> the benchmark results its projection reads
NEEDS = {"fig4": ("sampling",), "fig5": ("sampling",), "fig6": ("microcircuit",), "dale": ("dale",),
         "fig8": ("deep", "estimators")}  # fmt: skip


def project(figures: list[str], results_dir: Path | None = None) -> list[Projection]:
    """The paper profile's projected CPU hours of ``figures`` from the benchmark results."""
    where = _results(results_dir)
    # a figure below is projected only when none of the results it needs is missing (None)
    loaded: dict[str, Any] = {n: _details(where, n) for n in ("sampling", "microcircuit", "dale", "deep", "estimators")}
    out = []
    for fid in figures:
        missing = [n for n in NEEDS.get(fid, ()) if loaded[n] is None]
        if fid not in NEEDS:
            out.append(Projection(fid, None, "no benchmark rate: seconds to minutes (README, 'Expected cost')"))
        elif missing:
            out.append(Projection(fid, None, f"no benchmarks/results/{missing[0]}.json: run `spikealign bench`"))
        else:
            try:
                if fid in ("fig4", "fig5"):
                    out.append(_sampling(fid, loaded["sampling"]))
                elif fid == "fig6":
                    out.append(_fig6(loaded["microcircuit"]))
                elif fid == "dale":
                    out.append(_dale(float(json.loads((where / "dale.json").read_text())["value"])))
                else:
                    out.append(_fig8(loaded["deep"], loaded["estimators"]))
            except KeyError as exc:
                out.append(Projection(fid, None, f"benchmark result lacks {exc}: run `spikealign bench` again"))
            except MissingExtraError as exc:  # fig8's sweeps need the [deep] extra
                out.append(Projection(fid, None, str(exc)))
    return out


def format_projection(projections: list[Projection]) -> str:
    """The table ``reproduce --dry-run`` prints: figure, projected CPU hours, basis; then the total."""
    lines = ["projected CPU hours of --profile paper (rates from benchmarks/results/*.json):"]
    for p in projections:
        hours = "-" if p.cpu_hours is None else f"{p.cpu_hours:.2f}" if p.cpu_hours < 1 else f"{p.cpu_hours:.1f}"
        lines.append(f"  {p.figure:<14} {hours:>7}  {p.basis}")
    known = [p.cpu_hours for p in projections if p.cpu_hours is not None]
    lines.append(f"  {'total':<14} {sum(known):>7.1f}  (figures with a rate; nothing was run)")
    return "\n".join(lines)
