"""The theory experiments (runs and their registration); importing it registers the theory figures too.

Experiments (``kind:`` of a run config):

``theory-stdd``
    One analytic STDD and its SAL signal (:func:`spikealign.theory.stdd`); saves ``stdd.npz``
    (``dt``, ``p``).
``theory-phase-plane``
    The SAL flow on a ``n_w x n_w`` grid of ``(W_12, W_21)`` for one PSP shape and bias pair, its
    zero set and deviation from the diagonal; saves ``phase_plane.npz`` (``w``, ``sal``,
    ``zeros``).  Batched: a sweep hands it chunks of grids, computed in one call.
``theory-spiking-sal``
    The spiking two-neuron SAL protocol of Fig. 2d (:mod:`spikealign.theory.spiking`); saves
    ``trajectory.npz`` (``epoch``, ``time_s``, ``w`` as ``(W_12, W_21)``, ``rates``).

The run configs are in :mod:`spikealign.theory.config`.  Figures: ``fig2c``, ``fig2d``, ``fig2e``,
``psp-shapes``, ``proof`` (one module each in :mod:`spikealign.theory.figures`, which lists and
registers them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import Experiment, register_experiment
from ..resources import F64, MemoryEstimate, register_estimate
from ..runs import RunContext
from . import figures  # noqa: F401 (registers the theory figures)
from .config import PhasePlaneConfig, SpikingSalConfig, StddConfig
from .distribution import sal_batch, sal_signal, stdd
from .kernels import SalSetup
from .phase_plane import deviation_from_diagonal, mean_signed_offset, sign_agreement, upscale_grid, zero_set
from .spiking import sal_weight_evolution


# --------------------------------------------------------------------------- runs
def run_stdd(config: StddConfig, ctx: RunContext) -> dict[str, float]:
    r = stdd(config.w_12, config.w_21, config.b_1, config.b_2, t_ref=config.t_ref, t_max=config.t_max,
             psp=config.psp, t_syn=config.t_syn, fill_middle=config.fill_middle)  # fmt: skip
    d12, d21 = sal_signal(r, config.window.a_plus, config.window.a_minus, config.window.tau)
    ctx.save_arrays("stdd", dt=r.dt, p=r.p)
    m = config.t_max
    return {
        "dw_12": d12,
        "dw_21": d21,
        "p_plus1": float(r.p[m]),
        "p_minus1": float(r.p[m - 2]),
        "mass_left": float(r.left.sum()),
        "mass_right": float(r.right.sum()),
        "asymmetry": float(np.nanmax(np.abs(r.p - r.p[::-1]))),
    }


def _grid_weights(config: PhasePlaneConfig) -> np.ndarray:
    return np.linspace(config.w_min, config.w_max, config.n_w)


def analyse_phase_plane(w: np.ndarray, sal: np.ndarray, upscale: int) -> tuple[dict[str, float], np.ndarray]:
    """Summary numbers and zero set ``[W_21, W_12*]`` of a phase-plane grid ``sal[i, j] = (dW_12, dW_21)``."""
    if upscale:
        w_hd, grid_hd = upscale_grid(w, sal[:, :, 0], upscale)
    else:
        w_hd, grid_hd = w, sal[:, :, 0]
    zeros = zero_set(w_hd, grid_hd)
    w12, w21 = np.meshgrid(w, w, indexing="ij")
    off = w12 != w21
    ratio = sal[:, :, 0][off] / (w21 - w12)[off]
    summary = {
        "deviation": deviation_from_diagonal(zeros),
        "max_offset": float(np.max(np.abs(zeros[:, 1] - zeros[:, 0]))) if zeros.size else float("nan"),
        "mean_offset": mean_signed_offset(zeros),
        "mean_offset_pos": mean_signed_offset(zeros[zeros[:, 0] > 0]),
        "n_zeros": int(zeros.shape[0]),
        "sign_agreement": sign_agreement(w, sal[:, :, 0]),
        "antisymmetry": float(np.max(np.abs(sal[:, :, 0] + sal[:, :, 1]))),
        "max_abs_sal": float(np.max(np.abs(sal[:, :, 0]))),
        "diag_max_abs_sal": float(np.max(np.abs(np.diag(sal[:, :, 0])))),
        "ratio_min": float(ratio.min()),
        "ratio_max": float(ratio.max()),
    }
    return summary, zeros


def run_phase_plane_batch(configs: list[PhasePlaneConfig], ctxs: list[RunContext]) -> list[dict[str, Any] | None]:
    """Compute many phase planes: configs sharing the chain parameters go through one batched call."""
    groups: dict[SalSetup, list[int]] = {}
    for i, c in enumerate(configs):
        groups.setdefault(c.setup(), []).append(i)
    grids: dict[int, np.ndarray] = {}
    for idx in groups.values():
        c0 = configs[idx[0]]
        parts = []
        for i in idx:
            c = configs[i]
            w = _grid_weights(c)
            w12, w21 = np.meshgrid(w, w, indexing="ij")
            parts.append((w12.ravel(), w21.ravel(), np.full(w12.size, c.b_1), np.full(w12.size, c.b_2)))
        w12, w21, b1, b2 = (np.concatenate([p[j] for p in parts]) for j in range(4))
        d12, d21 = sal_batch(w12, w21, b1, b2, c0.setup())
        start = 0
        for i in idx:
            n = configs[i].n_w
            grids[i] = np.stack([d12[start : start + n * n], d21[start : start + n * n]], axis=-1).reshape(n, n, 2)
            start += n * n
    out: list[dict[str, Any] | None] = []
    for i, (c, ctx) in enumerate(zip(configs, ctxs, strict=True)):
        w = _grid_weights(c)
        summary, zeros = analyse_phase_plane(w, grids[i], c.upscale)
        ctx.save_arrays("phase_plane", w=w, sal=grids[i], zeros=zeros)
        out.append(summary)
    return out


def run_phase_plane(config: PhasePlaneConfig, ctx: RunContext) -> dict[str, Any] | None:
    return run_phase_plane_batch([config], [ctx])[0]


def run_spiking_sal(config: SpikingSalConfig, ctx: RunContext) -> dict[str, float]:
    seeds = ctx.replica_seeds(1, "theory-spiking-sal")
    bar = ctx.progress(total=config.n_epochs, desc=f"spiking SAL (frozen: {config.frozen})", unit="epoch")
    traj, rates = sal_weight_evolution(config.w_12, config.w_21, config.b_1, config.b_2, *config.setup(), seeds=seeds,
                                       frozen=config.frozen, progress=bar.update)  # fmt: skip
    bar.close()
    traj, rates = traj[0], rates[0]
    epoch = np.arange(config.n_epochs + 1)
    # time axis of the paper: one step = tau_ref / t_ref with tau_ref = 10 ms
    time_s = epoch * (config.epoch_steps / config.t_ref) * 0.01
    ctx.save_arrays("trajectory", epoch=epoch, time_s=time_s, w=traj, rates=rates)
    tail = traj[-max(1, len(traj) // 10) :]
    s0 = config.w_12 + config.w_21
    return {
        "w_12_final": float(traj[-1, 0]),
        "w_21_final": float(traj[-1, 1]),
        "w_12_tail_mean": float(tail[:, 0].mean()),
        "w_21_tail_mean": float(tail[:, 1].mean()),
        "sum_drift": float(np.max(np.abs(traj.sum(1) - s0))),
        "mean_rate": float(rates.mean()),
    }


# --------------------------------------------------------------------------- registration
_PLOTS = "spikealign.figures.run_plots"
STDD = register_experiment(
    Experiment(kind="theory-stdd", config_model=StddConfig, run=run_stdd, draw_run=f"{_PLOTS}:draw_stdd_run")
)  # fmt: skip
PHASE_PLANE = register_experiment(
    Experiment(kind="theory-phase-plane", config_model=PhasePlaneConfig, run=run_phase_plane,
               draw_run=f"{_PLOTS}:draw_phase_plane_run",
               run_batch=run_phase_plane_batch, max_batch=32)
)  # fmt: skip
SPIKING_SAL = register_experiment(
    Experiment(kind="theory-spiking-sal", config_model=SpikingSalConfig, run=run_spiking_sal,
               draw_run=f"{_PLOTS}:draw_spiking_sal_run")
)  # fmt: skip


# --------------------------------------------------------------------------- memory estimates
CHAIN_SOLVE = 2 * F64
"""Bytes per t_max^3: the sparse linear solve of the t_max^2-state chain fills in about t_max^3 entries."""

SPIKING_SAL_PER_EPOCH = 8 * F64
"""Bytes per epoch of theory-spiking-sal: trajectory and rates (4 float64) and their saved copies."""


@register_estimate("theory-stdd")
@register_estimate("theory-phase-plane")
def chain_memory_estimate(config: StddConfig | PhasePlaneConfig) -> list[MemoryEstimate]:
    return [MemoryEstimate(CHAIN_SOLVE * config.t_max**3, "the Markov chain solve over t_max^2 states", ("t_max",))]


@register_estimate("theory-spiking-sal")
def spiking_sal_memory_estimate(config: SpikingSalConfig) -> list[MemoryEstimate]:
    # per epoch: the trajectory (2 weights) and rates (2), kept, plus their copies when saved
    return [
        MemoryEstimate(SPIKING_SAL_PER_EPOCH * (config.n_epochs + 1), "the weight trajectory and rates", ("n_epochs",))
    ]
