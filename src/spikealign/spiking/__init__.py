"""Primitives shared by the spiking model families (theory, sampling, microcircuits, deep estimators)."""

from .stdp import exp_window, exp_window_at

__all__ = ["exp_window", "exp_window_at"]
