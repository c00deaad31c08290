r"""SAL in NEST: the NESTML synapse, its build, and helpers to wire and read SAL networks.

Needs the ``[nest]`` extra (``pip install 'spikealign[nest]'``: NEST and NESTML from PyPI) and,
for the one-off build of the synapse, a C++ compiler, cmake and the Boost, GSL and libltdl
headers (Debian/Ubuntu: ``apt-get install g++ cmake libboost-dev libgsl-dev libltdl-dev``).
Importing this package does not import NEST; the first call that needs it does.

The synapse ``sal_synapse__with_lif_psc_exp_neuron`` implements :mod:`spikealign.plasticity`
(all pairs, additive):

.. math::

    \Delta w = \eta \sum_{\text{pairs}} K\big((t_{post} + d) - t_{pre}\big), \qquad
    K(x) = a_+ e^{-x/\tau_+} \; (x > 0), \quad a_- e^{x/\tau_-} \; (x < 0), \quad K(0) = 0,

where :math:`d` is the connection's delay: NEST treats all of it as dendritic, so the synapse
sees a presynaptic spike at its emission time and a postsynaptic spike :math:`d` after it was
emitted. In :func:`spikealign.plasticity.sal_from_spike_trains` terms the weight change is
``sal_from_spike_trains(pre_times, post_times, params, delay=-d)``. The synapse applies the pairs
of a postsynaptic spike when the next presynaptic spike passes it, so a weight read after a run
holds the pairs of the postsynaptic spikes with :math:`t_{post} + d \le` the last presynaptic
spike time. It is paired with ``lif_psc_exp_neuron__with_sal_synapse``, a LIF neuron with an
exponentially decaying synaptic current (:class:`spikealign.salnet.spec.LIFParams`).
``sal_synapse__with_escape_noise_neuron`` is the same synapse paired with
``escape_noise_neuron__with_sal_synapse``, the theory's discrete-time escape-noise neuron
(:func:`create_escape_noise_neurons`; docs/simulators-nest.md, "The escape-noise neuron").

Example::

    import nest
    from spikealign import nest as sal_nest
    from spikealign.plasticity import SALParams

    sal_nest.install()                       # builds once (about 2 min), then nest.Install
    pop = nest.Create(sal_nest.PAIRED_NEURON_MODEL, 100)
    w0 = ...                                 # (100, 100) weights (post, pre), NaN = no synapse
    sal_nest.connect_sal_pairs(pop, weights=w0, params=SALParams(eta=1e-3), delay=1.0)
    nest.Simulate(1000.0)
    w = sal_nest.weight_matrix(pop, pop)     # (post, pre)
"""

from .build import (
    ESCAPE_NOISE_MODEL,
    ESCAPE_NOISE_SYNAPSE_MODEL,
    MODULE_NAME,
    NEURON_MODEL,
    PAIRED_ESCAPE_NOISE_MODEL,
    PAIRED_NEURON_MODEL,
    SYNAPSE_MODEL,
    ensure_built,
)
from .network import (
    connect_sal_pairs,
    create_escape_noise_neurons,
    install,
    reset_kernel,
    simulate_sal_network,
    weight_matrix,
)

__all__ = [
    "ESCAPE_NOISE_MODEL",
    "ESCAPE_NOISE_SYNAPSE_MODEL",
    "MODULE_NAME",
    "NEURON_MODEL",
    "PAIRED_ESCAPE_NOISE_MODEL",
    "PAIRED_NEURON_MODEL",
    "SYNAPSE_MODEL",
    "connect_sal_pairs",
    "create_escape_noise_neurons",
    "ensure_built",
    "install",
    "reset_kernel",
    "simulate_sal_network",
    "weight_matrix",
]
