"""Primitives shared by the spiking model families (theory, sampling, microcircuits, deep estimators)."""

from .neuron import EscapeNoise, escape_rate, fires, spike_probabilities, spike_probability
from .stdp import exp_window, exp_window_at

__all__ = [
    "EscapeNoise",
    "escape_rate",
    "exp_window",
    "exp_window_at",
    "fires",
    "spike_probabilities",
    "spike_probability",
]
