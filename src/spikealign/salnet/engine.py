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
from typing import NamedTuple

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


class LifStep(NamedTuple):
    """Constants of one LIF step (mV, pA, steps): exact propagators and the Poisson drive's weight."""

    e_l: float
    v_th: float
    v_reset: float
    ref_steps: int
    p11: float
    p21: float
    p22: float
    w_drive: float


class SalStep(NamedTuple):
    """Constants of one SAL step: delay ``d`` (steps), trace decays per step and ``eta a_+``, ``eta a_-``."""

    delay: int
    decay_pre: float
    decay_post: float
    eta_plus: float
    eta_minus: float


class NetState(NamedTuple):
    """The network's state, changed in place by the kernel; ``arriving`` is work space."""

    v: np.ndarray  # (N,) membrane potential (mV)
    cur: np.ndarray  # (N,) synaptic current (pA)
    refr: np.ndarray  # (N,) refractory steps left
    hist: np.ndarray  # (d + 1, N) spikes of the last d + 1 steps (ring)
    x_pre: np.ndarray  # (N,) presynaptic traces (of arriving spikes)
    y_post: np.ndarray  # (N,) postsynaptic traces
    w: np.ndarray  # (N, N) weights (post, pre)
    has_syn: np.ndarray  # (N, N) which synapses exist
    arriving: np.ndarray  # (N,) pre spikes reaching the synapses this step


def kernel_constants(spec: SALNetworkSpec) -> tuple[LifStep, SalStep]:
    """The kernel's constants of ``spec`` (a checked spec): one LIF step and one SAL step."""
    lif, sal = spec.lif, spec.sal
    p11, p21, p22 = propagators(spec)
    d = steps_of(spec)[0]
    lif_step = LifStep(lif.e_l_mv, lif.v_th_mv, lif.v_reset_mv, round(lif.t_ref_ms / spec.dt_ms), p11, p21, p22,
                       spec.drive_weight_pa)  # fmt: skip
    sal_step = SalStep(d, math.exp(-spec.dt_ms / sal.tau_plus), math.exp(-spec.dt_ms / sal.tau_minus),
                       sal.eta * sal.a_plus, sal.eta * sal.a_minus)  # fmt: skip
    return lif_step, sal_step


@nb.njit(cache=True, inline="always")
def _membrane(state, lif):
    r"""Exact integration of :math:`V \leftarrow E_L + (V - E_L) P_{22} + I P_{21}`.

    Refractory neurons keep ``V`` and count one step of their refractoriness down instead.
    """
    v, cur, refr = state.v, state.cur, state.refr
    for i in range(v.shape[0]):
        if refr[i] == 0:
            v[i] = lif.e_l + (v[i] - lif.e_l) * lif.p22 + cur[i] * lif.p21
        else:
            refr[i] -= 1


@nb.njit(cache=True, inline="always")
def _threshold(k, state, lif, ev_step, ev_neuron, n_ev):
    r""":math:`s_i = [V_i \ge V_{th}]`: reset, refractoriness, event ``(k, i)``, ``hist[k mod (d+1)] = s``.

    Returns the number of events written.
    """
    v, hist = state.v, state.hist
    slot = k % hist.shape[0]
    for i in range(v.shape[0]):
        fired = v[i] >= lif.v_th
        if fired:
            v[i] = lif.v_reset
            state.refr[i] = lif.ref_steps
            ev_step[n_ev] = k
            ev_neuron[n_ev] = i
            n_ev += 1
        hist[slot, i] = fired
    return n_ev


@nb.njit(cache=True, inline="always")
def _arrivals(k, state, d):
    """:math:`a_j = s_j(k - d)`: pre spikes emitted ``d`` steps ago reach the synapses now (none before the start)."""
    hist, arriving = state.hist, state.arriving
    n_hist = hist.shape[0]
    for j in range(arriving.shape[0]):
        arriving[j] = k >= d and hist[(k - d) % n_hist, j]


@nb.njit(cache=True, inline="always")
def _sal_update(spiked, state, sal):
    r"""SAL on every synapse: :math:`\Delta W_{ij} = \eta a_+ s_i x_j + \eta a_- y_i a_j`.

    The traces are first decayed to this step (:math:`x \leftarrow x\,e^{-h/\tau_+}`,
    :math:`y \leftarrow y\,e^{-h/\tau_-}`); the causal terms (post spike ``s_i`` now, pre trace) are
    added before the anti-causal ones (arriving pre spike ``a_j``, post trace); then
    :math:`x \mathrel{+}= a`, :math:`y \mathrel{+}= s`.  ``spiked`` is this step's row of ``hist``.
    """
    w, has_syn, x_pre, y_post, arriving = state.w, state.has_syn, state.x_pre, state.y_post, state.arriving
    n = w.shape[0]
    for j in range(n):
        x_pre[j] *= sal.decay_pre
    for i in range(n):
        y_post[i] *= sal.decay_post
    for i in range(n):
        if spiked[i]:
            for j in range(n):
                if has_syn[i, j]:
                    w[i, j] += sal.eta_plus * x_pre[j]
    for j in range(n):
        if arriving[j]:
            for i in range(n):
                if has_syn[i, j]:
                    w[i, j] += sal.eta_minus * y_post[i]
    for j in range(n):
        if arriving[j]:
            x_pre[j] += 1.0
    for i in range(n):
        if spiked[i]:
            y_post[i] += 1.0


@nb.njit(cache=True, inline="always")
def _synaptic_current(drive_row, state, lif):
    r""":math:`I \leftarrow I P_{11} + w_{drive} n_i(k) + \sum_j W_{ij} a_j`.

    The arriving spikes are transmitted with the weights after this step's SAL update.
    """
    cur, w, has_syn, arriving = state.cur, state.w, state.has_syn, state.arriving
    n = cur.shape[0]
    for i in range(n):
        cur[i] = cur[i] * lif.p11 + lif.w_drive * drive_row[i]
    for j in range(n):
        if arriving[j]:
            for i in range(n):
                if has_syn[i, j]:
                    cur[i] += w[i, j]


# no allocation inside, so no reference counting (_nrt=False): the named steps pass whole state tuples
# around, which with counting would cost an atomic increment and decrement per array and step
@nb.njit(cache=True, nogil=True, _nrt=False)  # type: ignore[call-overload]  # numba's stubs omit _nrt
def _run_chunk(k0, drive, state, lif, sal, ev_step, ev_neuron):
    """Advance ``drive.shape[0]`` steps from step ``k0`` in place; returns the number of spike events written."""
    n_ev = 0
    n_hist = state.hist.shape[0]
    for step in range(drive.shape[0]):
        k = k0 + step
        _membrane(state, lif)
        n_ev = _threshold(k, state, lif, ev_step, ev_neuron, n_ev)
        _arrivals(k, state, sal.delay)
        _sal_update(state.hist[k % n_hist], state, sal)
        _synaptic_current(drive[step], state, lif)
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
    n = spec.n_neurons
    _, chunk, n_rec = steps_of(spec)
    lif_step, sal_step = kernel_constants(spec)
    w0 = spec.initial_weights()
    has_syn = ~np.isnan(w0)
    state = NetState(np.full(n, spec.lif.e_l_mv), np.zeros(n), np.zeros(n, dtype=np.int64),
                     np.zeros((sal_step.delay + 1, n), dtype=np.bool_), np.zeros(n), np.zeros(n),
                     np.where(has_syn, w0, 0.0), has_syn, np.zeros(n, dtype=np.bool_))  # fmt: skip
    rng = drive_rng(spec)
    # a record interval is simulated in pieces of about a second (an interrupt is answered within
    # seconds) and of at most PIECE_EVENTS possible spikes (they bound the event and drive buffers);
    # the kernel's state lives in the arrays and the drive is drawn in order, so the cut changes no number
    most = max(1, min(chunk, PIECE_EVENTS // n))
    ev_step, ev_neuron = np.empty(most * n, dtype=np.int64), np.empty(most * n, dtype=np.int64)
    weights = [w0]
    steps, neurons = [], []
    for a, b in pieces(0, n_rec * chunk, most=most, first=1024):
        for k0, k1 in _cut_at_record(a, b, chunk):
            drive = drive_counts(rng, spec, k1 - k0)
            n_ev = _run_chunk(k0, drive, state, lif_step, sal_step, ev_step, ev_neuron)
            steps.append(ev_step[:n_ev].copy())
            neurons.append(ev_neuron[:n_ev].copy())
            if k1 % chunk == 0:  # the end of a record interval
                weights.append(np.where(has_syn, state.w, np.nan))
                if progress is not None:
                    progress(1)
    times = np.arange(n_rec + 1) * spec.record_interval_ms
    return SALNetworkRecord(times, np.stack(weights), spike_times(steps, neurons, n, spec.dt_ms))
