r"""The ``torch`` engine: the SAL network of :mod:`spikealign.salnet.spec` as torch tensor steps.

The same step as the numba engine (:mod:`spikealign.salnet.engine`: exact LIF propagators,
refractoriness, delay line, Poisson drive from the same seeded stream), written with whole-network
tensor operations, and the weight change of each step computed by
:func:`spikealign.plasticity.sal_step` with the delayed pre spikes (the synapse sees a pre spike
emitted at :math:`t_j` at :math:`t_j + d`). float64 on the CPU by default; pass ``device="cuda"``
to run on a GPU.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._optional import require
from ..plasticity import sal_step
from .engine import drive_counts, drive_rng, propagators, spike_times
from .spec import SALNetworkRecord, SALNetworkSpec, checked_spec, steps_of


@contextmanager
def one_thread() -> Iterator[None]:
    """torch on one CPU thread inside (per-step tensors are tiny: more threads only add overhead)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def simulate_sal_network(spec: SALNetworkSpec, device: str = "cpu", progress=None) -> SALNetworkRecord:
    """Simulate ``spec`` with torch tensors; returns the same record as every engine."""
    require("torch")
    with one_thread():
        return _simulate(spec, device, progress)


def _simulate(spec: SALNetworkSpec, device: str, progress) -> SALNetworkRecord:
    import numpy as np
    import torch

    spec = checked_spec(spec)
    n, lif = spec.n_neurons, spec.lif
    d, chunk, n_rec = steps_of(spec)
    p11, p21, p22 = propagators(spec)
    opts: dict[str, Any] = {"dtype": torch.float64, "device": device}
    w0 = spec.initial_weights()
    has_syn = torch.as_tensor(~np.isnan(w0), device=device)
    w = torch.as_tensor(np.where(np.isnan(w0), 0.0, w0), **opts)
    v = torch.full((n,), lif.e_l_mv, **opts)
    cur = torch.zeros(n, **opts)
    refr = torch.zeros(n, dtype=torch.int64, device=device)
    hist = torch.zeros((d + 1, n), dtype=torch.bool, device=device)  # spikes of the last d + 1 steps
    no_spikes = torch.zeros(n, dtype=torch.bool, device=device)
    last = -1  # step of the last SAL step (its traces are decayed from there)
    ref_steps = round(lif.t_ref_ms / spec.dt_ms)
    state = None
    rng = drive_rng(spec)
    weights, events = [w0], []
    for r in range(n_rec):
        drive = torch.as_tensor(drive_counts(rng, spec, chunk), **opts) * spec.drive_weight_pa
        fired_steps = torch.zeros((chunk, n), dtype=torch.bool, device=device)
        for step in range(chunk):
            k = r * chunk + step
            # membrane (exact integration unless refractory), threshold, reset
            free = refr == 0
            v = torch.where(free, lif.e_l_mv + (v - lif.e_l_mv) * p22 + cur * p21, v)
            refr = refr - (~free).to(torch.int64)
            fired = v >= lif.v_th_mv
            v = v.masked_fill(fired, lif.v_reset_mv)
            refr = refr.masked_fill(fired, ref_steps)
            hist[k % (d + 1)] = fired
            fired_steps[step] = fired
            pre = hist[(k - d) % (d + 1)] if k >= d else no_spikes
            cur = cur * p11 + drive[step]
            if not (fired.any() or pre.any()):
                continue  # no pair ends here: the traces decay in the next SAL step
            # the SAL step on every synapse, its traces decayed over the steps since the last one
            post_f, pre_f = fired.to(torch.float64), pre.to(torch.float64)
            dw, state = sal_step(pre_f, post_f, state, spec.sal, (k - last) * spec.dt_ms)
            last = k
            w = w + torch.where(has_syn, dw, 0.0)
            # arriving recurrent spikes, with the updated weights
            cur = cur + w @ pre_f
        k_idx, i_idx = torch.nonzero(fired_steps, as_tuple=True)
        events.append(((k_idx + r * chunk).cpu().numpy(), i_idx.cpu().numpy()))
        weights.append(np.where(np.isnan(w0), np.nan, w.cpu().numpy()))
        if progress is not None:
            progress(1)
    times = np.arange(n_rec + 1) * spec.record_interval_ms
    return SALNetworkRecord(
        times, np.stack(weights), spike_times([e[0] for e in events], [e[1] for e in events], n, spec.dt_ms)
    )
