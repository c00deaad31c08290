"""The ``sal-network`` experiment (one SAL network, any engine) and the ``sal-engines`` figure.

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

``sal-engines`` (figure, beyond the paper)
    The same network and seeds in every engine whose extra is installed: asymmetry against time,
    per engine and seed; checks that each engine reduces the asymmetry at least 10x and that the
    engines' final asymmetries agree within the seed-to-seed spread. Engines whose extra is absent
    are listed in the figure's notes.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, FiniteFloat

from .._optional import MissingExtraError
from ..config import RunConfig, StrictModel
from ..errors import UserError
from ..guards import check_finite
from ..plasticity import SALParams, asymmetry, transpose_angle_deg
from ..registry import Check, Experiment, Figure, FigureOutput, register_experiment, register_figure
from ..resources import F64, MemoryEstimate, register_estimate
from ..runs import RunContext
from ..sweep import SweepResult, SweepSpec
from .spec import LIFParams, SALNetworkRecord, SALNetworkSpec, checked_spec

ENGINES = ("spikealign", "nest", "brian2", "torch")
EngineName = Literal["spikealign", "nest", "brian2", "torch"]
_SPEC, _LIF, _SAL = SALNetworkSpec(), LIFParams(), SALNetworkSpec().sal


class LIFConfig(StrictModel):
    """LIF neuron with exponential synaptic currents (NEST ``iaf_psc_exp`` parameters)."""

    c_m_pf: FiniteFloat = Field(_LIF.c_m_pf, gt=0, description="membrane capacitance (pF)")
    tau_m_ms: FiniteFloat = Field(_LIF.tau_m_ms, gt=0, description="membrane time constant (ms)")
    e_l_mv: FiniteFloat = Field(_LIF.e_l_mv, description="resting potential (mV)")
    v_th_mv: FiniteFloat = Field(_LIF.v_th_mv, description="threshold (mV)")
    v_reset_mv: FiniteFloat = Field(_LIF.v_reset_mv, description="reset potential (mV)")
    t_ref_ms: FiniteFloat = Field(_LIF.t_ref_ms, ge=0, description="refractory time (ms)")
    tau_syn_ms: FiniteFloat = Field(_LIF.tau_syn_ms, gt=0, description="synaptic current time constant (ms)")


class SALRuleConfig(StrictModel):
    """The SAL window (:class:`spikealign.plasticity.SALParams`), times in ms, weights in pA."""

    a_plus: FiniteFloat = Field(_SAL.a_plus, description="amplitude of causal pairs (post after pre)")
    a_minus: FiniteFloat = Field(_SAL.a_minus, description="amplitude of anti-causal pairs")
    tau_plus: FiniteFloat = Field(_SAL.tau_plus, gt=0, description="causal decay time (ms)")
    tau_minus: FiniteFloat = Field(_SAL.tau_minus, gt=0, description="anti-causal decay time (ms)")
    eta: FiniteFloat = Field(_SAL.eta, description="learning rate (pA per pair)")


class SALNetworkConfig(RunConfig):
    kind: Literal["sal-network"] = "sal-network"
    engine: EngineName = Field("spikealign", description="spikealign, nest, brian2 or torch")
    threads: int = Field(1, ge=1, description="NEST threads (engine: nest)")
    n_neurons: int = Field(_SPEC.n_neurons, ge=2)
    p_connect: FiniteFloat = Field(_SPEC.p_connect, ge=0, le=1, description="probability of a reciprocal pair")
    w_mean_pa: FiniteFloat = Field(_SPEC.w_mean_pa, description="mean initial weight (pA)")
    w_std_pa: FiniteFloat = Field(_SPEC.w_std_pa, ge=0, description="spread of the initial weights (pA)")
    delay_ms: FiniteFloat = Field(_SPEC.delay_ms, gt=0, description="synaptic delay, a multiple of dt_ms")
    drive_rate_hz: FiniteFloat = Field(_SPEC.drive_rate_hz, ge=0, description="Poisson drive per neuron (Hz)")
    drive_weight_pa: FiniteFloat = Field(_SPEC.drive_weight_pa, description="weight of a drive spike (pA)")
    lif: LIFConfig = Field(default_factory=LIFConfig)
    sal: SALRuleConfig = Field(default_factory=SALRuleConfig)
    dt_ms: FiniteFloat = Field(_SPEC.dt_ms, gt=0, description="time step (ms)")
    duration_ms: FiniteFloat = Field(_SPEC.duration_ms, gt=0, description="simulated time (ms)")
    record_interval_ms: FiniteFloat = Field(
        _SPEC.record_interval_ms, gt=0, description="weights recorded every this many ms"
    )
    figures: bool = Field(True, description="draw the per-run figure")

    def spec(self) -> SALNetworkSpec:
        """The network this config describes (seeded by the run's ``seed``)."""
        skip = {"kind", "engine", "threads", "lif", "sal", "figures"}
        scalars = {k: getattr(self, k) for k in type(self).model_fields if k not in skip}
        return SALNetworkSpec(lif=LIFParams(**self.lif.model_dump()), sal=SALParams(**self.sal.model_dump()),
                              **scalars)  # fmt: skip


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


def draw_run(arrays: dict[str, np.ndarray], engine: str, out_dir: Path) -> list[Path]:
    """Asymmetry (log scale) and the W-W^T angle against time, one run."""
    from ..figures.style import COLORS, figure, save_figure, style

    fig, (ax_a, ax_b) = figure(1, 2, width="onehalf", aspect=0.75)
    t = arrays["times_ms"] * 1e-3
    with style():
        ax_a.semilogy(t, arrays["asymmetry"], color=COLORS["sal"], marker=".")
        ax_a.set(xlabel="time (s)", ylabel="asymmetry", title=f"Var(W - W^T) / Var(W), {engine}")
        ax_b.plot(t, arrays["angle_deg"], color=COLORS["sal"], marker=".")
        ax_b.set(xlabel="time (s)", ylabel=r"angle($W$, $W^T$) (deg)", title="angle to the transpose")
    return save_figure(fig, out_dir, "asymmetry")


def draw_run_dir(run_dir: Path) -> list[Path]:
    """The run's own plot again, from its ``asymmetry.npz`` and ``config.yaml`` (``spikealign figure RUN``)."""
    import yaml

    from ..runs import load_npz

    run_dir = Path(run_dir)
    engine = (yaml.safe_load((run_dir / "config.yaml").read_text()) or {}).get("engine", "spikealign")
    return draw_run(load_npz(run_dir / "asymmetry.npz"), str(engine), run_dir / "figures")


EXPERIMENT = register_experiment(
    Experiment(kind="sal-network", config_model=SALNetworkConfig, run=run_sal_network,
               draw_run=draw_run_dir)
)  # fmt: skip


# --------------------------------------------------------------------------- figure sal-engines
ENGINE_SEEDS = {"quick": [0, 1, 2], "paper": [0, 1, 2, 3, 4, 5]}
#: the quick profile's network: the spec's defaults (20 s of simulated time)
ENGINE_BASE: dict[str, object] = {"figures": False}


def engine_sweeps(profile: str) -> list[SweepSpec]:
    """One sweep over the engines whose extras are installed, the same seeds for each."""
    if profile not in ENGINE_SEEDS:
        raise UserError(f"unknown profile {profile!r} (allowed: {', '.join(ENGINE_SEEDS)})")
    engines = [e for e in ENGINES if engine_unavailable(e) is None]
    return [SweepSpec(name="engines", experiment="sal-network", base=dict(ENGINE_BASE), grid={"engine": engines},
                      seeds=ENGINE_SEEDS[profile])]  # fmt: skip


def draw_engines(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    from ..figures.style import CYCLE, figure, save_figure, style

    res = results["engines"]
    table = res.completed()
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for run_id in table["run_id"]:
        engine = res.config(run_id)["engine"]
        saved = res.arrays(run_id, "asymmetry")
        curves.setdefault(engine, []).append((saved["times_ms"] * 1e-3, saved["asymmetry"]))
    fig, ax = figure(1, 1, width="single", aspect=0.8)
    with style():
        # the torch engine reproduces the numba engine's spikes: dashed lines on top of solid ones
        styles = dict(zip(ENGINES, ("-", (0, (2, 1.5)), "-.", (0, (4, 2))), strict=True))
        for colour, (engine, runs) in zip(CYCLE, sorted(curves.items()), strict=False):
            for k, (t, asym) in enumerate(runs):
                ax.semilogy(t, asym, color=colour, ls=styles.get(engine, "-"), lw=1.0, alpha=0.85,
                            label=engine if k == 0 else None)  # fmt: skip
        ax.set(xlabel="time (s)", ylabel=r"Var($W - W^T$) / Var($W$)", title="SAL network, engines side by side")
        ax.legend()
    files = save_figure(fig, out_dir, "sal-engines")
    numbers, checks = engine_checks(curves)
    missing = {e: engine_unavailable(e) for e in ENGINES if e not in curves}
    notes = "; ".join(f"engine {e} skipped: {why or 'no completed run'}" for e, why in missing.items())
    return FigureOutput(files=files, numbers=numbers, checks=checks, notes=notes)


def engine_checks(curves: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> tuple[dict[str, float], list[Check]]:
    """Each engine reduces the asymmetry >= 10x; engines' mean final log-asymmetries agree within the spread.

    Agreement: the engines' means of ``log(final asymmetry)`` over seeds differ by at most
    ``3 * sqrt(2 / n_seeds)`` times the pooled seed-to-seed standard deviation (a 3-sigma bound on
    the difference of two means).
    """
    numbers: dict[str, float] = {}
    checks: list[Check] = []
    finals: dict[str, np.ndarray] = {}
    for engine, runs in sorted(curves.items()):
        reduction = np.array([a[0] / a[-1] for _, a in runs])
        finals[engine] = np.log(np.array([a[-1] for _, a in runs]))
        numbers[f"{engine}_min_reduction"] = float(reduction.min())
        numbers[f"{engine}_mean_final_asymmetry"] = float(np.exp(finals[engine]).mean())
        checks.append(Check(f"{engine}: asymmetry reduced at least 10x in every seed", bool(reduction.min() >= 10),
                            f"reductions {', '.join(f'{r:.1f}x' for r in reduction)}"))  # fmt: skip
    if len(finals) >= 2:
        pooled = float(np.sqrt(np.mean([np.var(f, ddof=1) for f in finals.values()])))
        n = min(len(f) for f in finals.values())
        means = {e: float(f.mean()) for e, f in finals.items()}
        spread = max(means.values()) - min(means.values())
        bound = 3 * np.sqrt(2 / n) * pooled
        numbers["final_log_asymmetry_spread"] = spread
        numbers["seed_to_seed_sd"] = pooled
        checks.append(Check("engines agree: final asymmetries within the seed-to-seed spread", spread <= bound,
                            f"largest difference of mean log final asymmetry {spread:.3f} <= {bound:.3f}"))  # fmt: skip
    return numbers, checks


register_figure(Figure("sal-engines", "SAL network in every installed engine: asymmetry vs time (beyond the paper)",
                       engine_sweeps, draw_engines))  # fmt: skip


# --------------------------------------------------------------------------- memory estimate
@register_estimate("sal-network")
def memory_estimate(config: SALNetworkConfig) -> list[MemoryEstimate]:
    # the recorded (N, N) weight matrices: the engine's record and the .npz buffer of the saved copy
    n_records = round(config.duration_ms / config.record_interval_ms) + 1
    return [
        MemoryEstimate(2 * F64 * n_records * config.n_neurons**2, "the recorded weight matrices",
                       ("n_neurons", "duration_ms", "record_interval_ms"))
    ]  # fmt: skip
