r"""SAL in Brian2 (the ``[brian2]`` extra): a ``Synapses`` object carrying the rule, and the SAL network.

The rule of :mod:`spikealign.plasticity` with event-driven traces: ``apre`` (decay
:math:`\tau_+`) and ``apost`` (decay :math:`\tau_-`),

.. code-block:: text

    on_pre  (at t_pre + delay):  w += eta a_-  (apost - [t_post == t]);  apre += 1;  I_post += w
    on_post (at t_post):         w += eta a_+  (apre  - [t_pre  == t]);  apost += 1

Brian2 applies a synapse's ``delay`` to the ``on_pre`` pathway only, so the synapse sees the pre
spike at :math:`t_j + d` and the post spike at :math:`t_i`: the convention of every engine here,
``sal_from_spike_trains(..., delay=d)``. The bracket removes the pair of a pre arrival and a post
spike in the same time step, whichever pathway runs first, so that :math:`K(0) = 0`.

Brian2 stamps a spike with the start of its time step; :func:`simulate_sal_network` reports spike
times one step later, at the end of the step (as NEST and the other engines do); the pairs and
their time differences are unchanged. The code generation target is ``numpy`` (no compiler needed;
pass ``target="cython"`` for long runs).

Brian2 2.9 (the newest release) imports only with numpy < 2.4; with a newer numpy importing this
module raises :class:`~spikealign._optional.MissingExtraError` saying so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._optional import MissingExtraError, require
from ..plasticity import SALParams
from ..salnet.spec import SALNetworkRecord, SALNetworkSpec, checked_spec, steps_of

require("brian2")
try:
    import brian2 as b2
except AttributeError as exc:  # brian2 2.9 uses np.ndarray.ptp, which numpy 2.4 removed
    raise MissingExtraError(
        f"brian2 does not import with numpy {np.__version__} ({exc}); the [brian2] extra needs numpy < 2.4"
    ) from exc

SAL_MODEL = """
w : amp
dapre/dt = -apre / tau_plus : 1 (event-driven)
dapost/dt = -apost / tau_minus : 1 (event-driven)
tpre : second
tpost : second
"""
SAL_ON_PRE = """
w += eta_minus * (apost - int(tpost == t)) * pA
apre += 1
tpre = t
"""
SAL_ON_POST = """
w += eta_plus * (apre - int(tpre == t)) * pA
apost += 1
tpost = t
"""

LIF_EQUATIONS = """
dv/dt = (e_l - v) / tau_m + I / c_m : volt (unless refractory)
dI/dt = -I / tau_syn : amp
"""


def sal_namespace(params: SALParams) -> dict[str, Any]:
    """The constants of the SAL synapse code (``eta_plus = eta a_+`` in pA per pair, time constants)."""
    params.checked()
    return {
        "tau_plus": params.tau_plus * b2.ms,
        "tau_minus": params.tau_minus * b2.ms,
        "eta_plus": params.eta * params.a_plus,
        "eta_minus": params.eta * params.a_minus,
    }


def connect_sal_pairs(
    source: Any, target: Any, weights_pa: np.ndarray, params: SALParams, delay_ms: float, name: str = "sal"
) -> Any:
    """``Synapses`` from ``source`` onto ``target`` (variable ``I``), one SAL synapse per finite weight.

    Parameters
    ----------
    source, target : Brian2 ``NeuronGroup`` (``target`` has a current ``I`` in amp).
    weights_pa : (n_target, n_source) initial weights in pA, (post, pre); NaN: no synapse. For
        reciprocal pairs inside one group pass the same group twice and a matrix with ``W_ij`` and
        ``W_ji`` both finite.
    params : the SAL rule (times in ms).
    delay_ms : delay of every synapse (where the synapse sees the pre spike, and when it arrives).
    """
    w = np.asarray(weights_pa, dtype=float)
    post, pre = np.nonzero(~np.isnan(w))
    on_pre = SAL_ON_PRE + "I_post += w\n"  # the rule, then transmission with the updated weight
    syn = b2.Synapses(source, target, model=SAL_MODEL, on_pre=on_pre, on_post=SAL_ON_POST,
                      namespace=sal_namespace(params), name=name)  # fmt: skip
    syn.connect(i=pre, j=post)
    syn.w = w[post, pre] * b2.pA
    syn.delay = delay_ms * b2.ms
    syn.tpre = -1 * b2.second  # no spike yet
    syn.tpost = -1 * b2.second
    return syn


def weight_matrix(synapses: Any, n_post: int, n_pre: int) -> np.ndarray:
    """(n_post, n_pre) weights of ``synapses`` in pA, (post, pre), NaN where there is no synapse."""
    out = np.full((n_post, n_pre), np.nan)
    out[np.asarray(synapses.j[:]), np.asarray(synapses.i[:])] = np.asarray(synapses.w[:] / b2.pA)
    return out


def simulate_sal_network(spec: SALNetworkSpec, target: str = "numpy", progress=None) -> SALNetworkRecord:
    """Simulate ``spec`` in Brian2 (exact integration, Poisson drive by ``PoissonInput``, seeded).

    The drive of each neuron is a ``PoissonInput`` of ``n`` sources at ``drive_rate_hz / n``, with
    ``n`` large enough that the binomial count per step has the variance of a Poisson count to
    within 1% (one source would be a Bernoulli draw per step, too regular at high rates).
    """
    spec = checked_spec(spec)
    lif, n = spec.lif, spec.n_neurons
    _, _, n_rec = steps_of(spec)
    b2.start_scope()
    b2.prefs.codegen.target = target
    b2.seed(spec.seed)
    b2.defaultclock.dt = spec.dt_ms * b2.ms
    namespace = {
        "e_l": lif.e_l_mv * b2.mV, "tau_m": lif.tau_m_ms * b2.ms, "c_m": lif.c_m_pf * b2.pF,
        "tau_syn": lif.tau_syn_ms * b2.ms, "v_th": lif.v_th_mv * b2.mV, "v_reset": lif.v_reset_mv * b2.mV,
    }  # fmt: skip
    group = b2.NeuronGroup(n, LIF_EQUATIONS, threshold="v >= v_th", reset="v = v_reset",
                           refractory=lif.t_ref_ms * b2.ms, method="exact", namespace=namespace)  # fmt: skip
    group.v = lif.e_l_mv * b2.mV
    w0 = spec.initial_weights()
    syn = connect_sal_pairs(group, group, w0, spec.sal, spec.delay_ms)
    # a binomial count per step from n_sources inputs: Poisson to within 1% of its variance
    n_sources = max(1, math.ceil(spec.drive_rate_hz * spec.dt_ms * 1e-3 / 0.01))
    drive = b2.PoissonInput(group, "I", n_sources, spec.drive_rate_hz / n_sources * b2.Hz,
                            weight=spec.drive_weight_pa * b2.pA)  # fmt: skip
    spikes = b2.SpikeMonitor(group)
    weights = [w0]

    # at the start of every record interval after the first (before that step's updates): the
    # weights after the previous interval. One `Network.run` for the whole simulation: a run per
    # interval would pay Brian2's set-up (and its garbage collection) every time.
    @b2.network_operation(dt=spec.record_interval_ms * b2.ms, when="start")
    def record_weights(t: Any) -> None:
        if t > 0 * b2.ms:
            weights.append(weight_matrix(syn, n, n))
            if progress is not None:
                progress(1)

    net = b2.Network(group, syn, drive, spikes, record_weights)
    net.run(n_rec * spec.record_interval_ms * b2.ms, namespace={})
    weights.append(weight_matrix(syn, n, n))
    if progress is not None:
        progress(1)
    i, t = np.asarray(spikes.i[:]), np.asarray(spikes.t[:] / b2.ms)
    times = [np.sort(t[i == k]) + spec.dt_ms for k in range(n)]  # stamped at the end of the step
    return SALNetworkRecord(np.arange(n_rec + 1) * spec.record_interval_ms, np.stack(weights), times)
