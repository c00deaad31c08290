"""Benchmark ``nest``: the NESTML SAL synapse against NEST's built-in ``stdp_synapse``, same network.

Network: 10^4 LIF neurons with exponential synaptic currents, 5 * 10^5 random reciprocal pairs
(10^6 plastic synapses, mean in-degree 100), delay 1.5 ms, positive weights, every neuron driven by
its own Poisson train; resolution 0.1 ms. Variants on the same connectivity, all in one process
and one run (the machine is shared: compare the ratios, not the absolute numbers):

- ``sal``: ``lif_psc_exp_neuron__with_sal_synapse`` + ``sal_synapse__with_lif_psc_exp_neuron``
  (spikealign.nest, additive all-pairs SAL, eta small so the rates stay put), 1 and 2 threads;
- ``stdp``: NEST's ``iaf_psc_exp`` + ``stdp_synapse`` (additive: mu_plus = mu_minus = 0; all
  pairs), the baseline, 1 and 2 threads (``local_num_threads``);
- ``sal_static`` and ``stdp_static``: the same neurons with ``static_synapse`` (1 thread): what the
  network costs without plasticity, so that ``(plastic - static CPU time) / events`` is the cost of
  the plasticity alone.

Both neuron models integrate the same equations exactly, so the networks spike alike.
A synaptic event is a presynaptic spike passing one synapse (spikes x out-degree), counted from
the spikes in the timed window; the two networks' rates differ slightly, so costs are compared per
event. Wall and CPU time (``time.process_time``: less disturbed by other processes on a shared
machine) are both recorded. Network construction and a 100 ms warm-up are not timed. ``--quick``:
2000 neurons, 10^5 synapses, 200 ms.
"""

from __future__ import annotations

import os
import time

import numpy as np

N_NEURONS, N_SYNAPSES, T_SIM_MS = 10_000, 1_000_000, 500.0
QUICK = (2_000, 100_000, 200.0)
WARMUP_MS, DELAY_MS, DT_MS = 100.0, 1.5, 0.1
W_MEAN, W_STD = 10.0, 3.0  # pA: recurrent weights (all positive)
DRIVE_HZ, DRIVE_PA = 8000.0, 24.0  # per-neuron Poisson drive
LIF = {"C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0}


def _pairs(n: int, n_synapses: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random reciprocal pairs as an edge list (pre, post, weight), both directions of each pair."""
    rng = np.random.default_rng(seed)
    n_pairs = n_synapses // 2
    i, j = rng.integers(0, n, size=(2, int(n_pairs * 1.2)), dtype=np.int64)
    keep = i != j
    key = np.unique(np.minimum(i, j)[keep] * n + np.maximum(i, j)[keep])  # unordered pairs, no repeats
    assert key.size >= n_pairs
    key = rng.permutation(key)[:n_pairs]
    a, b = key // n, key % n
    pre, post = np.concatenate([a, b]), np.concatenate([b, a])
    w = np.clip(W_MEAN + W_STD * rng.standard_normal(pre.size), 0.1, None)
    return pre, post, w


def _one(nest, variant: str, threads: int, edges, n: int, t_sim: float) -> dict:
    from spikealign.nest import PAIRED_NEURON_MODEL, SYNAPSE_MODEL, install, reset_kernel

    nest = reset_kernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.set(resolution=DT_MS, local_num_threads=threads, rng_seed=12345)
    sal = variant.startswith("sal")
    if sal:
        install()
        neurons = nest.Create(PAIRED_NEURON_MODEL, n, params={**LIF, "tau_syn": 2.0, "V_m": -70.0})
    else:
        neurons = nest.Create("iaf_psc_exp", n, params={**LIF, "tau_syn_ex": 2.0, "tau_syn_in": 2.0, "V_m": -70.0})
    pre, post, w = edges
    ids = np.asarray(neurons.tolist())
    m = pre.size
    if variant == "sal":
        syn = {"synapse_model": SYNAPSE_MODEL, "eta": np.full(m, 1e-6), "tau_plus": np.full(m, 20.0),
               "tau_minus": np.full(m, 20.0)}  # fmt: skip
    elif variant == "stdp":
        syn = {"synapse_model": "stdp_synapse", "lambda": np.full(m, 1e-6), "alpha": np.full(m, 1.0),
               "mu_plus": np.full(m, 0.0), "mu_minus": np.full(m, 0.0), "Wmax": np.full(m, 1e3),
               "tau_plus": np.full(m, 20.0)}  # fmt: skip
    else:
        syn = {"synapse_model": "static_synapse"}
    t0 = time.perf_counter()
    nest.Connect(ids[pre], ids[post], "one_to_one", {**syn, "weight": w, "delay": np.full(m, DELAY_MS)})
    drive = nest.Create("poisson_generator", params={"rate": DRIVE_HZ})
    nest.Connect(drive, neurons, "all_to_all", {"weight": DRIVE_PA, "delay": DT_MS})
    recorder = nest.Create("spike_recorder", params={"start": WARMUP_MS})
    nest.Connect(neurons, recorder)
    build_s = time.perf_counter() - t0
    nest.Simulate(WARMUP_MS)
    t0, c0 = time.perf_counter(), time.process_time()
    nest.Simulate(t_sim)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    senders = np.asarray(recorder.get("events")["senders"]) - ids[0]
    spikes = np.bincount(senders, minlength=n)
    events = int(np.sum(spikes * np.bincount(pre, minlength=n)))
    return {
        "variant": variant,
        "threads": threads,
        "build_s": round(build_s, 3),
        "wall_s": wall,
        "wall_s_per_sim_s": wall / (t_sim / 1000.0),
        "rate_hz": float(spikes.sum() / n / (t_sim / 1000.0)),
        "synaptic_events": events,
        "us_per_event": 1e6 * wall / max(events, 1),
        "cpu_s": cpu,
        "cpu_us_per_event": 1e6 * cpu / max(events, 1),
        "events_per_wall_s": events / wall,
    }


def _ratio(by: dict, a: str, b: str, threads: int, key: str) -> float:
    return by[(a, threads)][key] / by[(b, threads)][key]


def run(quick: bool = False) -> dict:
    from spikealign.nest.network import import_nest

    n, n_syn, t_sim = QUICK if quick else (N_NEURONS, N_SYNAPSES, T_SIM_MS)
    nest = import_nest()
    from spikealign.nest import install

    install()  # a first build (minutes) happens here, before anything is timed
    edges = _pairs(n, n_syn)
    load_before = os.getloadavg()[0]
    variants = [(v, 1) for v in ("sal", "stdp", "sal_static", "stdp_static")] + [("sal", 2), ("stdp", 2)]
    rows = [_one(nest, v, th, edges, n, t_sim) for v, th in variants]
    load_after = os.getloadavg()[0]
    by = {(r["variant"], r["threads"]): r for r in rows}

    def plasticity_us(kind: str) -> float:
        """The plasticity's own cost per synaptic event, 1 thread: (plastic - static network CPU time) / events."""
        plastic, static = by[(kind, 1)], by[(f"{kind}_static", 1)]
        return 1e6 * (plastic["cpu_s"] - static["cpu_s"]) / max(plastic["synaptic_events"], 1)

    sal1, stdp1 = by[("sal", 1)]["us_per_event"], by[("stdp", 1)]["us_per_event"]
    details = {
        "neurons": n,
        "synapses": int(edges[0].size),
        "simulated_ms": t_sim,
        "runs": rows,
        "sal_vs_stdp_wall_per_event": {th: _ratio(by, "sal", "stdp", th, "us_per_event") for th in (1, 2)},
        "sal_vs_stdp_cpu_per_event_1t": _ratio(by, "sal", "stdp", 1, "cpu_us_per_event"),
        "plasticity_only_cpu_us_per_event_1t": {kind: plasticity_us(kind) for kind in ("sal", "stdp")},
        "plasticity_only_sal_vs_stdp_1t": plasticity_us("sal") / plasticity_us("stdp"),
        "speedup_2_threads": {k: by[(k, 1)]["wall_s"] / by[(k, 2)]["wall_s"] for k in ("sal", "stdp")},
        "sal_us_per_pre_spike_1t": sal1 * n_syn / n,
        "stdp_us_per_pre_spike_1t": stdp1 * n_syn / n,
        "load_avg_before_after": [load_before, load_after],
    }
    return {
        "metric": "NESTML SAL synapse network: wall time per synaptic event, 1 thread",
        "value": sal1,
        "unit": "us/event",
        "baseline": {"what": "NEST built-in iaf_psc_exp + stdp_synapse, same network, same run", "value": stdp1},
        "ratio": stdp1 / sal1,
        "details": details,
    }
