"""The estimator experiments (runs and their registration); importing it registers their figures too.

Experiments
-----------
``estimator-connection``  one connection (W, B), one estimator, a simulated duration (Fig. 7 runs).
``sal-evolution``         pure SAL in an FC-shaped spiking net, no ANN and no data (docs/deep.md,
                          'SAL evolution'): angle and correlation per layer over epochs.

The run configs are in :mod:`spikealign.deep.estimators.config`; the figures ``fig7`` and
``sal-evolution`` in :mod:`spikealign.deep.estimators.figures`.  The deep-net methods ``sal``,
``rdd`` and ``stdwi`` are listed in :mod:`spikealign.deep.methods`.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from ... import seeding
from ...guards import check_finite
from ...registry import Experiment, register_experiment
from ...resources import F32, F64, PY_FLOAT_IN_LIST, MemoryEstimate, register_estimate
from ...runs import RunContext, structure_problem
from ..metrics import alignment_metrics
from . import figures  # noqa: F401 (registers fig7 and sal-evolution)
from .common import sal_state_bytes, torch_seed
from .config import ConnectionConfig, SALEvolutionConfig
from .connection import estimate, random_connection
from .sal import SALNet


# --------------------------------------------------------------------------- one connection
def run_connection(config: ConnectionConfig, ctx: RunContext) -> dict[str, float]:
    W, B0 = random_connection(config.n, config.weight_seed)
    settings = getattr(config, config.method).model_dump()
    t0 = time.perf_counter()
    B, hist = estimate(
        config.method, W, B0, config.seconds, seed=config.seed, settings=settings,
        record_every_s=config.record_every_s, progress=lambda it: ctx.progress(it, desc=config.method),
    )  # fmt: skip
    wall = time.perf_counter() - t0
    keys = [f"{config.method}.{k}" for k in ("sal_lr", "lr", "eta") if k in settings]
    check_finite({"the estimate B": B}, f"the end ({config.seconds:g} s)", keys)
    ctx.save_arrays("connection", W=W, B0=B0, B=B, **hist)
    final = alignment_metrics(W, B)
    return {
        "initial_angle": float(hist["angle"][0]),
        "final_angle": final["angle"],
        "final_slope": final["slope"],
        "final_corr": final["corr"],
        "final_sign": final["sign"],
        "sim_wall_s": wall,
    }


register_experiment(
    Experiment(
        kind="estimator-connection",
        config_model=ConnectionConfig,
        run=run_connection,
        draw_run="spikealign.figures.run_plots:draw_connection_run",
    )
)


# --------------------------------------------------------------------------- SAL time evolution
def _evo_point(net: SALNet) -> tuple[list[float], list[float]]:
    angles, corrs = [], []
    for l in range(net.L - 1):
        weight = net.W[l + 1]  # W[0] is None (no weights into the input layer)
        assert weight is not None
        m = alignment_metrics(weight.cpu().numpy(), net.B[l].T.cpu().numpy())
        angles.append(m["angle"])
        corrs.append(m["corr"])
    return angles, corrs


def _unfit_evolution(state: dict, net: SALNet, config: SALEvolutionConfig) -> str | None:
    """What does not fit in a sal-evolution checkpoint of the earlier format (no stamp), else ``None``:
    its net must have the structure of ``net`` (built for this config), one point per epoch done."""
    if set(state) != {"net", "angles", "corrs", "epoch"}:
        return f"keys {', '.join(sorted(map(str, state)))}, not angles, corrs, epoch, net"
    epoch = state["epoch"]
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch <= config.n_epochs:
        return f"'epoch' is {epoch!r}, not a number of epochs in 0..{config.n_epochs}"
    layers = len(config.sizes) - 1
    point = [[0.0] * layers] * (epoch + 1)  # an angle (a correlation) per layer after every epoch done
    return structure_problem(state["net"], net.state_dict(), "net") or next(
        (p for key in ("angles", "corrs") if (p := structure_problem(state[key], point, key))), None
    )


def run_sal_evolution(config: SALEvolutionConfig, ctx: RunContext) -> dict[str, float]:
    net = SALNet(
        config.sizes, t_ref=config.t_ref, lr=config.sal_lr, batch_size=config.batch_size,
        seed=torch_seed(config.seed, "sal", "noise"), chunk=config.chunk,
        init_rng=seeding.rng(config.seed, "sal", "init"),
    )  # fmt: skip
    state = ctx.load_checkpoint(check_unstamped=lambda state: _unfit_evolution(state, net, config))
    if state is None:
        a, c = _evo_point(net)
        angles, corrs, epoch = [a], [c], 0
    else:
        net.load_state_dict(state["net"])
        angles, corrs, epoch = state["angles"], state["corrs"], state["epoch"]
    for e in ctx.progress(range(epoch, config.n_epochs), desc="SAL epochs"):
        net.run(config.len_epoch * config.t_ref)
        net.apply_update()
        check_finite({f"feedback matrix {l}": b for l, b in enumerate(net.B)}, f"epoch {e}", ("sal_lr",))
        a, c = _evo_point(net)
        angles.append(a)
        corrs.append(c)
        ctx.save_checkpoint({"net": net.state_dict(), "angles": angles, "corrs": corrs, "epoch": e + 1})
    ang, cor = np.asarray(angles), np.asarray(corrs)
    ctx.save_arrays("evolution", epoch=np.arange(len(angles)), angle=ang, corr=cor)
    out: dict[str, float] = {}
    for l in range(ang.shape[1]):
        out[f"initial_angle_{l}"] = float(ang[0, l])
        out[f"final_angle_{l}"] = float(ang[-1, l])
        out[f"final_corr_{l}"] = float(cor[-1, l])
    out["mean_rate"] = float(np.mean(net.rates()))
    return out


register_experiment(
    Experiment(
        kind="sal-evolution",
        config_model=SALEvolutionConfig,
        run=run_sal_evolution,
        draw_run="spikealign.figures.run_plots:draw_evolution_run",
    )
)


# --------------------------------------------------------------------------- memory estimates
SAL_EVOLUTION_PER_WEIGHT = 8 * F32 + 9 * F64

CONNECTION_PER_WEIGHT = 15 * F64
"""Bytes per weight of the one-connection runs: W, B, the estimator's copies and the float64 metrics."""


@register_estimate("sal-evolution")
def sal_evolution_memory_estimate(config: SALEvolutionConfig) -> list[MemoryEstimate]:
    sizes = list(config.sizes)
    # per weight: W, B, Delta, the kernels' transposed copies and work arrays (float32), and the
    # float64 vectors of the alignment metrics after every epoch
    weights = SAL_EVOLUTION_PER_WEIGHT * sum(a * b for a, b in itertools.pairwise(sizes))
    state = sal_state_bytes(config.batch_size, sum(sizes), config.t_ref, 1, config.chunk, F32)
    return [
        MemoryEstimate(weights, "the weights, their SAL updates and alignment metrics", ("sizes",)),
        MemoryEstimate(state, "the spiking state", ("sizes", "batch_size", "chunk")),
    ]


@register_estimate("estimator-connection")
def connection_memory_estimate(config: ConnectionConfig) -> list[MemoryEstimate]:
    records = max(1.0, config.seconds / config.record_every_s)
    out = [
        MemoryEstimate(4 * PY_FLOAT_IN_LIST * records, "the recorded history", ("seconds", "record_every_s")),
        MemoryEstimate(CONNECTION_PER_WEIGHT * config.n**2, "the n x n connection and its estimators' state", ("n",)),
    ]
    if config.method == "sal":
        s = config.sal
        itemsize = F32 if getattr(s, "dtype", "float32") == "float32" else F64
        buffer_length = getattr(s, "buffer_length", 1)
        state = sal_state_bytes(s.batch_size, 2 * config.n, s.t_ref, buffer_length, s.chunk, itemsize)
        out.append(MemoryEstimate(state, "the SAL spiking state", ("sal.batch_size", "sal.chunk", "n")))
    return out
