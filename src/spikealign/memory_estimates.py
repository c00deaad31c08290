"""Memory estimates per experiment kind: the one registry of :mod:`spikealign.resources`.

Each function takes a validated config and returns the large allocations it implies, with the
config keys that size them.  The byte counts per element come from the arrays each run allocates
and were checked against the measured peak memory of runs at two sizes
(``tests/foundation/test_memory_estimates.py`` keeps every kind within a factor 2 of it).
"""

from __future__ import annotations

import itertools
from typing import Any

from .resources import MemoryEstimate, register_estimate

F64 = 8
F32 = 4
PY_FLOAT_IN_LIST = 32  # a float object (24 B) plus its list slot (8 B)
PY_TUPLE2_IN_LIST = 64  # a pair (56 B) plus its list slot
NP_ARRAY_IN_LIST = 104  # a small numpy array's header (at least 96 B) plus its list slot


@register_estimate("toy")
def toy(config: Any) -> list[MemoryEstimate]:
    # the walk trace, its pickled copy in a checkpoint and the compressed .npz buffer
    return [MemoryEstimate(3 * F64 * config.n_steps * config.n_walkers, "the walk trace", ("n_steps", "n_walkers"))]


CHAIN_SOLVE = 2 * F64
"""Bytes per t_max^3: the sparse linear solve of the t_max^2-state chain fills in about t_max^3 entries."""


@register_estimate("theory-stdd")
def theory_stdd(config: Any) -> list[MemoryEstimate]:
    return [MemoryEstimate(CHAIN_SOLVE * config.t_max**3, "the Markov chain solve over t_max^2 states", ("t_max",))]


@register_estimate("theory-phase-plane")
def theory_phase_plane(config: Any) -> list[MemoryEstimate]:
    return [MemoryEstimate(CHAIN_SOLVE * config.t_max**3, "the Markov chain solve over t_max^2 states", ("t_max",))]


@register_estimate("theory-spiking-sal")
def theory_spiking_sal(config: Any) -> list[MemoryEstimate]:
    # per epoch: the trajectory (2 weights) and rates (2), kept, plus their copies when saved
    per_epoch = SPIKING_SAL_PER_EPOCH
    return [MemoryEstimate(per_epoch * (config.n_epochs + 1), "the weight trajectory and rates", ("n_epochs",))]


SPIKING_SAL_PER_EPOCH = 8 * F64
"""Bytes per epoch of theory-spiking-sal: trajectory and rates (4 float64) and their saved copies."""


@register_estimate("ssn")
def ssn(config: Any) -> list[MemoryEstimate]:
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


def _no_progress(done: int) -> None:
    """A progress callback that reports nothing: sizes the batches as a run with a progress bar does."""


@register_estimate("dale-sal")
def dale_sal(config: Any) -> list[MemoryEstimate]:
    return _dale(config, len(config.w_e2_e1) * len(config.w_e1_e2) * config.n_replicas)


@register_estimate("dale-rate")
def dale_rate(config: Any) -> list[MemoryEstimate]:
    return _dale(config, 2 * len(config.w_e2_e1) * config.n_replicas)  # the E-I and the direct circuit


def _dale(config: Any, simulations: int) -> list[MemoryEstimate]:
    from .sampling.dale.measure import _chunk_size

    per_sim = 12 * 4 * (config.n_steps // (config.t_ref + 1) + 1)  # the spike buffers of one simulation
    # the runs report progress, which cuts the batch into calls of fewer simulations
    sims = min(simulations, _chunk_size(simulations, config.n_steps, config.t_ref, progress=_no_progress))
    keys = ("n_steps", "n_replicas", "t_ref")
    return [MemoryEstimate(per_sim * sims, "the spike buffers of one batch of simulations", keys)]


@register_estimate("microcircuit")
def microcircuit(config: Any) -> list[MemoryEstimate]:
    n0, n1, n2 = config.network.dims
    weights = F64 * 2 * (n1 * n0 + 2 * n2 * n1)  # teacher and student: W10, W21, B
    neurons = n0 + n1 + n2
    averages = F64 * neurons * config.network.size_moving_average
    st = config.student
    patterns = st.num_epochs * (st.len_epoch + st.len_validation)
    # inputs and targets; the (symmetrisation, validation) flags are built as a list of tuples first
    schedule = patterns * (F64 * (n0 + n2) + PY_TUPLE2_IN_LIST)
    # after every pattern 9 arrays are appended to lists: outputs, free outputs, 3 weight matrices, 4 rates
    history = patterns * (9 * NP_ARRAY_IN_LIST + F64 * (2 * n2 + n1 * n0 + 2 * n2 * n1))
    pattern_keys = ("student.num_epochs", "student.len_epoch", "student.len_validation", "network.dims")
    t_pattern = max(config.teacher.t_pattern, st.t_pattern) * config.network.t_ref
    draws = F64 * neurons * t_pattern  # the uniform draws of one pattern
    return [
        MemoryEstimate(weights, "the teacher and student weight matrices", ("network.dims",)),
        MemoryEstimate(averages, "the moving averages", ("network.dims", "network.size_moving_average")),
        MemoryEstimate(schedule, f"the input and target schedule of {patterns:.3g} patterns", pattern_keys),
        MemoryEstimate(history, f"the recorded outputs and weights of {patterns:.3g} patterns", pattern_keys),
        MemoryEstimate(draws, "the random draws of one pattern", ("student.t_pattern", "teacher.t_pattern")),
    ]


def _sal_state(batch: int, neurons: int, t_ref: int, buffer_length: int, chunk: int, itemsize: int) -> float:
    """The spiking state of a SAL net: a ring buffer of buffer_length*t_ref ticks plus two chunk buffers."""
    return float(itemsize) * batch * neurons * (buffer_length * t_ref + 2 * chunk)


SAL_EVOLUTION_PER_WEIGHT = 8 * F32 + 9 * F64


@register_estimate("sal-evolution")
def sal_evolution(config: Any) -> list[MemoryEstimate]:
    sizes = list(config.sizes)
    # per weight: W, B, Delta, the kernels' transposed copies and work arrays (float32), and the
    # float64 vectors of the alignment metrics after every epoch
    weights = SAL_EVOLUTION_PER_WEIGHT * sum(a * b for a, b in itertools.pairwise(sizes))
    state = _sal_state(config.batch_size, sum(sizes), config.t_ref, 1, config.chunk, F32)
    return [
        MemoryEstimate(weights, "the weights, their SAL updates and alignment metrics", ("sizes",)),
        MemoryEstimate(state, "the spiking state", ("sizes", "batch_size", "chunk")),
    ]


CONNECTION_PER_WEIGHT = 15 * F64
"""Bytes per weight of the one-connection runs: W, B, the estimator's copies and the float64 metrics."""


@register_estimate("estimator-connection")
def estimator_connection(config: Any) -> list[MemoryEstimate]:
    records = max(1.0, config.seconds / config.record_every_s)
    out = [
        MemoryEstimate(4 * PY_FLOAT_IN_LIST * records, "the recorded history", ("seconds", "record_every_s")),
        MemoryEstimate(CONNECTION_PER_WEIGHT * config.n**2, "the n x n connection and its estimators' state", ("n",)),
    ]
    if config.method == "sal":
        s = config.sal
        itemsize = F32 if getattr(s, "dtype", "float32") == "float32" else F64
        buffer_length = getattr(s, "buffer_length", 1)
        state = _sal_state(s.batch_size, 2 * config.n, s.t_ref, buffer_length, s.chunk, itemsize)
        out.append(MemoryEstimate(state, "the SAL spiking state", ("sal.batch_size", "sal.chunk", "n")))
    return out


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
def deep(config: Any) -> list[MemoryEstimate]:
    from .deep.model import FC_SIZES, N_CHANNELS  # the ConvNet's conv channels and hidden FC layers

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
    state = _sal_state(
        int(est["batch_size"]), sum(FC_SIZES) + 10, int(est.get("t_ref", 1)), int(est.get("buffer_length", 1)),
        int(est.get("chunk", 1)), itemsize,
    )  # fmt: skip
    return [*out, MemoryEstimate(state, "the SAL spiking state", ("estimator.batch_size", "estimator.chunk"))]


@register_estimate("sal-network")
def sal_network(config: Any) -> list[MemoryEstimate]:
    # the recorded (N, N) weight matrices: the engine's record and the .npz buffer of the saved copy
    n_records = round(config.duration_ms / config.record_interval_ms) + 1
    return [
        MemoryEstimate(2 * F64 * n_records * config.n_neurons**2, "the recorded weight matrices",
                       ("n_neurons", "duration_ms", "record_interval_ms"))
    ]  # fmt: skip
