"""Spiking sampling networks: simulator, Boltzmann targets, STDP, wake-sleep + SAL trainer (docs/sampling.md).

Modules: ``simulator`` (the neurons), ``boltzmann`` (targets, states, D_KL), ``stdp`` (rulers and
windows), ``trainer`` with its compiled ``trainer_kernels``, ``config``/``presets`` (the ``ssn``
config and the reference's experiment types), ``reference`` (the reference's YAML, converted),
``experiments`` (the ``ssn`` kind: runs and registration), ``figures`` (figures 4 and 5: sweeps,
checks, drawing; registered when ``experiments`` is imported) with its panels in ``plots``.  The
Dale's-law E/I system is the package :mod:`spikealign.sampling.dale`, laid out alike (``config``,
``experiments``, ``figures``); importing it registers ``dale-sal``, ``dale-rate`` and the figure ``dale``.
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
