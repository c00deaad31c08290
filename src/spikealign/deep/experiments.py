"""The deep-network experiment (``kind: deep``); importing it registers Fig. 8 too.

``spikealign run`` accepts either our config (``kind: deep``, see
:class:`~spikealign.deep.config.DeepConfig`) or the reference's ``exp_settings.yaml``
(converted by :mod:`spikealign.deep.reference`, options ``section``, ``dataset``, ``n_epochs``).
The run itself is :func:`spikealign.deep.train.run`; Fig. 8 (sweeps, checks, drawing) is in
:mod:`spikealign.deep.figures`.
"""

from __future__ import annotations

from ..registry import Experiment, register_experiment
from ..resources import F32, F64, MemoryEstimate, register_estimate
from . import figures  # noqa: F401 (registers Fig. 8)
from .config import DeepConfig
from .estimators.common import sal_state_bytes
from .model import N_CHANNELS, fc_neurons
from .reference import detect_reference, from_reference
from .train import run

# a declarative registration like every family's (sampling/experiments.py has the same fields)
EXPERIMENT = register_experiment(
    Experiment(
        kind="deep",
        config_model=DeepConfig,
        run=run,
        detect_reference=detect_reference,
        from_reference=from_reference,
        draw_run="spikealign.figures.run_plots:draw_deep_run",
    )
)


# --------------------------------------------------------------------------- memory estimate
DATASET_SIZES = {
    "mnist5k": (5_000, 1, 28),
    "mnist": (70_000, 1, 28),
    "fmnist": (70_000, 1, 28),
    "cifar10": (60_000, 3, 32),
    "svhn": (99_289, 3, 32),
}
"""Images (train and test), channels and side in pixels of each deep-net dataset."""

DATASET_LOAD_BYTES = {"mnist5k": 8, "mnist": 2, "fmnist": 2, "cifar10": 3, "svhn": 3}
"""Bytes per pixel value while a dataset loads: mnist5k is parsed into an int64 table; the IDX files
are read as bytes and copied; CIFAR-10's batches and SVHN's .mat files are also concatenated or
transposed.  The images are then kept as uint8 and normalised batch by batch."""

TRAIN_ACTIVATIONS = 3.5
"""A training batch holds about 3.5 copies of the first conv layer's float32 output per image (the
output, its ReLU and BatchNorm saved for backward, and the gradient); the measured peak is
0.49-0.53 MB per 28 px image against 0.147 MB per copy."""

EVAL_ACTIVATIONS = 1.0
"""A test batch (no gradients) holds about one copy of the first conv layer's output per image."""


@register_estimate("deep")
def memory_estimate(config: DeepConfig) -> list[MemoryEstimate]:
    images, channels, side = DATASET_SIZES[config.dataset]
    pixels = channels * side * side
    load = DATASET_LOAD_BYTES[config.dataset] * images * pixels
    conv1 = F32 * N_CHANNELS * (side - 4) ** 2  # bytes of the first conv layer's output per image
    activations = conv1 * max(TRAIN_ACTIVATIONS * config.batch_size, EVAL_ACTIVATIONS * config.test_batch_size)
    out = [
        MemoryEstimate(load, f"the {config.dataset} images while they load", ("dataset",)),
        MemoryEstimate(activations, "the activations of a batch", ("batch_size", "test_batch_size")),
    ]
    est = dict(config.estimator or {})
    if "batch_size" not in est:
        return out
    itemsize = F64 if est.get("dtype") == "float64" else F32
    state = sal_state_bytes(
        int(est["batch_size"]), fc_neurons(), int(est.get("t_ref", 1)), int(est.get("buffer_length", 1)),
        int(est.get("chunk", 1)), itemsize,
    )  # fmt: skip
    return [*out, MemoryEstimate(state, "the SAL spiking state", ("estimator.batch_size", "estimator.chunk"))]
