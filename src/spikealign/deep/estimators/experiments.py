"""Registration of the estimator experiments, figures and deep-net methods.

Experiments
-----------
``estimator-connection``  one connection (W, B), one estimator, a simulated duration (Fig. 7 runs).
``sal-evolution``         pure SAL in an FC-shaped spiking net, no ANN and no data (docs/deep.md,
                          'SAL evolution'): angle and correlation per layer over epochs.

Figures
-------
``fig7``           SAL vs RDD vs STDWI on one 50x50 connection: W-B scatter per method, angle vs time.
``sal-evolution``  SAL's time evolution in [1600, 384, 192, 10].

The deep-net methods ``sal``, ``rdd`` and ``stdwi`` are listed in :mod:`spikealign.deep.methods`.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ... import seeding
from ...config import RunConfig, StrictModel
from ...figures.style import styled
from ...guards import check_finite
from ...registry import Check, Experiment, Figure, FigureOutput, register_experiment, register_figure
from ...resources import F32, F64, PY_FLOAT_IN_LIST, MemoryEstimate, register_estimate
from ...runs import RunContext, structure_problem
from ...sweep import SweepResult, SweepSpec
from ..metrics import alignment_metrics
from .common import sal_state_bytes, torch_seed
from .connection import PAIR_DEFAULTS, estimate, random_connection
from .sal import SALNet


# --------------------------------------------------------------------------- one connection
class SALPair(StrictModel):
    t_ref: int = Field(10, ge=1)
    sal_lr: float = Field(PAIR_DEFAULTS["sal"]["sal_lr"], gt=0)
    batch_size: int = Field(PAIR_DEFAULTS["sal"]["batch_size"], ge=1)
    chunk: int = Field(50, ge=1)


class RDDPair(StrictModel):
    update_clock: Literal["phase", "cumulative"] = Field(
        "cumulative", description="'phase' = the notebook's per-second clock: RDD's B never changes"
    )
    update_interval_s: float = Field(10.0, ge=0.001, description="feedback update period, s (at least one 1 ms step)")


class STDWIPair(StrictModel):
    lr: float = Field(0.02, gt=0)
    decay_weighting: float = Field(0.1, ge=0)


class ConnectionConfig(RunConfig):
    """One estimator on the Fig. 7 connection: W then B ~ U(+-sqrt(3/n)) from default_rng(weight_seed)."""

    kind: Literal["estimator-connection"] = "estimator-connection"
    method: Literal["sal", "rdd", "stdwi"] = "sal"
    n: int = Field(50, ge=2, le=2000, description="neurons per population")
    weight_seed: int = Field(43, ge=0, description="seed of W and the initial B (43 in the notebook)")
    seconds: float = Field(100.0, gt=0, description="simulated seconds")
    record_every_s: float = Field(1.0, ge=0.001, description="recording period, s (at least one 1 ms step)")
    sal: SALPair = Field(default_factory=SALPair)
    rdd: RDDPair = Field(default_factory=RDDPair)
    stdwi: STDWIPair = Field(default_factory=STDWIPair)

    @model_validator(mode="after")
    def _rdd_updates_at_least_once(self) -> ConnectionConfig:
        # RDD changes B only at its update times: a shorter run ends with B as it started
        if self.method == "rdd" and self.seconds < self.rdd.update_interval_s:
            raise ValueError(
                f"seconds={self.seconds:g} is shorter than rdd.update_interval_s={self.rdd.update_interval_s:g}: "
                "RDD would never update B; use seconds >= update_interval_s or a shorter interval"
            )
        return self


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
class SALEvolutionConfig(RunConfig):
    """Pure SAL in an FC-shaped spiking net with its own random init (reference salnet_symm.py)."""

    kind: Literal["sal-evolution"] = "sal-evolution"
    sizes: list[int] = Field(default_factory=lambda: [1600, 384, 192, 10])
    n_epochs: int = Field(100, ge=1)
    len_epoch: int = Field(1000, ge=1, description="ticks per epoch / t_ref (one update per epoch)")
    t_ref: int = Field(10, ge=1)
    sal_lr: float = Field(0.01, gt=0)
    batch_size: int = Field(1, ge=1)
    chunk: int = Field(200, ge=1)

    @field_validator("sizes")
    @classmethod
    def _sizes_ok(cls, v: list[int]) -> list[int]:
        if len(v) < 2 or any(n < 1 for n in v):
            raise ValueError("sizes needs at least two positive layer sizes")
        return v


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


# --------------------------------------------------------------------------- figures
FIG7_SECONDS = {"quick": 60.0, "paper": 100.0}
METHOD_STYLE = {"sal": ("SAL", "-"), "rdd": ("RDD", "--"), "stdwi": ("STDWI", "-.")}


def fig7_sweeps(profile: str) -> list[SweepSpec]:
    return [
        SweepSpec(
            name="connection",
            experiment="estimator-connection",
            base={"seconds": FIG7_SECONDS.get(profile, FIG7_SECONDS["quick"]), "seed": 0},
            grid={"method": ["sal", "rdd", "stdwi"]},
        )
    ]


def _square(ax, w, b) -> None:
    lim = 1.1 * max(np.abs(w).max(), np.abs(b).max())
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")


@styled
def fig7_draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    from ...figures import save_figure
    from ...figures.style import WIDTH, figure
    from ..methods import method_style

    res = results["connection"]
    table = res.completed()
    data = {}
    for _, row in table.iterrows():
        data[row["method"]] = (res.arrays(row["run_id"], "connection"), row)
    fig, axes = figure(2, 2, figsize=(WIDTH["onehalf"], WIDTH["onehalf"] * 0.9))
    numbers: dict[str, float] = {}
    checks: list[Check] = []
    for ax, method in zip(axes.flat[:3], ("sal", "rdd", "stdwi"), strict=True):
        label, _ = METHOD_STYLE[method]
        if method not in data:
            ax.set_title(f"{label}: missing")
            continue
        arr, _row = data[method]
        W, B = arr["W"], arr["B"]
        ax.scatter(W.ravel(), B.ravel(), s=6, alpha=0.2, color=method_style(method)["color"])
        _square(ax, W, B)
        ax.set_xlabel("W")
        ax.set_ylabel("B")
        ax.set_title(label)
    ax = axes.flat[3]
    for method, (arr, _row) in data.items():
        label, ls = METHOD_STYLE[method]
        # RDD's B changes only at its update times: draw it as steps
        ax.plot(
            arr["time_s"],
            arr["angle"],
            ls,
            label=label,
            color=method_style(method)["color"],
            drawstyle="steps-post" if method == "rdd" else "default",
        )
        m = alignment_metrics(arr["W"], arr["B"])
        numbers[f"{method}_initial_angle_deg"] = float(arr["angle"][0])
        numbers[f"{method}_final_angle_deg"] = m["angle"]
        numbers[f"{method}_slope"] = m["slope"]
        numbers[f"{method}_corr"] = m["corr"]
        checks.append(
            Check(
                f"{label} lowers the angle between W and B",
                bool(m["angle"] < arr["angle"][0] - 1.0),
                f"{arr['angle'][0]:.1f} deg -> {m['angle']:.1f} deg after {arr['time_s'][-1]:.0f} s",
            )
        )
    if "sal" in data:
        arr = data["sal"][0]
        secs = float(arr["time_s"][-1])
        final = numbers["sal_final_angle_deg"]
        checks.append(
            Check(
                "SAL brings the angle below 45 degrees (docs/deep.md, 'One connection'; 100 s in the paper profile)",
                bool(final < 45.0),
                f"{final:.1f} deg after {secs:.0f} s",
            )
        )
    ax.set_xlabel("t [s]")
    ax.set_ylabel("angle(W, B) [deg]")
    ax.legend(frameon=False)
    files = save_figure(fig, out_dir, "fig7")
    return FigureOutput(
        files=files,
        numbers=numbers,
        checks=checks,
        notes="RDD uses a cumulative update clock (the notebook's per-second clock never updates RDD's B).",
    )


register_figure(
    Figure(
        id="fig7",
        summary="SAL vs RDD vs STDWI on one 50x50 connection: W-B scatter and angle over 100 s",
        sweeps=fig7_sweeps,
        draw=fig7_draw,
    )
)

EVO_PROFILE = {"quick": {"n_epochs": 6}, "paper": {"n_epochs": 100}}


def evo_sweeps(profile: str) -> list[SweepSpec]:
    return [
        SweepSpec(
            name="evolution",
            experiment="sal-evolution",
            base={**EVO_PROFILE.get(profile, EVO_PROFILE["quick"]), "seed": 0},
        )
    ]


@styled
def evo_draw(results: dict[str, SweepResult], out_dir: Path) -> FigureOutput:
    from ...figures import save_figure
    from ...figures.style import WIDTH, figure

    res = results["evolution"]
    table = res.completed()
    fig, (a1, a2) = figure(1, 2, figsize=(WIDTH["double"], WIDTH["double"] * 0.4))
    numbers: dict[str, float] = {}
    checks: list[Check] = []
    if len(table):
        arr = res.arrays(table.iloc[0]["run_id"], "evolution")
        ep, ang, cor = arr["epoch"], arr["angle"], arr["corr"]
        for l in range(ang.shape[1]):
            a1.plot(ep, ang[:, l], label=f"layer {l}")
            a2.plot(ep, cor[:, l], label=f"layer {l}")
            numbers[f"initial_angle_{l}_deg"] = float(ang[0, l])
            numbers[f"final_angle_{l}_deg"] = float(ang[-1, l])
            numbers[f"final_corr_{l}"] = float(cor[-1, l])
            checks.append(
                Check(
                    f"SAL lowers the angle of feedback matrix {l}",
                    bool(ang[-1, l] < ang[0, l] - 0.5),
                    f"{ang[0, l]:.1f} -> {ang[-1, l]:.1f} deg over {int(ep[-1])} epochs",
                )
            )
    a1.set_xlabel("epoch")
    a1.set_ylabel("angle(W, B) [deg]")
    a2.set_xlabel("epoch")
    a2.set_ylabel("corr(W, B)")
    a1.legend(frameon=False)
    files = save_figure(fig, out_dir, "sal-evolution")
    return FigureOutput(files=files, numbers=numbers, checks=checks)


register_figure(
    Figure(
        id="sal-evolution",
        summary="SAL alone in [1600, 384, 192, 10]: angle and correlation per layer over epochs",
        sweeps=evo_sweeps,
        draw=evo_draw,
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
