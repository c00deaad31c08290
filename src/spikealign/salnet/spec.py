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

from dataclasses import dataclass, field

import numpy as np

from ..plasticity import SALParams


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

    n_neurons: int = 50
    p_connect: float = 0.2
    w_mean_pa: float = 100.0
    w_std_pa: float = 50.0
    delay_ms: float = 1.0
    drive_rate_hz: float = 8000.0
    drive_weight_pa: float = 100.0
    lif: LIFParams = field(default_factory=LIFParams)
    sal: SALParams = field(default_factory=SALParams)
    dt_ms: float = 0.1
    duration_ms: float = 10000.0
    record_interval_ms: float = 500.0
    seed: int = 0

    def initial_weights(self) -> np.ndarray:
        """(N, N) initial weights, (post, pre), NaN where there is no synapse; from ``seed`` alone."""
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
