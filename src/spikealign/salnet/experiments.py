"""The ``sal-network`` experiment (one SAL network, any engine); importing it registers the ``sal-engines`` figure.

``sal-network``
    Simulates :class:`~spikealign.salnet.spec.SALNetworkSpec` (the config's keys are the spec's
    fields, ``lif`` and ``sal`` sections, plus ``engine`` and ``threads``) with the chosen engine:

    - ``spikealign``: the numba kernel (:mod:`spikealign.salnet.engine`), no extra needed;
    - ``torch``: tensor steps with :func:`spikealign.plasticity.sal_step` (needs torch, ``[deep]``);
    - ``brian2``: Brian2 ``Synapses`` (:mod:`spikealign.brian2`, ``[brian2]``);
    - ``nest``: the NESTML SAL synapse (``spikealign.nest``, ``[nest]``; ``threads`` NEST threads).

    Saves ``asymmetry.npz`` (``times_ms``, ``asymmetry``, ``angle_deg``, ``weights``,
    ``rates_hz``) and the figure ``figures/asymmetry.png``; metrics ``initial_asymmetry``,
    ``final_asymmetry``, ``asymmetry_reduction`` (initial / final), the angles and the mean rate.

The run config is :class:`~spikealign.salnet.config.SALNetworkConfig`; the per-run plot and the
figure ``sal-engines`` (beyond the paper: every installed engine side by side) are in
:mod:`spikealign.salnet.figures`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .._optional import MissingExtraError
from ..errors import UserError
from ..guards import check_finite
from ..plasticity import asymmetry, transpose_angle_deg
from ..registry import Experiment, register_experiment
from ..resources import F64, MemoryEstimate, register_estimate
from ..runs import RunContext
from .config import ENGINES, SALNetworkConfig
from .figures import draw_run, draw_run_dir
from .spec import SALNetworkRecord, SALNetworkSpec, checked_spec


# --------------------------------------------------------------------------- engines
def engine_unavailable(engine: str) -> str | None:
    """Why ``engine`` cannot run here (the extra to install), or None when it can."""
    try:
        engine_function(engine)
    except MissingExtraError as exc:
        return str(exc)
    return None


def engine_function(engine: str, threads: int = 1) -> Callable[..., SALNetworkRecord]:
    """``simulate(spec, progress=None) -> SALNetworkRecord`` of an engine, or MissingExtraError."""
    if engine == "spikealign":
        from .engine import simulate_sal_network

        return simulate_sal_network
    if engine == "torch":
        if importlib.util.find_spec("torch") is None:
            raise MissingExtraError("engine torch needs torch: pip install 'spikealign[deep]'")
        from .torch_engine import simulate_sal_network as torch_simulate

        return torch_simulate
    if engine == "brian2":
        from .. import brian2 as brian2_engine  # raises MissingExtraError naming [brian2]

        return brian2_engine.simulate_sal_network
    if engine == "nest":
        if importlib.util.find_spec("nest") is None or importlib.util.find_spec("pynestml") is None:
            raise MissingExtraError("engine nest needs the [nest] extra: pip install 'spikealign[nest]'")
        return lambda spec, progress=None: _nest_in_a_fresh_process(spec, threads)
    raise UserError(f"unknown engine {engine!r} (allowed: {', '.join(ENGINES)})")


def _nest_in_a_fresh_process(spec: SALNetworkSpec, threads: int) -> SALNetworkRecord:
    """The NEST engine, run in a spawned process of its own.

    The NEST wheel bundles its own OpenMP runtime; in a process that has already run torch,
    numba or Brian2 work, NEST's kernel can crash (segmentation fault) in ``ResetKernel``. A fresh
    process costs about a second and keeps the caller's process safe.
    """
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_simulate_nest, (spec, threads))


def _simulate_nest(spec: SALNetworkSpec, threads: int) -> SALNetworkRecord:
    from ..nest import simulate_sal_network

    return simulate_sal_network(spec, threads=threads)


# --------------------------------------------------------------------------- run
def summarise(spec: SALNetworkSpec, record: SALNetworkRecord) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Arrays (asymmetry and W-W^T angle over time, weights, rates) and scalar metrics of a record."""
    asym = np.array([asymmetry(w) for w in record.weights])
    angle = np.array([transpose_angle_deg(w) for w in record.weights])
    rates = np.array([len(t) for t in record.spike_times_ms]) / (spec.duration_ms * 1e-3)
    arrays = {"times_ms": record.times_ms, "asymmetry": asym, "angle_deg": angle, "weights": record.weights,
              "rates_hz": rates}  # fmt: skip
    metrics = {
        "initial_asymmetry": float(asym[0]),
        "final_asymmetry": float(asym[-1]),
        "asymmetry_reduction": float(asym[0] / asym[-1]) if asym[-1] > 0 else float("inf"),
        "initial_angle_deg": float(angle[0]),
        "final_angle_deg": float(angle[-1]),
        "mean_rate_hz": float(rates.mean()),
        "n_synapses": int(np.sum(~np.isnan(record.weights[0]))),
    }
    return arrays, metrics


def run_sal_network(config: SALNetworkConfig, ctx: RunContext) -> dict[str, float]:
    spec = checked_spec(replace(config.spec(), seed=config.seed))
    simulate = engine_function(config.engine, config.threads)
    n_rec = round(spec.duration_ms / spec.record_interval_ms)
    bar = ctx.progress(total=n_rec, desc=f"SAL network ({config.engine})", unit="record")
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        bar.update(n)

    record = simulate(spec, progress=advance)
    present = ~np.isnan(record.weights[0])  # NaN marks an absent synapse, not a diverged one
    check_finite({"the recurrent weights": record.weights[-1][present]}, f"{spec.duration_ms:g} ms",
                 ["sal.eta", "w_mean_pa", "w_std_pa"])  # fmt: skip
    bar.update(n_rec - done[0])  # engines that report no progress (nest) finish here
    bar.close()
    arrays, metrics = summarise(spec, record)
    ctx.save_arrays("asymmetry", **arrays)
    if config.figures:
        draw_run(arrays, config.engine, ctx.figures_dir)
    return metrics


EXPERIMENT = register_experiment(
    Experiment(kind="sal-network", config_model=SALNetworkConfig, run=run_sal_network,
               draw_run=draw_run_dir)
)  # fmt: skip


# --------------------------------------------------------------------------- memory estimate
@register_estimate("sal-network")
def memory_estimate(config: SALNetworkConfig) -> list[MemoryEstimate]:
    # the recorded (N, N) weight matrices: the engine's record and the .npz buffer of the saved copy
    n_records = round(config.duration_ms / config.record_interval_ms) + 1
    return [
        MemoryEstimate(2 * F64 * n_records * config.n_neurons**2, "the recorded weight matrices",
                       ("n_neurons", "duration_ms", "record_interval_ms"))
    ]  # fmt: skip
