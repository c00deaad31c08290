"""Spiking feedback estimators: SAL, RDD and STDWI.

Three ways to learn a feedback matrix ``B`` that aligns with a forward matrix ``W`` from spikes:

``sal``    spike-based alignment learning (Gierlich et al.): escape-noise neurons, STDP with a
           Hebbian and an anti-Hebbian side (:mod:`.sal`);
``rdd``    regression-discontinuity design (Guerguiev et al. 2020): LIF neurons, a driven layer,
           per-window linear fits around the threshold (:mod:`.rdd`);
``stdwi``  spike-timing-dependent weight inference (Ahmad et al.): LIF neurons, fast-minus-slow
           input traces sampled at output spikes (:mod:`.stdwi`).

Public API
----------
* :func:`estimate` -- run one estimator on one connection ``(W, B)`` for a simulated duration
  and return the new ``B`` and its history (angle, correlation, slope over time).
* :func:`make_estimator` -- attach an estimator to a network built from feedback layers (any
  objects with ``.weight`` (out, in) and ``.feedback`` of the same shape, in forward order);
  ``before_epoch(epoch)`` runs the spiking phase and writes ``.feedback`` in place.
* :func:`validate_settings` -- check an estimator's settings (unknown keys and bad values raise
  ``ValueError`` naming the key) and fill in the defaults.
* On recorded spikes: :func:`~.sal.sal_pair_accumulation` and :func:`~.stdwi.stdwi_from_spikes`.

Orientation: ``W`` and ``B`` are both (out, in) = (post, pre), like an FA layer's ``weight`` and
``feedback``; perfect alignment is ``B = W``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, Field, ValidationError

from ... import seeding
from ...config import StrictModel, describe_validation_error
from .common import alignment_metrics, angle_deg, corrcoef, slope, torch_seed
from .rdd import DT as RDD_DT
from .rdd import RDDNet
from .sal import SALNet, sal_pair_accumulation
from .stdwi import STDWINet, stdwi_from_spikes

ESTIMATORS = ("sal", "rdd", "stdwi")


# --------------------------------------------------------------------------- settings
class SALSettings(StrictModel):
    """SAL phase before every epoch (reference ``sal_params``; spec 2.4)."""

    n_iterations: int = Field(5, ge=0, description="SAL iterations (feedback updates) per epoch")
    t_ref: int = Field(10, ge=1, description="refractory period = PSP length, ticks")
    len_epoch: int = Field(200, ge=1, description="ticks per iteration / t_ref")
    sal_lr: float | list[float] = Field(0.04, description="eta, one value or one per FC layer")
    batch_size: int = Field(32, ge=1, description="independent replicas")
    buffer_length: int = Field(2, ge=1, description="trace length in units of t_ref")
    chunk: int = Field(50, ge=1, description="ticks per accumulation GEMM (speed only; changes the RNG stream)")
    copy_biases: bool = Field(True, description="copy the FC biases into layers 1..L-1 (reference)")
    reset_state: bool = Field(False, description="reset the spiking state every epoch (reference: never)")
    dtype: Literal["float32", "float64"] = "float32"
    threads: int = Field(1, ge=0, description="torch CPU threads during the SAL phase (0 = torch's setting)")


class RDDSettings(StrictModel):
    """RDD phase before every epoch (reference ``rdd_params``; spec 3.6)."""

    rdd_time: float = Field(90.0, gt=0, description="simulated seconds per phase (split evenly over the layers)")
    update_interval_s: float = Field(10.0, gt=0, description="feedback update period, s")
    update_clock: Literal["phase", "cumulative"] = Field(
        "phase", description="'phase': clock restarts each phase (reference); 'cumulative': runs across phases"
    )
    reset_each_epoch: bool = Field(True, description="reset voltages/windows/histories before a phase (reference)")
    stim_ratio: float = Field(0.2, gt=0, le=1)
    input_rate_hz: float = Field(200.0, gt=0)
    resample_ms: int = Field(100, ge=1)


class STDWISettings(StrictModel):
    """STDWI phase before every epoch (new: the reference has no deep-net STDWI; spec 4)."""

    seconds: float = Field(10.0, gt=0, description="simulated seconds per epoch, every connection in parallel")
    dt_ms: float = Field(0.25, gt=0)
    lr: float = Field(0.02, gt=0)
    decay_weighting: float = Field(0.1, ge=0)
    tau_fast: float = Field(10.0, gt=0)
    tau_slow: float = Field(200.0, gt=0)
    stim_rate_hz: float = Field(200.0, gt=0)
    stim_ratio: float = Field(0.2, gt=0, le=1)
    stim_duration_ms: float = Field(100.0, gt=0)
    stim_weight_scale: float = 10.0
    weight_scale: float = 75.0
    weight_normalization: Literal["none", "fan_in"] = Field(
        "fan_in", description="'fan_in' rescales W by 1/(std(W) sqrt(n_in)) so any layer size gets the same drive"
    )
    rescale: Literal["none", "initial_std"] = Field(
        "initial_std", description="after each phase rescale B to the std of the initial B (keeps FA's gradient scale)"
    )


SETTINGS: dict[str, type[BaseModel]] = {"sal": SALSettings, "rdd": RDDSettings, "stdwi": STDWISettings}

# Defaults of the single-connection runs (Fig. 7 notebook, spec 6.1)
PAIR_DEFAULTS: dict[str, dict[str, Any]] = {
    "sal": {"sal_lr": 0.05, "batch_size": 8, "t_ref": 10},
    "rdd": {"update_clock": "cumulative"},
    "stdwi": {"weight_normalization": "none", "rescale": "none"},
}


def _check_name(name: str) -> None:
    if name not in SETTINGS:
        raise ValueError(f"unknown estimator {name!r} (known: {', '.join(ESTIMATORS)})")


def validate_settings(name: str, settings: dict | None) -> dict:
    """Validate the settings of estimator ``name`` and return them completed with defaults.

    Raises
    ------
    ValueError
        For an unknown estimator, an unknown key or a bad value (the message names the key).
    """
    _check_name(name)
    model = SETTINGS[name]
    try:
        return model.model_validate(dict(settings or {})).model_dump()
    except ValidationError as exc:
        raise ValueError(describe_validation_error(model, exc, f"estimator '{name}' settings")) from None


# --------------------------------------------------------------------------- deep-net estimators
def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64)


class Estimator:
    """Base of the deep-net hooks: ``before_epoch``, ``state_dict``, ``load_state_dict``."""

    name = ""

    def __init__(self, fc_layers: list, settings: dict, seed: int, device):
        if not fc_layers:
            raise ValueError("an estimator needs at least one FC feedback layer")
        for i, layer in enumerate(fc_layers):
            if tuple(layer.weight.shape) != tuple(layer.feedback.shape):
                raise ValueError(f"fc layer {i}: weight {tuple(layer.weight.shape)} and feedback shapes differ")
        for i in range(1, len(fc_layers)):
            if fc_layers[i].weight.shape[1] != fc_layers[i - 1].weight.shape[0]:
                raise ValueError(f"fc layer {i} does not take the output of layer {i - 1} as input")
        self.fc_layers = list(fc_layers)
        self.settings = validate_settings(self.name, settings)
        self.seed = int(seed)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.sizes = [int(fc_layers[0].weight.shape[1])] + [int(layer.weight.shape[0]) for layer in fc_layers]

    def _write_feedback(self, k: int, b_forward) -> None:
        fb = self.fc_layers[k].feedback
        with torch.no_grad():
            fb.copy_(torch.as_tensor(b_forward).to(device=fb.device, dtype=fb.dtype))

    def _metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for k, layer in enumerate(self.fc_layers):
            m = alignment_metrics(layer.weight, layer.feedback)
            out[f"angle/{k}"] = m["angle"]
            out[f"corrcoef/{k}"] = m["corrcoef"]
        return out

    def before_epoch(self, epoch: int) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def load_state_dict(self, d: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class SALEstimator(Estimator):
    """SAL phase before every epoch (spec 2.4).

    Each call copies ``W_l``, ``B_{l-1} = feedback^T`` and the biases into the spiking net (its
    own layer-0 bias stays the random constant drawn once), runs ``n_iterations`` iterations of
    ``len_epoch * t_ref`` ticks with one feedback update each, and writes ``feedback = B^T`` back.
    The spiking state is never reset (reference) unless ``reset_state``.
    """

    name = "sal"

    def __init__(self, fc_layers, settings, seed, device):
        super().__init__(fc_layers, settings, seed, device)
        s = self.settings
        lr = s["sal_lr"]
        if isinstance(lr, list) and len(lr) != len(self.fc_layers):
            raise ValueError(f"estimator 'sal' settings: sal_lr needs {len(self.fc_layers)} values, got {len(lr)}")
        self.net = SALNet(
            self.sizes,
            t_ref=s["t_ref"],
            lr=lr,
            batch_size=s["batch_size"],
            buffer_length=s["buffer_length"],
            seed=torch_seed(seed, "sal", "noise"),
            device=self.device,
            dtype=getattr(torch, s["dtype"]),
            chunk=s["chunk"],
            init_rng=seeding.rng(seed, "sal", "init"),
            threads=s["threads"],
        )

    def before_epoch(self, epoch: int) -> dict[str, float]:
        s, net = self.settings, self.net
        before = self._metrics()
        with torch.no_grad():
            for k, layer in enumerate(self.fc_layers):
                net.W[k + 1] = layer.weight.detach().to(net.device, net.dtype).clone()
                net.B[k] = layer.feedback.detach().to(net.device, net.dtype).T.contiguous().clone()
                bias = getattr(layer, "bias", None)
                if s["copy_biases"] and bias is not None:
                    net.c[k + 1] = bias.detach().to(net.device, net.dtype).clone()
            if s["reset_state"]:
                net.reset_state()
            net.iterate(s["n_iterations"], s["len_epoch"] * s["t_ref"])
            for k in range(len(self.fc_layers)):
                self._write_feedback(k, net.B[k].T)
        after = self._metrics()
        out = {f"before/{k}": v for k, v in before.items() if k.startswith("angle")}
        out.update(after)
        for l, r in enumerate(net.rates()):
            out[f"rate/{l}"] = r
        return out

    def state_dict(self) -> dict:
        return {"sal": self.net.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.net.load_state_dict(d["sal"])


class RDDEstimator(Estimator):
    """RDD phase before every epoch (spec 3.2-3.6).

    Per phase: reset the spiking state (``reset_each_epoch``), copy ``W`` (rescaled) and
    ``F_k = feedback^T`` (``sigma_B`` is fixed by the first copy), simulate ``rdd_time`` seconds
    driving layers ``0..L-2`` in equal parts, replace the feedback at every ``update_interval_s``
    of the update clock, write ``feedback = F^T`` back.  With the reference's ``rdd_time = 90``
    the two clocks agree; with a phase shorter than the interval only ``cumulative`` updates.
    """

    name = "rdd"

    def __init__(self, fc_layers, settings, seed, device):
        super().__init__(fc_layers, settings, seed, device)
        s = self.settings
        self.net = RDDNet(
            self.sizes,
            seed=seeding.seed_sequence(seed, "rdd", "drive").generate_state(1)[0],
            stim_ratio=s["stim_ratio"],
            input_rate=s["input_rate_hz"] * RDD_DT,
            resample_steps=max(1, round(s["resample_ms"] * 1e-3 / RDD_DT)),
            update_interval_s=s["update_interval_s"],
            update_clock=s["update_clock"],
        )

    def before_epoch(self, epoch: int) -> dict[str, float]:
        s, net = self.settings, self.net
        before = self._metrics()
        if s["reset_each_epoch"]:
            net.reset()
        for k, layer in enumerate(self.fc_layers):
            net.set_weight(k + 1, _np(layer.weight))
            net.set_feedback(k, _np(layer.feedback).T)
        net.run_phase(s["rdd_time"])
        for k in range(len(self.fc_layers)):
            self._write_feedback(k, net.feedback(k).T.copy())
        out = {f"before/{k}": v for k, v in before.items() if k.startswith("angle")}
        out.update(self._metrics())
        for l, r in enumerate(net.rates_hz()):
            out[f"rate_hz/{l}"] = r
        return out

    def state_dict(self) -> dict:
        return {"rdd": self.net.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.net.load_state_dict(d["rdd"])


def _stdwi_kwargs(s: dict) -> dict:
    return {
        "dt": s["dt_ms"],
        "stim_rate": s["stim_rate_hz"] * 1e-3,
        "stim_ratio": s["stim_ratio"],
        "stim_duration": s["stim_duration_ms"],
        "stim_weight_scale": s["stim_weight_scale"],
        "weight_scale": s["weight_scale"],
        "tau_fast": s["tau_fast"],
        "tau_slow": s["tau_slow"],
        "lr": s["lr"],
        "decay_weighting": s["decay_weighting"],
        "weight_normalization": s["weight_normalization"],
    }


class STDWIEstimator(Estimator):
    """STDWI phase before every epoch (our extension of spec 4 to deep networks).

    Every FC connection is an independent STDWI problem: its input population (the lower layer)
    is driven by gated Poisson stimuli, its output population (the upper layer) receives the
    current forward weights.  Each phase simulates ``seconds`` for every connection, continuing
    the spiking state of the previous phase; ``B`` is then written back, rescaled to the std of
    the initial ``B`` when ``rescale == "initial_std"``.
    """

    name = "stdwi"

    def __init__(self, fc_layers, settings, seed, device):
        super().__init__(fc_layers, settings, seed, device)
        s = self.settings
        self.nets = []
        self.init_std = []
        for k, layer in enumerate(self.fc_layers):
            W, B = _np(layer.weight), _np(layer.feedback)
            self.init_std.append(float(B.std()))
            sub = int(seeding.seed_sequence(seed, "stdwi", k).generate_state(1)[0])
            self.nets.append(STDWINet(W, B, seed=sub, **_stdwi_kwargs(s)))

    def before_epoch(self, epoch: int) -> dict[str, float]:
        s = self.settings
        before = self._metrics()
        out = {f"before/{k}": v for k, v in before.items() if k.startswith("angle")}
        for k, (layer, net) in enumerate(zip(self.fc_layers, self.nets, strict=True)):
            net.set_weight(_np(layer.weight), s["weight_normalization"], s["weight_scale"], s["stim_ratio"])
            net.B = _np(layer.feedback)
            net.run(s["seconds"] * 1000.0)
            B = net.B
            if s["rescale"] == "initial_std":
                sd = float(B.std())
                if sd > 0:
                    B = B * (self.init_std[k] / sd)
            net.B = B.copy()
            self._write_feedback(k, B)
            rin, rout = net.rates_hz()
            out[f"rate_hz/{k}/in"], out[f"rate_hz/{k}/out"] = rin, rout
        out.update(self._metrics())
        return out

    def state_dict(self) -> dict:
        return {"stdwi": [n.state_dict() for n in self.nets], "init_std": list(self.init_std)}

    def load_state_dict(self, d: dict) -> None:
        for n, sd in zip(self.nets, d["stdwi"], strict=True):
            n.load_state_dict(sd)
        self.init_std = list(d["init_std"])


_CLASSES = {"sal": SALEstimator, "rdd": RDDEstimator, "stdwi": STDWIEstimator}


def make_estimator(name: str, fc_layers: list, settings: dict | None, seed: int, device=None) -> Estimator:
    """Attach estimator ``name`` to ``fc_layers`` (FC feedback layers in forward order).

    Each layer needs ``.weight`` (out, in) and ``.feedback`` (same shape) torch tensors; an
    optional ``.bias`` is used by SAL.  ``before_epoch(epoch)`` runs one spiking phase and
    updates every ``.feedback`` in place (under ``torch.no_grad``); it returns metrics
    (``angle/k``, ``corrcoef/k`` after the phase, ``before/angle/k``, firing rates).
    """
    _check_name(name)
    return _CLASSES[name](fc_layers, settings or {}, seed, device)


# --------------------------------------------------------------------------- single connection
def _history_point(hist: dict, t: float, W: np.ndarray, B: np.ndarray) -> None:
    m = alignment_metrics(W, B)
    hist["time_s"].append(float(t))
    for key in ("angle", "corrcoef", "slope"):
        hist[key].append(m[key])


def estimate(
    name: str,
    W,
    B,
    seconds: float,
    seed: int = 0,
    settings: dict | None = None,
    record_every_s: float = 1.0,
    progress=None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run estimator ``name`` on one connection and return ``(B_new, history)``.

    Parameters
    ----------
    W : forward matrix (n_out, n_in), (post, pre).
    B : initial feedback estimate, same orientation (out, in).
    seconds : simulated duration.  SAL counts time as the reference notebook does: one tick is
        ``1/t_ref`` ms and a second is ``1000 t_ref / batch_size`` ticks of all replicas
        together (1250 ticks with 8 replicas); RDD steps are 1 ms; STDWI steps are ``dt_ms``.
    seed : root seed (noise, drive, stimulus and SAL's biases derive from it).
    settings : estimator settings over :data:`PAIR_DEFAULTS` (the Fig. 7 notebook's values).
        SAL's feedback is updated once per simulated second; RDD's every ``update_interval_s``
        of its clock (``cumulative`` by default; ``phase`` reproduces the notebook, whose
        per-second clock never reaches 10 s, so RDD's ``B`` never changes); STDWI on every
        output spike.
    record_every_s : history sampling period (must divide into whole seconds).
    progress : optional callable wrapping an iterable (e.g. ``tqdm``).

    Returns
    -------
    B_new : (n_out, n_in) array.
    history : ``time_s``, ``angle`` (degrees), ``corrcoef``, ``slope`` (of B on W) arrays.
    """
    _check_name(name)
    W = np.asarray(W, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if W.ndim != 2 or W.shape != B.shape:
        raise ValueError(f"W and B must be 2-D arrays of the same shape, got {W.shape} and {B.shape}")
    merged = dict(PAIR_DEFAULTS[name])
    merged.update(settings or {})
    s = validate_settings(name, merged)
    n_out, n_in = W.shape
    n_rec = max(1, round(seconds / record_every_s))
    step_s = seconds / n_rec
    hist: dict[str, list] = {"time_s": [], "angle": [], "corrcoef": [], "slope": []}
    _history_point(hist, 0.0, W, B)
    wrap = progress or (lambda it: it)

    if name == "sal":
        net = SALNet(
            [n_in, n_out], t_ref=s["t_ref"], lr=s["sal_lr"], batch_size=s["batch_size"],
            buffer_length=s["buffer_length"], seed=torch_seed(seed, "sal", "noise"),
            dtype=getattr(torch, s["dtype"]), chunk=s["chunk"], init_rng=seeding.rng(seed, "sal", "init"),
        )  # fmt: skip
        net.W[1] = torch.as_tensor(W, dtype=net.dtype)
        net.B[0] = torch.as_tensor(B.T.copy(), dtype=net.dtype)
        ticks_per_s = 1000.0 * s["t_ref"] / s["batch_size"]
        per_rec = round(step_s * ticks_per_s)
        updates_per_rec = max(1, round(step_s))
        for r in wrap(range(n_rec)):
            for u in range(updates_per_rec):
                lo = (u * per_rec) // updates_per_rec
                hi = ((u + 1) * per_rec) // updates_per_rec
                net.run(hi - lo)
                net.apply_update()
            _history_point(hist, (r + 1) * step_s, W, _np(net.B[0]).T)
        B_new = _np(net.B[0]).T.copy()
    elif name == "rdd":
        net = RDDNet(
            [n_in, n_out], seed=int(seeding.seed_sequence(seed, "rdd", "drive").generate_state(1)[0]),
            stim_ratio=s["stim_ratio"], input_rate=s["input_rate_hz"] * RDD_DT,
            resample_steps=max(1, round(s["resample_ms"] * 1e-3 / RDD_DT)),
            update_interval_s=s["update_interval_s"], update_clock=s["update_clock"],
        )  # fmt: skip
        net.set_weight(1, W)
        net.set_feedback(0, B.T)
        for r in wrap(range(n_rec)):
            net.run_phase(step_s, parts=[0])
            _history_point(hist, (r + 1) * step_s, W, net.feedback(0).T)
        B_new = net.feedback(0).T.copy()
    else:
        sub = int(seeding.seed_sequence(seed, "stdwi", 0).generate_state(1)[0])
        net = STDWINet(W, B, seed=sub, **_stdwi_kwargs(s))
        for r in wrap(range(n_rec)):
            net.run(step_s * 1000.0)
            _history_point(hist, (r + 1) * step_s, W, net.B)
        B_new = net.B.copy()
    return B_new, {k: np.asarray(v) for k, v in hist.items()}


def random_connection(n: int = 50, seed: int = 43) -> tuple[np.ndarray, np.ndarray]:
    """The Fig. 7 connection: ``W`` (n, n) then ``B_td`` (n, n) ~ U(+-sqrt(3/n)) from ``default_rng(seed)``.

    Returns ``(W, B)`` with ``B`` in forward orientation (``B_td.T``), as :func:`estimate` expects.
    """
    rng = np.random.default_rng(seed)
    bound = math.sqrt(3.0 / n)
    W = rng.uniform(-bound, bound, (n, n))
    B_td = rng.uniform(-bound, bound, (n, n))
    return W, B_td.T.copy()


# --------------------------------------------------------------------------- deep-net methods and profiles
#: settings per run profile of the deep-net experiment (Fig. 8); "paper" = the reference defaults
PROFILE_SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "quick": {
        "sal": {"n_iterations": 2, "batch_size": 8},
        "rdd": {"rdd_time": 3.0, "update_interval_s": 1.0},
        "stdwi": {"seconds": 2.0},
    },
    "paper": {"sal": {}, "rdd": {}, "stdwi": {}},
}


def profile_settings(name: str, profile: str) -> dict:
    """Estimator settings for a run profile of the deep-net experiment (validated, completed)."""
    _check_name(name)
    return validate_settings(name, PROFILE_SETTINGS.get(profile, PROFILE_SETTINGS["paper"])[name])


def _register_methods() -> None:
    from ..methods import Method, register_method

    for name, summary in (
        ("sal", "FA layers; a SAL spiking phase updates the FC feedback before every epoch"),
        ("rdd", "FA layers; an RDD (Guerguiev et al. 2020) spiking phase updates the FC feedback before every epoch"),
        ("stdwi", "FA layers; an STDWI (Ahmad et al.) spiking phase updates the FC feedback before every epoch (new)"),
    ):
        register_method(Method(name, conv_feedback="fa", fc_feedback="fa", estimator=name, summary=summary))


_register_methods()

__all__ = [
    "ESTIMATORS",
    "PAIR_DEFAULTS",
    "SETTINGS",
    "Estimator",
    "RDDEstimator",
    "RDDNet",
    "RDDSettings",
    "SALEstimator",
    "SALNet",
    "SALSettings",
    "STDWIEstimator",
    "STDWINet",
    "STDWISettings",
    "alignment_metrics",
    "angle_deg",
    "corrcoef",
    "estimate",
    "make_estimator",
    "profile_settings",
    "random_connection",
    "sal_pair_accumulation",
    "slope",
    "stdwi_from_spikes",
    "validate_settings",
]
