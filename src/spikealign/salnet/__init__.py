"""SAL in a recurrent spiking network, run by any engine (spikealign, NEST, Brian2, torch).

:mod:`spikealign.salnet.spec` describes the network every engine builds with the same
parameters; the ``sal-network`` experiment kind runs it and records how the asymmetry of the
reciprocal weights falls.

Modules: :mod:`.spec` (the network), :mod:`.engine` (the numba engine), :mod:`.torch_engine`,
:mod:`.pairs`; :mod:`.config` (the run config), :mod:`.experiments` (the kind ``sal-network``
and the engine table), :mod:`.figures` (the per-run plot and the figure ``sal-engines``).
"""
