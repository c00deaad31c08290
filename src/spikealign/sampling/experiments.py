"""The sampling experiment ``ssn`` (runs and registration); importing it registers figures 4 and 5 too.

``ssn`` trains fully connected spiking sampling networks toward Boltzmann targets with wake-sleep
STDP and optional SAL (docs/sampling.md, "Wake-sleep learning with SAL"); many runs with the same schedule are trained
in one compiled, batched call (``run_batch``).  Reference YAML files (``scripts/ssn/*.yaml``) are
accepted unchanged.  The run config is :class:`~spikealign.sampling.config.SSNConfig`; figures 4 and
5 (sweeps, checks, drawing) are in :mod:`spikealign.sampling.figures`.
"""

from __future__ import annotations

import functools
import numbers
from collections import defaultdict
from typing import Any

import numpy as np

from .. import seeding
from ..guards import check_finite
from ..registry import Experiment, register_experiment
from ..resources import F64, NP_ARRAY_IN_LIST, MemoryEstimate, register_estimate
from ..runs import RunContext, layout_problem
from . import figures  # noqa: F401 (registers fig4 and fig5)
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
