r"""The ``spikealign`` engine: the SAL network of :mod:`spikealign.salnet.spec` in one numba kernel.

Time runs in steps of ``h = dt_ms``; step ``k`` covers :math:`(kh, (k+1)h]` and a spike in it is
stamped :math:`t = (k+1)h` (as NEST stamps them). One step, in this order (NEST's
``iaf_psc_exp`` with exact integration):

.. math::

    V &\leftarrow E_L + (V - E_L)\,P_{22} + I\,P_{21}  \quad\text{(unless refractory)} \\
    s_i &= [V_i \ge V_{th}] \;\Rightarrow\; V_i = V_{reset}, \text{ refractory for } t_{ref} \\
    a_j &= s_j(k - d) \quad\text{(pre spikes reaching the synapses, delay } d = \text{delay\_ms}/h) \\
    \Delta W_{ij} &= \eta\,(a_+ s_i x_j + a_- y_i a_j) \quad\text{(traces decayed to this step, then }
        x \mathrel{+}= a,\ y \mathrel{+}= s) \\
    I &\leftarrow I\,P_{11} + \textstyle\sum_j W_{ij} a_j + w_{drive}\, n_i(k)

with :math:`P_{22} = e^{-h/\tau_m}`, :math:`P_{11} = e^{-h/\tau_{syn}}`,
:math:`P_{21} = \frac{\tau_m \tau_{syn}}{C_m (\tau_m - \tau_{syn})}(e^{-h/\tau_m} - e^{-h/\tau_{syn}})`
(:math:`\frac{h}{C_m} e^{-h/\tau_m}` when the two are equal) and :math:`n_i(k)` the neuron's Poisson
drive count in the step.

**Delay convention (every engine):** the synapse from ``j`` to ``i`` sees a pre spike emitted at
:math:`t_j` at :math:`t_j + d` (when it also reaches the post neuron) and a post spike at its own
time, so its total weight change is
``sal_from_spike_trains(pre_times, post_times, sal, delay=delay_ms)``: every pair, the window
:math:`K(t_i - t_j - d)`. The arriving spike is transmitted with the weight after that step's update.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..pieces import pieces
from .spec import SALNetworkRecord, SALNetworkSpec, checked_spec, steps_of


def propagators(spec: SALNetworkSpec) -> tuple[float, float, float]:
    r"""``(P11, P21, P22)``: exact one-step propagators of :math:`I` and :math:`V` (see module docstring)."""
    h, lif = spec.dt_ms, spec.lif
    p11 = math.exp(-h / lif.tau_syn_ms)
    p22 = math.exp(-h / lif.tau_m_ms)
    if abs(lif.tau_m_ms - lif.tau_syn_ms) < 1e-12 * lif.tau_m_ms:
        p21 = h / lif.c_m_pf * p22
    else:
        scale = lif.tau_m_ms * lif.tau_syn_ms / (lif.c_m_pf * (lif.tau_m_ms - lif.tau_syn_ms))
        p21 = scale * (p22 - p11)
    return p11, p21, p22


def drive_rng(spec: SALNetworkSpec) -> np.random.Generator:
    """The generator of the Poisson drive (one stream of ``spec.seed``, independent of the weights')."""
    return np.random.default_rng(np.random.SeedSequence([spec.seed, 0xD21E]))


def drive_counts(rng: np.random.Generator, spec: SALNetworkSpec, n_steps: int) -> np.ndarray:
    """(n_steps, N) Poisson drive spike counts per step, mean ``drive_rate_hz * dt_ms / 1000``."""
    return rng.poisson(spec.drive_rate_hz * spec.dt_ms * 1e-3, size=(n_steps, spec.n_neurons)).astype(np.int32)


def spike_times(steps: list[np.ndarray], neurons: list[np.ndarray], n: int, dt_ms: float) -> list[np.ndarray]:
    """Per-neuron spike times ``(k + 1) * dt_ms`` from chunks of (step, neuron) spike events."""
    k = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
    i = np.concatenate(neurons) if neurons else np.zeros(0, dtype=np.int64)
    order = np.argsort(k, kind="stable")
    k, i = k[order], i[order]
    return [(k[i == n_] + 1) * dt_ms for n_ in range(n)]


@nb.njit(cache=True)
def _run_chunk(k0, n_steps, v, cur, refr, hist, x_pre, y_post, w, has_syn, drive, w_drive, e_l, v_th,
               v_reset, ref_steps, p11, p21, p22, d, decay_pre, decay_post, eta_plus, eta_minus, ev_step,
               ev_neuron):  # fmt: skip
    """Advance ``n_steps`` steps from step ``k0`` in place; returns the number of spike events written."""
    n = v.shape[0]
    n_hist = hist.shape[0]
    n_ev = 0
    arriving = np.zeros(n, dtype=np.bool_)
    for step in range(n_steps):
        k = k0 + step
        # membrane: exact integration of V (with the current of the previous step) unless refractory
        for i in range(n):
            if refr[i] == 0:
                v[i] = e_l + (v[i] - e_l) * p22 + cur[i] * p21
            else:
                refr[i] -= 1
        # threshold, reset, refractoriness; remember this step's spikes for the delay line
        slot = k % n_hist
        for i in range(n):
            fired = v[i] >= v_th
            if fired:
                v[i] = v_reset
                refr[i] = ref_steps
                ev_step[n_ev] = k
                ev_neuron[n_ev] = i
                n_ev += 1
            hist[slot, i] = fired
        # pre spikes reaching the synapses now: emitted d steps ago (none before the start)
        for j in range(n):
            arriving[j] = k >= d and hist[(k - d) % n_hist, j]
        # SAL: traces decayed to this step, causal (post now x pre trace) and anti-causal pairs
        for j in range(n):
            x_pre[j] *= decay_pre
        for i in range(n):
            y_post[i] *= decay_post
        for i in range(n):
            if hist[slot, i]:
                for j in range(n):
                    if has_syn[i, j]:
                        w[i, j] += eta_plus * x_pre[j]
        for j in range(n):
            if arriving[j]:
                for i in range(n):
                    if has_syn[i, j]:
                        w[i, j] += eta_minus * y_post[i]
        for j in range(n):
            if arriving[j]:
                x_pre[j] += 1.0
        for i in range(n):
            if hist[slot, i]:
                y_post[i] += 1.0
        # synaptic current: decay, arriving recurrent spikes (updated weights), Poisson drive
        for i in range(n):
            cur[i] = cur[i] * p11 + w_drive * drive[step, i]
        for j in range(n):
            if arriving[j]:
                for i in range(n):
                    if has_syn[i, j]:
                        cur[i] += w[i, j]
    return n_ev


PIECE_EVENTS = 1 << 20
"""The most possible spikes (steps x neurons) of one compiled call: 16 MiB of event buffers."""


def _cut_at_record(a: int, b: int, chunk: int) -> list[tuple[int, int]]:
    """Steps ``a..b`` (at most ``chunk`` of them) cut where a record interval of ``chunk`` steps ends."""
    end = (a // chunk + 1) * chunk
    return [(a, b)] if b <= end else [(a, end), (end, b)]


def simulate_sal_network(spec: SALNetworkSpec, progress=None) -> SALNetworkRecord:
    """Simulate ``spec`` with the numba kernel; weights recorded every ``record_interval_ms``.

    Parameters
    ----------
    spec : the network (checked; a bad value raises a one-line UserError naming it).
    progress : optional callable, called with 1 after each record interval.

    Returns
    -------
    SALNetworkRecord with ``n_records + 1`` weight matrices (post, pre), the first the initial one.
    """
    spec = checked_spec(spec)
    n, lif, sal = spec.n_neurons, spec.lif, spec.sal
    d, chunk, n_rec = steps_of(spec)
    p11, p21, p22 = propagators(spec)
    w0 = spec.initial_weights()
    has_syn = ~np.isnan(w0)
    w = np.where(has_syn, w0, 0.0)
    v = np.full(n, lif.e_l_mv)
    cur = np.zeros(n)
    refr = np.zeros(n, dtype=np.int64)
    hist = np.zeros((d + 1, n), dtype=np.bool_)
    x_pre, y_post = np.zeros(n), np.zeros(n)
    rng = drive_rng(spec)
    ref_steps = round(lif.t_ref_ms / spec.dt_ms)
    # a record interval is simulated in pieces of about a second (an interrupt is answered within
    # seconds) and of at most PIECE_EVENTS possible spikes (they bound the event and drive buffers);
    # the kernel's state lives in the arrays and the drive is drawn in order, so the cut changes no number
    most = max(1, min(chunk, PIECE_EVENTS // n))
    ev_step, ev_neuron = np.empty(most * n, dtype=np.int64), np.empty(most * n, dtype=np.int64)
    constants = (spec.drive_weight_pa, lif.e_l_mv, lif.v_th_mv, lif.v_reset_mv, ref_steps, p11, p21, p22, d,
                 math.exp(-spec.dt_ms / sal.tau_plus), math.exp(-spec.dt_ms / sal.tau_minus),
                 sal.eta * sal.a_plus, sal.eta * sal.a_minus)  # fmt: skip
    weights = [w0]
    steps, neurons = [], []
    for a, b in pieces(0, n_rec * chunk, most=most, first=1024):
        for k0, k1 in _cut_at_record(a, b, chunk):
            drive = drive_counts(rng, spec, k1 - k0)
            n_ev = _run_chunk(k0, k1 - k0, v, cur, refr, hist, x_pre, y_post, w, has_syn, drive, *constants,
                              ev_step, ev_neuron)  # fmt: skip
            steps.append(ev_step[:n_ev].copy())
            neurons.append(ev_neuron[:n_ev].copy())
            if k1 % chunk == 0:  # the end of a record interval
                weights.append(np.where(has_syn, w, np.nan))
                if progress is not None:
                    progress(1)
    times = np.arange(n_rec + 1) * spec.record_interval_ms
    return SALNetworkRecord(times, np.stack(weights), spike_times(steps, neurons, n, spec.dt_ms))
