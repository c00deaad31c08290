"""Wire SAL synapses in NEST, read their weights back, and run the shared SAL network.

Every function imports NEST on its first call (never at ``import spikealign``). Weight matrices
are (post, pre), NaN where there is no synapse.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._optional import require
from ..errors import UserError
from ..plasticity import SALParams
from ..salnet.spec import SALNetworkRecord, SALNetworkSpec
from .build import (
    ESCAPE_NOISE_SYNAPSE_MODEL,
    PAIRED_ESCAPE_NOISE_MODEL,
    PAIRED_NEURON_MODEL,
    PSP_CAPACITY,
    SYNAPSE_MODEL,
    ensure_built,
)


def import_nest(*, quiet: bool = True) -> Any:
    """``nest``, imported on demand (one-line error naming the [nest] extra when it is absent)."""
    require("nest")
    if quiet:
        os.environ.setdefault("PYNEST_QUIET", "1")  # no banner
    import nest

    return nest


def reset_kernel() -> Any:
    """``nest.ResetKernel()``, safe after other libraries changed OpenMP settings; returns ``nest``.

    NEST runs its OpenMP regions with the OpenMP runtime's current thread count, which NEST set
    to ``local_num_threads``. Libraries in the same process (torch, numba, threadpoolctl) may
    change that count; a ``ResetKernel`` with more OpenMP threads than NEST has kernel threads
    crashes (segmentation fault). The count is set back first.
    """
    nest = import_nest()
    _set_openmp_threads(nest, int(nest.GetKernelStatus("local_num_threads")))
    nest.ResetKernel()
    _set_openmp_threads(nest, int(nest.GetKernelStatus("local_num_threads")))
    return nest


def _set_openmp_threads(nest: Any, n: int) -> None:
    """``omp_set_num_threads(n)`` in the OpenMP runtime NEST's extension uses (the wheel bundles its own)."""
    import ctypes

    package = Path(nest.__file__).parent
    for lib in sorted((package.parent / "nest_simulator.libs").glob("libgomp*.so*")):
        ctypes.CDLL(str(lib)).omp_set_num_threads(n)


def install() -> Any:
    """Make the SAL models available in the running NEST kernel; returns ``nest``.

    Builds the module on first use (:func:`spikealign.nest.build.ensure_built`), then
    ``nest.Install`` it. Idempotent; call it again after ``nest.ResetKernel()``, which unloads
    the models (``connect_sal_pairs`` and ``simulate_sal_network`` do).
    """
    nest = import_nest()
    if SYNAPSE_MODEL not in nest.synapse_models:
        path = ensure_built()
        nest.Install(str(path))
    return nest


def connect_sal_pairs(
    pop_a: Any,
    pop_b: Any = None,
    *,
    weights: Any,
    params: SALParams = SALParams(),
    delay: float = 1.0,
    synapse_model: str = SYNAPSE_MODEL,
) -> int:
    """Connect neurons with reciprocal SAL synapse pairs; returns the number of synapses made.

    Parameters
    ----------
    pop_a : NodeCollection of ``PAIRED_NEURON_MODEL`` neurons.
    pop_b : a second population, or None for recurrent pairs within ``pop_a``.
    weights : without ``pop_b``, an (n_a, n_a) matrix (post, pre) with NaN where there is no
        synapse, or one number for every ordered pair of distinct neurons. With ``pop_b``, a
        tuple ``(w_ab, w_ba)``: ``w_ab`` (n_b, n_a) the weights a -> b, ``w_ba`` (n_a, n_b) the
        weights b -> a (each (post, pre), NaN = none), or one number for all pairs. Every synapse
        needs its reverse (``W_ij`` finite exactly where ``W_ji`` is): SAL acts on pairs.
    params : :class:`spikealign.plasticity.SALParams` (times in ms), the same for all synapses.
    delay : synaptic delay (ms, > 0, a multiple of the resolution); all of it dendritic.
    synapse_model : the SAL synapse paired with the neurons' model: ``SYNAPSE_MODEL`` for
        ``PAIRED_NEURON_MODEL`` (LIF), ``ESCAPE_NOISE_SYNAPSE_MODEL`` for ``PAIRED_ESCAPE_NOISE_MODEL``.
    """
    params = params.checked()
    if synapse_model not in (SYNAPSE_MODEL, ESCAPE_NOISE_SYNAPSE_MODEL):
        raise UserError(
            f"connect_sal_pairs: unknown synapse_model {synapse_model!r} "
            f"(allowed: {SYNAPSE_MODEL}, {ESCAPE_NOISE_SYNAPSE_MODEL})"
        )
    if not (isinstance(delay, int | float) and math.isfinite(delay) and delay > 0):
        raise UserError(f"connect_sal_pairs: delay must be a finite number of ms > 0, got {delay!r}")
    nest = install()
    ids_a = _ids(pop_a)
    if pop_b is None:
        w = _weights(weights, (len(ids_a), len(ids_a)), "weights", no_self=True)
        if not np.array_equal(np.isfinite(w), np.isfinite(w).T):
            raise UserError(
                "connect_sal_pairs: weights must describe reciprocal pairs (W_ij finite exactly where W_ji is)"
            )
        return _connect(nest, ids_a, ids_a, w, params, delay, synapse_model)
    ids_b = _ids(pop_b)
    w_ab, w_ba = weights if isinstance(weights, tuple) else (weights, weights)
    w_ab = _weights(w_ab, (len(ids_b), len(ids_a)), "weights[0] (a -> b)")
    w_ba = _weights(w_ba, (len(ids_a), len(ids_b)), "weights[1] (b -> a)")
    if not np.array_equal(np.isfinite(w_ab), np.isfinite(w_ba).T):
        raise UserError(
            "connect_sal_pairs: weights[0] and weights[1] must describe reciprocal pairs (finite at transposed places)"
        )
    return _connect(nest, ids_a, ids_b, w_ab, params, delay, synapse_model) + _connect(
        nest, ids_b, ids_a, w_ba, params, delay, synapse_model
    )


def create_escape_noise_neurons(n: int, *, bias: Any = 0.0, t_ref: float = 10.0, t_psp: float | None = None) -> Any:
    """``n`` of the theory's escape-noise neurons (``PAIRED_ESCAPE_NOISE_MODEL``), checked; returns the NodeCollection.

    The neuron (models/escape_noise_neuron.nestml) runs in steps of the NEST resolution ``h``:
    silent for at least ``R = t_ref / h`` steps, it spikes with probability
    ``1 / (1 + R exp(-u))``, ``u = bias + `` the weights of the spikes that arrived in the last
    ``t_psp / h - 1`` steps (a rectangular PSP; ``t_psp`` defaults to ``t_ref``, the chain's
    kernel). Set the resolution first; connect with ``synapse_model=ESCAPE_NOISE_SYNAPSE_MODEL``
    and a delay of one step for the chain of :mod:`spikealign.theory.chain`.

    Parameters
    ----------
    bias : one number, or one per neuron (the potential without input, dimensionless).
    t_ref, t_psp : ms, multiples of the resolution; ``t_psp`` between 2 and 201 steps.
    """
    nest = install()
    h = float(nest.resolution)
    t_psp = t_ref if t_psp is None else t_psp
    for name, value, lowest, highest in (("t_ref", t_ref, 1, None), ("t_psp", t_psp, 2, PSP_CAPACITY + 1)):
        steps = value / h if isinstance(value, int | float) and math.isfinite(value) else float("nan")
        if not (abs(steps - round(steps)) < 1e-9 and round(steps) >= lowest):
            raise UserError(f"{name} must be a multiple of the resolution {h} ms and >= {lowest} steps, got {value!r}")
        if highest is not None and round(steps) > highest:
            raise UserError(f"{name} may be at most {highest} steps ({highest * h} ms), got {value!r}")
    biases = np.broadcast_to(np.asarray(bias, dtype=float), (int(n),))
    if not np.all(np.isfinite(biases)):
        raise UserError(f"bias must be finite, got {bias!r}")
    neurons = nest.Create(PAIRED_ESCAPE_NOISE_MODEL, int(n), params={"t_ref": float(t_ref), "t_psp": float(t_psp)})
    neurons.set(b=biases.tolist())
    return neurons


def weight_matrix(pre_pop: Any, post_pop: Any, synapse_model: str = SYNAPSE_MODEL) -> np.ndarray:
    """The weights of ``synapse_model`` connections from ``pre_pop`` to ``post_pop``: (post, pre), NaN = none.

    Under MPI each rank holds (and returns) the synapses of its own neurons; NaN elsewhere.
    """
    nest = import_nest()
    pre_ids, post_ids = _ids(pre_pop), _ids(post_pop)
    w = np.full((len(post_ids), len(pre_ids)), np.nan)
    conns = nest.GetConnections(source=pre_pop, target=post_pop, synapse_model=synapse_model)
    if len(conns) == 0:
        return w
    got = conns.get(["source", "target", "weight"])
    src, tgt, val = (np.atleast_1d(np.asarray(got[k])) for k in ("source", "target", "weight"))
    w[_index(post_ids, tgt), _index(pre_ids, src)] = val
    return w


def simulate_sal_network(spec: SALNetworkSpec, threads: int = 1) -> SALNetworkRecord:
    """Run the shared SAL network (:mod:`spikealign.salnet.spec`) in NEST with ``threads`` threads.

    Resets the NEST kernel. Neurons: ``PAIRED_NEURON_MODEL`` with ``spec.lif``; each gets its own
    Poisson train (one ``poisson_generator`` draws independent trains per target; static
    synapses, delay one time step); recurrent reciprocal SAL pairs from ``spec.initial_weights()``
    with ``spec.delay_ms``. The weights are read every ``spec.record_interval_ms`` (and at the
    end); a weight holds the pairs the synapse has processed (see :mod:`spikealign.nest`). The
    NEST random seed derives from ``spec.seed``; results also depend on ``threads`` (NEST draws
    per thread).
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UserError(f"NEST threads must be a whole number >= 1, got {threads!r}")
    spec.sal.checked()
    nest = reset_kernel()
    _quiet(nest)
    seed = int(np.random.SeedSequence([spec.seed, 0x4E57]).generate_state(1)[0]) % (2**31 - 2) + 1
    nest.SetKernelStatus({"resolution": spec.dt_ms, "local_num_threads": threads, "rng_seed": seed})
    install()
    lif = spec.lif
    neurons = nest.Create(
        PAIRED_NEURON_MODEL,
        spec.n_neurons,
        params={
            "C_m": lif.c_m_pf,
            "tau_m": lif.tau_m_ms,
            "tau_syn": lif.tau_syn_ms,
            "t_ref": lif.t_ref_ms,
            "E_L": lif.e_l_mv,
            "V_reset": lif.v_reset_mv,
            "V_th": lif.v_th_mv,
            "V_m": lif.e_l_mv,
        },
    )
    drive = nest.Create("poisson_generator", params={"rate": spec.drive_rate_hz})
    nest.Connect(drive, neurons, "all_to_all", {"weight": spec.drive_weight_pa, "delay": spec.dt_ms})
    connect_sal_pairs(neurons, weights=spec.initial_weights(), params=spec.sal, delay=spec.delay_ms)
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)

    ends = [float(t) for t in np.arange(spec.record_interval_ms, spec.duration_ms, spec.record_interval_ms)]
    ends.append(float(spec.duration_ms))
    times, weights = [0.0], [weight_matrix(neurons, neurons)]
    nest.Prepare()
    try:
        for end in ends:
            nest.Run(end - times[-1])
            times.append(end)
            weights.append(weight_matrix(neurons, neurons))
    finally:
        nest.Cleanup()
    events = recorder.get("events")
    senders, spike_times = np.asarray(events["senders"]), np.asarray(events["times"], dtype=float)
    spikes = [np.sort(spike_times[senders == gid]) for gid in _ids(neurons)]
    stacked, spikes = _merge_ranks(nest, np.stack(weights), spikes)
    return SALNetworkRecord(times_ms=np.asarray(times), weights=stacked, spike_times_ms=spikes)


def _merge_ranks(nest: Any, weights: np.ndarray, spikes: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Under MPI (``mpirun -n P``), every rank's local synapses and spikes, combined on every rank.

    Each synapse lives on the rank of its postsynaptic neuron (NaN elsewhere) and each neuron's
    spikes are recorded on its own rank, so ``fmax`` (which skips NaN) and concatenation merge them.
    """
    n_ranks = int(nest.GetKernelStatus("num_processes"))
    if n_ranks == 1:
        return weights, spikes
    try:
        from mpi4py import MPI
    except ImportError:
        raise UserError(f"NEST runs on {n_ranks} MPI ranks; merging them needs mpi4py: pip install mpi4py") from None

    comm = MPI.COMM_WORLD
    merged = np.fmax.reduce(np.stack(comm.allgather(weights)), axis=0)
    per_rank = comm.allgather(spikes)
    return merged, [np.sort(np.concatenate([rank[i] for rank in per_rank])) for i in range(len(spikes))]


def _connect(
    nest: Any,
    pre_ids: np.ndarray,
    post_ids: np.ndarray,
    w: np.ndarray,
    params: SALParams,
    delay: float,
    synapse_model: str = SYNAPSE_MODEL,
) -> int:
    """One SAL synapse per finite entry of ``w`` (post, pre)."""
    post_idx, pre_idx = np.nonzero(np.isfinite(w))
    n = len(post_idx)
    if n == 0:
        return 0
    syn_spec = {
        "synapse_model": synapse_model,
        "weight": w[post_idx, pre_idx],
        "delay": np.full(n, float(delay)),
        **{name: np.full(n, float(getattr(params, name))) for name in SALParams._fields},
    }
    nest.Connect(pre_ids[pre_idx], post_ids[post_idx], "one_to_one", syn_spec)
    return n


def _weights(value: Any, shape: tuple[int, int], name: str, no_self: bool = False) -> np.ndarray:
    """``value`` as a float matrix of ``shape`` (a number fills it, but for the diagonal if ``no_self``)."""
    if np.ndim(value) == 0:
        w = np.full(shape, float(value))
        if no_self:
            np.fill_diagonal(w, np.nan)
    else:
        w = np.array(value, dtype=float)
    if w.shape != shape:
        raise UserError(f"connect_sal_pairs: {name} must have shape {shape} (post, pre), got {w.shape}")
    if np.isinf(w).any():
        raise UserError(f"connect_sal_pairs: {name} holds an infinite weight (use NaN for 'no synapse')")
    if no_self and np.isfinite(np.diag(w)).any():
        raise UserError(
            f"connect_sal_pairs: {name} has a self-connection (diagonal entry); SAL pairs join distinct neurons"
        )
    return w


def _ids(pop: Any) -> np.ndarray:
    return np.asarray(pop.tolist(), dtype=np.int64)


def _index(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    order = np.argsort(ids)
    return order[np.searchsorted(ids, values, sorter=order)]


def _quiet(nest: Any) -> None:
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:  # pragma: no cover - NEST < 3.10
        nest.set_verbosity("M_ERROR")
