"""Spiking sampling networks: simulator, Boltzmann targets, STDP, wake-sleep + SAL trainer (docs/sampling.md).

Registration of the ``ssn`` experiment and of figures 4 and 5 lives in
:mod:`spikealign.sampling.experiments`; the Dale's-law E/I system in :mod:`spikealign.sampling.dale`.
"""

from .boltzmann import (
    boltzmann_distribution,
    distribution_from_states,
    kl_divergence,
    state_indices,
    state_list,
    states_from_spikes,
)
from .simulator import SpikeTrains, seed_states, simulate_spikes, simulate_spikes_stepwise
from .stdp import Ruler, gain_matrix, pairbased_stdp, sal_ruler, ws_ruler
from .trainer import Problem, Schedule, TrainState, asymmetry, draw_problem, train, truncated_normal

__all__ = [
    "Problem",
    "Ruler",
    "Schedule",
    "SpikeTrains",
    "TrainState",
    "asymmetry",
    "boltzmann_distribution",
    "distribution_from_states",
    "draw_problem",
    "gain_matrix",
    "kl_divergence",
    "pairbased_stdp",
    "sal_ruler",
    "seed_states",
    "simulate_spikes",
    "simulate_spikes_stepwise",
    "state_indices",
    "state_list",
    "states_from_spikes",
    "train",
    "truncated_normal",
    "ws_ruler",
]
