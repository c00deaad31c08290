"""Theory of spike-based alignment learning: the two-neuron chain, its STDD and the SAL signal.

Public API::

    from spikealign.theory import stdd, sal_signal
    r = stdd(w_12=0.5, w_21=1.0, b_1=0.0, b_2=0.0, t_ref=10, t_max=30)   # r.dt = t_1 - t_2, r.p
    dw_12, dw_21 = sal_signal(r)                                          # exponential window, tau = t_ref

The chain and window parameters that recur in every entry point travel together as one
:class:`SalSetup` (``sal_batch(w_12, w_21, b_1, b_2, SalSetup(t_ref=10, t_max=30))``; the keyword
form ``sal_batch(..., t_ref=10, t_max=30)`` works as well).

Modules: :mod:`.kernels` (PSP kernels, STDP window, :class:`SalSetup`), :mod:`.chain` (transition matrix, stationary
distribution), :mod:`.distribution` (STDD, SAL signal, batched versions), :mod:`.phase_plane`
(grids, zero sets, deviation metric, mean-flow integration), :mod:`.montecarlo` (simulation of the
chain with the STDD's pairing), :mod:`.spiking` (spiking two-neuron SAL of Fig. 2d),
:mod:`.config` (run configs), :mod:`.experiments` / :mod:`.figures` (registered runs and paper figures).
"""

from .chain import stationary_distribution, transition_matrix
from .distribution import STDDResult, sal_batch, sal_signal, stdd, stdd_batch
from .kernels import PSP_SHAPES, SalSetup, exp_window, psp_kernel
from .montecarlo import simulate_stdd
from .phase_plane import (
    deviation_from_diagonal,
    integrate_flow,
    rotate_zero_set,
    sal_grid,
    upscale_grid,
    zero_set,
)
from .spiking import SpikingSchedule, sal_weight_evolution

__all__ = [
    "PSP_SHAPES",
    "STDDResult",
    "SalSetup",
    "SpikingSchedule",
    "deviation_from_diagonal",
    "exp_window",
    "integrate_flow",
    "psp_kernel",
    "rotate_zero_set",
    "sal_batch",
    "sal_grid",
    "sal_signal",
    "sal_weight_evolution",
    "simulate_stdd",
    "stationary_distribution",
    "stdd",
    "stdd_batch",
    "transition_matrix",
    "upscale_grid",
    "zero_set",
]
