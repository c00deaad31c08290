"""Registration of the sampling experiments (``ssn``) and figures (fig4, fig5).

``ssn`` trains fully connected spiking sampling networks toward Boltzmann targets with wake-sleep
STDP and optional SAL (docs/sampling.md, "Wake-sleep learning with SAL"); many runs with the same schedule are trained
in one compiled, batched call (``run_batch``).  Reference YAML files (``scripts/ssn/*.yaml``) are
accepted unchanged.
"""

from __future__ import annotations

import functools
import numbers
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .. import seeding
from ..errors import UserError
from ..guards import check_finite
from ..registry import Check, Experiment, Figure, FigureOutput, register_experiment, register_figure
from ..resources import F64, NP_ARRAY_IN_LIST, MemoryEstimate, register_estimate
from ..runs import RunContext, layout_problem
from ..sweep import SweepResult, SweepSpec
from . import presets
from .config import SSNConfig
from .reference import detect_reference, from_reference
from .simulator import seed_states
from .trainer import RECORD_KEYS, Problem, Schedule, TrainState, draw_problem, records_arrays, train

MAX_BATCH = 240


# --------------------------------------------------------------------------- runs
def problem_of(cfg: SSNConfig) -> Problem:
    """Targets, initial values and gains of a config.

    Reference RNG order: docs/sampling.md, "Targets and initial values".
    """
    return draw_problem(
        cfg.dim,
        cfg.target.seed,
        cfg.init.seed,
        alpha=cfg.target.alpha,
        beta=cfg.target.beta,
        weight_init=cfg.init.weight,
        init_noise=cfg.init.noise,
        bias_init=cfg.init.bias,
        stdp_noise=cfg.stdp.noise,
        a_plus=cfg.stdp.a_plus,
    )


def schedule_of(cfg: SSNConfig) -> Schedule:
    s = cfg.schedule
    return Schedule(
        num_epochs=s.num_epochs,
        val_step=s.val_step,
        val_factor=s.val_factor,
        dur=s.dur,
        t_ref=cfg.neuron.t_ref,
        tau_syn=cfg.neuron.tau_syn,
        stdp_tau=cfg.stdp.tau,
        kernel=cfg.stdp.kernel,
    )


DIVERGENCE_KEYS = ("lr.weight", "lr.bias", "lr.symm")
"""The config keys that drive the weights and biases of an SSN run (named when they diverge)."""


def check_diverged(state: TrainState, r: int) -> None:
    """Stop run ``r`` (:class:`~spikealign.guards.NonFiniteError`) when its weights or biases are not finite."""
    check_finite({"W": state.W[r], "b": state.b[r]}, f"cycle {state.iteration - 1}", DIVERGENCE_KEYS)


def spike_seed(cfg: SSNConfig) -> np.uint64:
    """Seed of the run's spike stream: root seed and the target/init seeds (paired SAL/no-SAL runs share it)."""
    return seeding.replica_seeds(cfg.seed, 1, "ssn-spikes", cfg.target.seed, cfg.init.seed)[0]


def _initial_state(cfg: SSNConfig, problem: Problem) -> dict[str, Any]:
    return {
        "W": problem.W_init.astype(np.float64),
        "b": problem.b_init.astype(np.float64),
        "rng": seed_states(np.array([spike_seed(cfg)]))[0],
        "iteration": 0,
        "records": {k: [] for k in RECORD_KEYS},
    }


RECORD_SHAPES: dict[str, int | str] = {
    "iterations": 0, "dkls": 0, "all_distr": "q", "all_weights": 2, "all_biases": 1, "all_asym": 0,
}  # fmt: skip
"""Dimensions of one validation record per key: 0 a number, 1 (dim,), 2 (dim, dim), "q" (2**dim,)."""


def _unstamped_problem_of(cfg: SSNConfig, state: dict[str, Any]) -> str | None:
    return unstamped_problem(state, cfg)


def unstamped_problem(state: dict[str, Any], cfg: SSNConfig) -> str | None:
    """What does not fit ``cfg`` in an ssn checkpoint of the earlier format (no stamp), else ``None``."""
    n = cfg.dim
    problem = layout_problem(
        state, {"W": (n, n), "b": (n,), "rng": (4,), "iteration": numbers.Integral, "records": dict}
    )
    if problem:
        return problem
    it, epochs, val_step = int(state["iteration"]), cfg.schedule.num_epochs, cfg.schedule.val_step
    if not 0 <= it <= epochs:
        return f"'iteration' is {it}, outside 0..{epochs}"
    if state["rng"].dtype != np.uint64:
        return f"'rng' holds {state['rng'].dtype}, not the uint64 state of the spike generator"
    records = state["records"]
    if set(records) != set(RECORD_SHAPES):
        return f"'records' holds {', '.join(sorted(map(str, records)))}, not {', '.join(sorted(RECORD_SHAPES))}"
    n_records = 0 if val_step == 1 else -(-it // val_step)  # validations at 0, val_step, ... before `it`
    for key, dims in RECORD_SHAPES.items():
        shape = (2**n,) if dims == "q" else (n,) * int(dims)
        values = records[key]
        if not isinstance(values, list) or len(values) != n_records:
            return f"'records.{key}' does not hold the {n_records} records of {it} cycles"
        wrong = [np.shape(v) for v in values if np.shape(v) != shape]
        if wrong:
            return f"'records.{key}' holds a record of shape {wrong[0]}, this config needs {shape}"
    return None


def _finish(cfg: SSNConfig, ctx: RunContext, problem: Problem, state: TrainState, r: int) -> dict[str, Any]:
    rec = records_arrays(state, r)
    arrays = dict(rec, target_distr=problem.p_target, W_target=problem.W_target, b_target=problem.b_target,
                  W_final=state.W[r], b_final=state.b[r])  # fmt: skip
    ctx.save_arrays("records", **arrays)
    summary: dict[str, Any] = {"n_records": int(rec["iterations"].size) if rec["iterations"].ndim else 0,
                               "final_iteration": int(state.iteration)}  # fmt: skip
    if summary["n_records"]:
        summary.update(
            final_dkl=float(rec["dkls"][-1]),
            min_dkl=float(np.min(rec["dkls"])),
            final_asym=float(rec["all_asym"][-1]),
            first_asym=float(rec["all_asym"][0]),
        )
    if cfg.diagnostic_figure and summary["n_records"]:
        from .plots import plot_run

        plot_run(arrays, ctx.figures_dir, "ssn_run",
                 title=f"init_noise {cfg.init.noise}, stdp noise {cfg.stdp.noise}, lr_symm {cfg.lr.symm}")  # fmt: skip
    return summary


def run_batch(configs: list[SSNConfig], ctxs: list[RunContext]) -> list[dict[str, Any]]:
    """Train many runs; runs with the same schedule (and resume point) share one compiled call."""
    problems = [problem_of(c) for c in configs]
    states = []
    for cfg, ctx, p in zip(configs, ctxs, problems, strict=True):
        ck = ctx.load_checkpoint(check_unstamped=functools.partial(_unstamped_problem_of, cfg))
        states.append(ck if ck is not None else _initial_state(cfg, p))
    groups: dict[tuple, list[int]] = defaultdict(list)
    for k, cfg in enumerate(configs):
        groups[(cfg.schedule_key(), states[k]["iteration"])].append(k)
    summaries: list[dict[str, Any]] = [{} for _ in configs]
    for idx in groups.values():
        cfgs = [configs[k] for k in idx]
        lr = np.array([[c.lr.bias, c.lr.weight, c.lr.symm] for c in cfgs])
        clip = np.array([[c.max_w, c.max_b] for c in cfgs])
        state = TrainState.from_run_states([states[k] for k in idx])

        def save(st: TrainState, idx: list[int] = idx) -> None:
            for r, k in enumerate(idx):
                check_diverged(st, r)
                ctxs[k].save_checkpoint(st.run_state(r))

        schedule = schedule_of(cfgs[0])
        desc = f"ssn x{len(idx)}" if len(idx) > 1 else "ssn"
        bar = ctxs[idx[0]].progress(total=schedule.num_epochs - state.iteration, desc=desc, unit="cycle")
        try:
            announce_duration(bar, [problems[k] for k in idx], schedule, lr, clip, state)
            state = train([problems[k] for k in idx], schedule, lr, clip, None, state=state, on_record=save,
                          on_progress=bar.update)  # fmt: skip
        finally:
            bar.close()
        for r, k in enumerate(idx):
            summaries[k] = _finish(configs[k], ctxs[k], problems[k], state, r)
    return summaries


PROBE_STEPS = 20_000
"""Network steps simulated to measure the speed of a run whose cycles are long."""


def steps_left(schedule: Schedule, start: int) -> int:
    """Network steps of cycles ``start .. num_epochs - 1``: ``T`` per cycle, ``T * val_factor`` per validation."""
    n = schedule.num_epochs - start
    n_val = 0 if schedule.val_step == 1 else len(range(-(-start // schedule.val_step) * schedule.val_step,
                                                          schedule.num_epochs, schedule.val_step))  # fmt: skip
    return (n - n_val) * schedule.T + n_val * schedule.T * schedule.val_factor


def announce_duration(bar, problems: list[Problem], schedule: Schedule, lr, clip, state: TrainState) -> None:
    """Project the duration of a run whose single cycles take long (its progress moves once per cycle):
    simulate ``PROBE_STEPS`` steps on a copy of the state and say how long the rest will take."""
    import dataclasses
    import time

    total = steps_left(schedule, state.iteration)
    longest = schedule.T * (schedule.val_factor if schedule.val_step != 1 else 1)
    if longest < 100 * PROBE_STEPS:
        return  # cycles are short: the progress report projects the duration itself within seconds
    probe = dataclasses.replace(schedule, num_epochs=1, val_step=1, dur=max(1, PROBE_STEPS // schedule.t_ref))
    copy = TrainState(state.W.copy(), state.b.copy(), state.rng.copy(), 0, {k: [] for k in RECORD_KEYS})
    t0 = time.perf_counter()
    train(problems, probe, lr, clip, None, state=copy)
    rate = probe.T / max(time.perf_counter() - t0, 1e-9)
    bar.announce(total / rate, f"{total:.3g} network steps left at {rate:.3g} steps/s")


def run(config: SSNConfig, ctx: RunContext) -> dict[str, Any]:
    """Train one network; writes ``records.npz``, a diagnostic figure and checkpoints."""
    return run_batch([config], [ctx])[0]


register_experiment(
    Experiment(
        kind="ssn",
        config_model=SSNConfig,
        run=run,
        draw_run="spikealign.figures.run_plots:draw_ssn_run",
        run_batch=run_batch,
        max_batch=MAX_BATCH,
        detect_reference=detect_reference,
        from_reference=from_reference,
    )
)


# --------------------------------------------------------------------------- figures 4 and 5
def _sweeps(fig: str, profile: str) -> list[SweepSpec]:
    names = ("syn_noise", "syn_noise_sal") if fig == "fig4" else ("plast_noise", "plast_noise_sal")
    make = presets.paper_sweep if profile == "paper" else presets.quick_sweep
    return [make(n) for n in names]


def _collect(result: SweepResult, noise_key: str, max_level: float | None = None) -> dict[float, dict[str, Any]]:
    """Per noise level: x (cycles), asym and dkl (runs, records) from the runs' records."""
    table = result.completed()
    out: dict[float, dict[str, Any]] = {}
    for level, sub in table.groupby(noise_key):
        if max_level is not None and level > max_level + 1e-12:
            continue
        asym, dkl, clipped, x = [], [], [], None
        for run_id in sub["run_id"]:
            rec = result.arrays(run_id, "records")
            asym.append(rec["all_asym"])
            dkl.append(rec["dkls"])
            max_w = float(result.config(run_id).get("max_w", 2.0))
            clipped.append(bool(np.any(np.abs(rec["all_weights"]) >= max_w)))
            x = rec["iterations"]
        n = min(len(a) for a in asym)
        assert x is not None  # every group has a run
        out[float(level)] = {"x": x[:n], "asym": np.stack([a[:n] for a in asym]), "dkl": np.stack([d[:n] for d in dkl]),
                             "clipped": np.array(clipped)}  # fmt: skip
    return out


def _median_final(d: dict[str, Any], key: str) -> float:
    v = d[key][:, -1]
    return float(np.median(v))


def _common_checks(numbers: dict[str, float], top: float, quick_ratio: float | None = None) -> list[Check]:
    """Checks of both figures: SAL lowers the asymmetry and D_KL at the top noise level.

    ``quick_ratio``: the orders-of-magnitude ratio (>= 100) needs the paper's run length (with
    plasticity noise the asymmetry SAL removes keeps coming back: the ratio grows with the number
    of cycles); it is then a paper-profile check, and the quick profile counts ``ratio >= quick_ratio``.
    """
    ratio = numbers["asym_ratio_nosal_over_sal"]
    detail = (
        f"median final asymmetry {numbers['nosal_final_asym']:.3g} without SAL vs {numbers['sal_final_asym']:.3g} "
        f"with SAL (ratio {ratio:.3g}, expected >= {{}})"
    )
    quick = [] if quick_ratio is None else [
        Check(f"SAL lowers Var(W - W^T) at least {quick_ratio:g}-fold (noise {top})", ratio >= quick_ratio,
              detail.format(f"{quick_ratio:g}"))
    ]  # fmt: skip
    return [
        *quick,
        Check(
            f"SAL lowers Var(W - W^T) by orders of magnitude (noise {top})",
            ratio >= 100,
            detail.format(100),
            paper_only=quick_ratio is not None,
        ),
        Check(
            "SAL ends with a lower D_KL than no SAL at the top noise level",
            numbers["sal_final_dkl"] < numbers["nosal_final_dkl"],
            f"median final D_KL {numbers['sal_final_dkl']:.4g} with SAL vs {numbers['nosal_final_dkl']:.4g} without",
        ),
        Check(
            "with SAL the final D_KL is close to the noise-free baseline (within a factor 2)",
            numbers["sal_final_dkl"] <= 2 * numbers["baseline_final_dkl"],
            f"{numbers['sal_final_dkl']:.4g} vs baseline {numbers['baseline_final_dkl']:.4g}",
        ),
    ]


def _fig4_checks(nosal: dict[float, dict[str, Any]]) -> list[Check]:
    """Exact facts of Fig. 4: the baseline stays symmetric; without SAL the asymmetry is frozen."""
    base_asym = nosal[0.0]["asym"]
    checks = [Check("the noise-free baseline stays exactly symmetric", bool(np.all(base_asym == 0)),
                    f"max Var(W - W^T) over runs and records: {float(np.max(base_asym)):.3g}")]  # fmt: skip
    # without SAL and plasticity noise W - W^T changes only where clipping acts: compare the first and
    # last records of every run whose recorded weights never reached the clip
    rel = []
    for lv, v in nosal.items():
        a = v["asym"]
        rel += [float(abs(a[k, -1] - a[k, 0]) / a[k, 0]) for k in range(a.shape[0]) if lv > 0 and not v["clipped"][k]]
    worst = max(rel) if rel else float("nan")
    checks.append(Check("without SAL (and without plasticity noise) the asymmetry never changes",
                        bool(rel) and worst < 1e-6,
                        f"largest relative change first -> last record {worst:.3g} over {len(rel)} runs whose "
                        "weights never reached the clip (clipped runs excluded)"))  # fmt: skip
    return checks


def _fig5_checks(numbers: dict[str, float], nosal: dict[float, dict[str, Any]], top: float) -> list[Check]:
    base = _median_final(nosal[0.0], "asym")
    grow = numbers["nosal_final_asym"] > base
    return [Check("without SAL, plasticity noise increases the asymmetry", grow,
                  f"{numbers['nosal_final_asym']:.3g} at noise {top} vs {base:.3g} at 0")]  # fmt: skip


def _draw(fig: str, results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    from .plots import plot_noise_figure

    syn = fig == "fig4"
    nosal_name, sal_name = ("syn_noise", "syn_noise_sal") if syn else ("plast_noise", "plast_noise_sal")
    key = presets.NOISE_KEY[nosal_name]
    max_level = 0.8 if syn else None  # the paper's Fig. 4 omits sigma_init = 1.0
    nosal = _collect(results[nosal_name], key, max_level)
    sal = _collect(results[sal_name], key, max_level)
    if 0.0 not in nosal or not sal:
        raise UserError(f"{fig}: the sweeps hold no completed runs at noise 0 (baseline) or with SAL; run them first")
    top = max(nosal)
    base_label = f"no SAL, {key.split('.')[0]} noise 0"
    curves = {base_label: nosal[0.0], f"no SAL, noise {top}": nosal[top], f"SAL, noise {top}": sal[top]}
    levels = sorted(set(nosal) & set(sal))

    def finals(d):
        return {"levels": np.array(levels), "asym": np.stack([d[lv]["asym"][:, -1] for lv in levels]),
                "dkl": np.stack([d[lv]["dkl"][:, -1] for lv in levels])}  # fmt: skip

    name = "ssn_initnoise" if syn else "ssn_stdpnoise"
    noise_label = "synaptic noise sigma_init" if syn else "plasticity noise sigma_stdp"
    dx = 0.01 if syn else 0.001
    files = plot_noise_figure(curves, {"sal": finals(sal), "nosal": finals(nosal)}, base_label, noise_label,
                              out_dir, name, log_asym=not syn, dx=dx)  # fmt: skip
    numbers = {
        "baseline_final_dkl": _median_final(nosal[0.0], "dkl"),
        "baseline_final_asym": _median_final(nosal[0.0], "asym"),
        "nosal_final_dkl": _median_final(nosal[top], "dkl"),
        "nosal_final_asym": _median_final(nosal[top], "asym"),
        "sal_final_dkl": _median_final(sal[top], "dkl"),
        "sal_final_asym": _median_final(sal[top], "asym"),
        "top_noise_level": float(top),
    }
    numbers["asym_ratio_nosal_over_sal"] = numbers["nosal_final_asym"] / max(numbers["sal_final_asym"], 1e-300)
    common = _common_checks(numbers, top, quick_ratio=None if syn else 10.0)
    checks = common + (_fig4_checks(nosal) if syn else _fig5_checks(numbers, nosal, top))
    return FigureOutput(files=files, numbers=numbers, checks=checks)


def _noise_figure(figure_id: str, noise: str) -> Figure:
    """Fig. 4 or 5: the SSN with ``noise`` noise, with and without SAL."""
    return Figure(
        id=figure_id,
        summary=f"SSN with {noise} noise: asymmetry and D_KL with and without SAL",
        sweeps=lambda profile: _sweeps(figure_id, profile),
        draw=lambda results, out_dir: _draw(figure_id, results, out_dir),
    )


register_figure(_noise_figure("fig4", "synaptic (initialisation)"))
register_figure(_noise_figure("fig5", "plasticity"))


# --------------------------------------------------------------------------- memory estimate
@register_estimate("ssn")
def memory_estimate(config: SSNConfig) -> list[MemoryEstimate]:
    n = config.dim
    s = config.schedule
    records = 0 if s.val_step == 1 else -(-s.num_epochs // s.val_step)  # val_step 1: no validation
    # per record: q (2^n), W (n^2), b, asym, D_KL; kept in the state, copied and pickled into every checkpoint
    per_record = 3 * F64 * (2**n + n * n + n + 3) + 5 * NP_ARRAY_IN_LIST
    keys = ("dim", "schedule.num_epochs", "schedule.val_step")
    return [
        MemoryEstimate(F64 * 2**n * 4, "the sampled state histogram over 2^dim states", ("dim",)),
        MemoryEstimate(per_record * records, f"the records of {records} validations", keys),
    ]
