r"""The network every SAL engine simulates, described once.

Neurons: leaky integrate-and-fire with exponentially decaying synaptic currents (NEST's
``iaf_psc_exp``, Brian2's exact integration of the same equations), all with the same
parameters:

.. math::

    C_m \frac{dV}{dt} = -\frac{C_m}{\tau_m}(V - E_L) + I, \qquad
    \frac{dI}{dt} = -\frac{I}{\tau_{syn}}, \qquad
    I \leftarrow I + w \text{ for each arriving spike of weight } w \text{ (pA)},

a spike when :math:`V \ge V_{th}`, then :math:`V = V_{reset}` held for ``t_ref_ms``.

Connectivity: every unordered pair of distinct neurons is connected in both directions with
probability ``p_connect`` (reciprocal pairs only); the two weights are drawn independently,
``w_mean + w_std * N(0, 1)``, so the network starts asymmetric. Every recurrent synapse has the
delay ``delay_ms`` and learns with the SAL rule (:mod:`spikealign.plasticity`). Each neuron also
receives its own Poisson spike train (``drive_rate_hz``, weight ``drive_weight_pa``, static).

Units follow NEST: ms, mV, pA, pF, Hz. Weight matrices are (post, pre).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError
from ..plasticity import SALParams, sal_from_spike_trains


@dataclass(frozen=True)
class LIFParams:
    """Current-based LIF neuron with exponential synaptic currents (NEST ``iaf_psc_exp`` names)."""

    c_m_pf: float = 250.0
    tau_m_ms: float = 10.0
    e_l_mv: float = -70.0
    v_th_mv: float = -55.0
    v_reset_mv: float = -70.0
    t_ref_ms: float = 2.0
    tau_syn_ms: float = 2.0


@dataclass(frozen=True)
class SALNetworkSpec:
    """One SAL network run: neurons, reciprocal weights, Poisson drive, rule, time grid, seed."""

    n_neurons: int = 60
    p_connect: float = 0.1
    w_mean_pa: float = 0.0
    w_std_pa: float = 300.0
    delay_ms: float = 0.25
    drive_rate_hz: float = 2200.0
    drive_weight_pa: float = 100.0
    lif: LIFParams = field(default_factory=LIFParams)
    sal: SALParams = field(default_factory=lambda: SALParams(eta=5.0))
    dt_ms: float = 0.25
    duration_ms: float = 30000.0
    record_interval_ms: float = 1000.0
    seed: int = 0
    #: (N, N) initial weights (post, pre), NaN where there is no synapse; None: drawn from ``seed``
    weights_pa: np.ndarray | None = field(default=None, compare=False)

    def initial_weights(self) -> np.ndarray:
        """(N, N) initial weights, (post, pre), NaN where there is no synapse; from ``seed`` alone.

        ``weights_pa``, when given, is returned instead (a copy).
        """
        if self.weights_pa is not None:
            return np.array(self.weights_pa, dtype=float)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0x5A1]))
        n = self.n_neurons
        upper = np.triu(rng.random((n, n)) < self.p_connect, k=1)
        mask = upper | upper.T
        w = self.w_mean_pa + self.w_std_pa * rng.standard_normal((n, n))
        return np.where(mask, w, np.nan)


@dataclass
class SALNetworkRecord:
    """What an engine returns.

    Attributes
    ----------
    times_ms : (n_records,) record times, the first at 0 (initial weights).
    weights : (n_records, N, N) recurrent weights at those times, (post, pre), NaN where no synapse.
    spike_times_ms : one array of spike times (ms) per neuron, recurrent neurons only.
    """

    times_ms: np.ndarray
    weights: np.ndarray
    spike_times_ms: list[np.ndarray]


def checked_spec(spec: SALNetworkSpec) -> SALNetworkSpec:
    """``spec``, or a one-line :class:`~spikealign.errors.UserError` naming the first bad value.

    Time constants, step, duration and intervals must be finite and > 0; ``delay_ms`` a whole
    number (>= 1) of steps (the delay is where every engine's synapse sees the pre spike); the
    record interval a whole number of steps and the duration a whole number of record intervals.
    """
    spec.sal.checked()
    for name in ("c_m_pf", "tau_m_ms", "t_ref_ms", "tau_syn_ms"):
        _positive(f"lif.{name}", getattr(spec.lif, name), allow_zero=name == "t_ref_ms")
    for name in ("e_l_mv", "v_th_mv", "v_reset_mv"):
        if not math.isfinite(getattr(spec.lif, name)):
            raise UserError(f"lif.{name} must be finite, got {getattr(spec.lif, name)!r}")
    for name in ("dt_ms", "duration_ms", "record_interval_ms", "delay_ms"):
        _positive(name, getattr(spec, name))
    for name in ("w_mean_pa", "w_std_pa", "drive_weight_pa", "drive_rate_hz", "p_connect"):
        if not math.isfinite(getattr(spec, name)):
            raise UserError(f"{name} must be finite, got {getattr(spec, name)!r}")
    for name in ("drive_rate_hz", "w_std_pa"):
        if getattr(spec, name) < 0:
            raise UserError(f"{name} must be >= 0, got {getattr(spec, name)}")
    if not 0 <= spec.p_connect <= 1:
        raise UserError(f"p_connect must be in [0, 1], got {spec.p_connect}")
    if spec.n_neurons < 2:
        raise UserError(f"n_neurons must be >= 2, got {spec.n_neurons}")
    steps = {name: getattr(spec, name) / spec.dt_ms for name in ("delay_ms", "record_interval_ms")}
    for name, n in steps.items():
        if abs(n - round(n)) > 1e-9 * max(1.0, n) or round(n) < 1:
            raise UserError(
                f"{name} must be a whole number (>= 1) of dt_ms = {spec.dt_ms} steps, got {getattr(spec, name)}"
            )
    n_rec = spec.duration_ms / spec.record_interval_ms
    if abs(n_rec - round(n_rec)) > 1e-9 * max(1.0, n_rec) or round(n_rec) < 1:
        raise UserError(
            f"duration_ms = {spec.duration_ms} must be a whole number of record_interval_ms = {spec.record_interval_ms}"
        )
    if spec.weights_pa is not None and np.shape(spec.weights_pa) != (spec.n_neurons, spec.n_neurons):
        raise UserError(
            f"weights_pa must have shape ({spec.n_neurons}, {spec.n_neurons}), got {np.shape(spec.weights_pa)}"
        )
    return spec


def _positive(name: str, value: float, allow_zero: bool = False) -> None:
    if not (math.isfinite(value) and (value >= 0 if allow_zero else value > 0)):
        raise UserError(f"{name} must be a finite {'time >= 0' if allow_zero else 'value > 0'}, got {value!r}")


def steps_of(spec: SALNetworkSpec) -> tuple[int, int, int]:
    """``(delay_steps, steps_per_record, n_records)`` of a checked spec (``n_records`` after the initial one)."""
    return (
        round(spec.delay_ms / spec.dt_ms),
        round(spec.record_interval_ms / spec.dt_ms),
        round(spec.duration_ms / spec.record_interval_ms),
    )


def expected_weight_change(spec: SALNetworkSpec, record: SALNetworkRecord) -> np.ndarray:
    r"""(N, N) total weight change that the SAL rule implies for the recorded spike trains.

    .. math::

        \Delta W_{ij} = \eta \sum_{t_j + d \le T} \sum_{t_i} K(t_i - t_j - d)

    (:func:`~spikealign.plasticity.sal_from_spike_trains` with ``delay = delay_ms``): pre spikes
    still in flight at the end ``T`` of the record have not reached their synapses. NaN where
    there is no synapse. Every engine's ``weights[-1] - weights[0]`` equals this to float rounding.
    """
    end = float(record.times_ms[-1])
    tol = 1e-9 * spec.dt_ms
    pre = [t[t + spec.delay_ms <= end + tol] for t in record.spike_times_ms]
    dw = sal_from_spike_trains(pre, record.spike_times_ms, spec.sal, delay=spec.delay_ms)
    return np.where(np.isnan(record.weights[0]), np.nan, dw)
