"""The experiments ``dale-sal`` and ``dale-rate``: runs and their registration (configs in :mod:`.config`).

See docs/sampling.md, "Dale's-law E/I system".

* ``dale-sal``: the SAL update on a grid of raw E->E weights (the phase-plane panels); one run
  computes the outer product of its ``w_e2_e1`` and ``w_e1_e2`` lists, so a 21 x 21 grid is split
  into a handful of runs by a sweep over chunks of ``w_e2_e1``.
* ``dale-rate``: the effective-weight check: e2's on-fraction (rate x t_ref) in the E-I circuit and
  in the "direct" circuit whose E->E weight is the effective weight.
"""

from __future__ import annotations

import time

import numpy as np

from ...registry import Experiment, register_experiment
from ...resources import MemoryEstimate, register_estimate
from .config import DaleRateConfig, DaleSALConfig
from .measure import _chunk_size, measure_sal
from .model import NEURONS, circuit_parameters, effective_weight, ei_network


def _measure_with_progress(ctx, desc: str, W, b, n_steps: int, seeds, config) -> tuple[np.ndarray, np.ndarray]:
    bar = ctx.progress(total=W.shape[0], desc=desc, unit="sim")
    try:
        return measure_sal(W, b, n_steps, seeds, t_ref=config.t_ref, tau_syn=config.tau_syn, progress=bar.update)
    finally:
        bar.close()


def run_sal_grid(config: DaleSALConfig, ctx) -> dict[str, float]:
    """Experiment ``dale-sal``: dW(e2<-e1), dW(e1<-e2) and spike counts at every grid point.

    Every grid point has its own random streams, named by the circuit and the two raw weights under
    the run's seed, so a point's result does not depend on how a sweep splits the grid into runs.

    Saves ``sal.npz`` with ``w_e2_e1`` (na,), ``w_e1_e2`` (nc,), ``dw_e2_e1`` and ``dw_e1_e2``
    (na, nc, n_replicas), ``counts`` (na, nc, n_replicas, 4), ``offsets`` [offset(e2_e1), offset(e1_e2)].
    """
    params = circuit_parameters(config.circuit, config.param_seed)
    a = np.asarray(config.w_e2_e1, dtype=float)
    c = np.asarray(config.w_e1_e2, dtype=float)
    R = config.n_replicas
    A, C = np.meshgrid(a, c, indexing="ij")
    W, b = ei_network(np.repeat(A.ravel(), R), np.repeat(C.ravel(), R), params)
    names = [(repr(float(x)), repr(float(y))) for x, y in zip(A.ravel(), C.ravel(), strict=True)]
    seeds = np.concatenate([ctx.replica_seeds(R, "dale-sal", config.circuit, x, y) for x, y in names])
    t0 = time.perf_counter()
    S, counts = _measure_with_progress(ctx, f"dale-sal {config.circuit}", W, b, config.n_steps, seeds, config)
    wall = time.perf_counter() - t0
    shape = (a.size, c.size, R)
    dw21 = S[:, 1, 0].reshape(shape)
    dw12 = S[:, 0, 1].reshape(shape)
    ctx.save_arrays(
        "sal",
        w_e2_e1=a,
        w_e1_e2=c,
        dw_e2_e1=dw21,
        dw_e1_e2=dw12,
        counts=counts.reshape((*shape, 4)),
        offsets=np.array([params.offset("e2_e1"), params.offset("e1_e2")]),
    )
    return {
        "n_points": int(a.size * c.size),
        "n_simulations": int(W.shape[0]),
        "mean_abs_dw_e2_e1": float(np.mean(np.abs(dw21))),
        "offset_e2_e1": params.offset("e2_e1"),
        "offset_e1_e2": params.offset("e1_e2"),
        "sim_seconds": wall,
        "steps_per_second": W.shape[0] * config.n_steps / max(wall, 1e-9),
    }


def run_rate_check(config: DaleRateConfig, ctx) -> dict[str, float]:
    """Experiment ``dale-rate``: e2's on-fraction, E-I circuit vs direct circuit.

    (a) E-I: W(e1<-e2) = W(e1<-i2) = 0, W(e2<-e1) = w (direct path plus e1 -> i1 -> e2);
    (b) direct: additionally W(e2<-i1) = 0 and W(e2<-e1) = W_eff(w).
    On-fraction = e2's spike count x t_ref / T.  Saves ``rates.npz`` with ``w_e2_e1``, ``w_eff``,
    ``on_ei`` and ``on_direct`` (n_w, n_replicas).
    """
    params = circuit_parameters(config.circuit, config.param_seed)
    w = np.asarray(config.w_e2_e1, dtype=float)
    w_eff = effective_weight(w, "e2_e1", params)
    R = config.n_replicas
    W_ei, b_ei = ei_network(np.repeat(w, R), 0.0, params, zero=("e1_i2",))
    W_di, b_di = ei_network(np.repeat(w_eff, R), 0.0, params, zero=("e1_i2", "e2_i1"))
    W = np.concatenate([W_ei, W_di])
    b = np.concatenate([b_ei, b_di])
    seeds = np.concatenate(
        [ctx.replica_seeds(R, "dale-rate", circuit, repr(float(x))) for circuit in ("ei", "direct") for x in w]
    )
    _, counts = _measure_with_progress(ctx, "dale-rate", W, b, config.n_steps, seeds, config)
    on = counts[:, NEURONS["e2"]] * config.t_ref / config.n_steps
    on_ei = on[: w.size * R].reshape(w.size, R)
    on_direct = on[w.size * R :].reshape(w.size, R)
    ctx.save_arrays("rates", w_e2_e1=w, w_eff=np.asarray(w_eff), on_ei=on_ei, on_direct=on_direct)
    diff = on_ei.mean(1) - on_direct.mean(1)
    return {
        "max_abs_diff": float(np.max(np.abs(diff))),
        "on_ei_min": float(on_ei.mean(1).min()),
        "on_ei_max": float(on_ei.mean(1).max()),
    }


register_experiment(
    Experiment(
        kind="dale-sal",
        config_model=DaleSALConfig,
        run=run_sal_grid,
        draw_run="spikealign.figures.run_plots:draw_dale_sal_run",
    )
)
register_experiment(
    Experiment(
        kind="dale-rate",
        config_model=DaleRateConfig,
        run=run_rate_check,
        draw_run="spikealign.figures.run_plots:draw_dale_rate_run",
    )
)


# --------------------------------------------------------------------------- memory estimates
def _no_progress(done: int) -> None:
    """A progress callback that reports nothing: sizes the batches as a run with a progress bar does."""


@register_estimate("dale-sal")
def sal_memory_estimate(config: DaleSALConfig) -> list[MemoryEstimate]:
    return _memory_estimate(config, len(config.w_e2_e1) * len(config.w_e1_e2) * config.n_replicas)


@register_estimate("dale-rate")
def rate_memory_estimate(config: DaleRateConfig) -> list[MemoryEstimate]:
    return _memory_estimate(config, 2 * len(config.w_e2_e1) * config.n_replicas)  # the E-I and the direct circuit


def _memory_estimate(config: DaleSALConfig | DaleRateConfig, simulations: int) -> list[MemoryEstimate]:
    per_sim = 12 * 4 * (config.n_steps // (config.t_ref + 1) + 1)  # the spike buffers of one simulation
    # the runs report progress, which cuts the batch into calls of fewer simulations
    sims = min(simulations, _chunk_size(simulations, config.n_steps, config.t_ref, progress=_no_progress))
    keys = ("n_steps", "n_replicas", "t_ref")
    return [MemoryEstimate(per_sim * sims, "the spike buffers of one batch of simulations", keys)]
