"""A small diagnostic experiment for trying (and testing) the run, sweep and resume machinery.

``kind: toy`` simulates ``n_walkers`` Gaussian random walks of ``n_steps`` steps with drift
``drift`` and step size ``sigma``.  It checkpoints every ``checkpoint_every`` steps.  (The tests
inject faults into it through a kind of their own, ``tests/toy_faults.py``.)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..config import RunConfig
from ..registry import Experiment, register_experiment
from ..resources import F64, MemoryEstimate, register_estimate
from ..runs import RunContext, layout_problem


class ToyConfig(RunConfig):
    kind: Literal["toy"] = "toy"
    n_steps: int = Field(100, gt=0, description="number of steps")
    n_walkers: int = Field(4, gt=0, le=100_000)
    drift: float = 0.0
    sigma: float = Field(1.0, gt=0)
    checkpoint_every: int = Field(10, gt=0)


def run(config: ToyConfig, ctx: RunContext) -> dict[str, float]:
    state = ctx.load_checkpoint(check_unstamped=lambda state: _unfit(state, config))
    if state is None:
        rng = ctx.rng("walk")
        x = np.zeros(config.n_walkers)
        trace = np.zeros((config.n_steps, config.n_walkers))
        step = 0
    else:
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = state["rng"]
        x, trace, step = state["x"], state["trace"], state["step"]
    for t in ctx.progress(range(step, config.n_steps), desc="toy", unit="step"):
        x = x + config.drift + config.sigma * rng.standard_normal(config.n_walkers)
        trace[t] = x
        done = t + 1
        if done % config.checkpoint_every == 0 or done == config.n_steps:
            ctx.save_checkpoint({"x": x, "trace": trace, "step": done, "rng": rng.bit_generator.state})
    ctx.save_arrays("trace", trace=trace)
    ctx.save_metrics({"final_positions": x.tolist()})
    return {"mean_final": float(x.mean()), "std_final": float(x.std())}


EXPERIMENT = register_experiment(
    Experiment(
        kind="toy",
        config_model=ToyConfig,
        run=run,
        draw_run="spikealign.figures.run_plots:draw_toy_run",
    )
)


def _unfit(state: dict, config: ToyConfig) -> str | None:
    """What does not fit ``config`` in a checkpoint of the earlier format (no stamp), else ``None``."""
    layout: dict[str, tuple[int, ...] | type] = {
        "x": (config.n_walkers,),
        "trace": (config.n_steps, config.n_walkers),
        "step": int,
        "rng": dict,
    }
    problem = layout_problem(state, layout)
    if problem is None and not 0 <= state["step"] <= config.n_steps:
        problem = f"'step' is {state['step']}, outside 0..{config.n_steps}"
    if problem is None and state["rng"].get("bit_generator") != "PCG64":
        problem = "'rng' is not the state of a PCG64 generator"
    return problem


# --------------------------------------------------------------------------- memory estimate
@register_estimate("toy")
def memory_estimate(config: ToyConfig) -> list[MemoryEstimate]:
    # the walk trace, its pickled copy in a checkpoint and the compressed .npz buffer
    return [MemoryEstimate(3 * F64 * config.n_steps * config.n_walkers, "the walk trace", ("n_steps", "n_walkers"))]
