r"""The escape-noise neuron with absolute refractoriness, the one neuron of every family.

In discrete time (steps of length 1) a neuron with membrane potential :math:`u` that has been
silent for at least :math:`R` steps (``t_ref``, its absolute refractory period) spikes in a step
with probability

.. math::

    \rho(u) = \frac{1}{1 + R\, e^{-u}} = \frac{1}{1 + e^{-(u - \ln R)}},

a logistic function of :math:`u` shifted by :math:`\ln R`; a neuron that spiked less than
:math:`R` steps ago cannot spike.  A neuron with constant :math:`u` is "on" for :math:`R` steps
(the spike and the :math:`R - 1` refractory steps after it) per cycle of mean length
:math:`R - 1 + 1/\rho`, a fraction :math:`R\rho / (1 + (R - 1)\rho) = \sigma(u)` of the time, the
logistic of its potential: the neuron samples (docs/sampling.md).

Each family draws its uniforms its own way (the reference's generators, reproduced bit for bit)
and counts refractory steps in its own convention; what they share is written here once:

- :func:`spike_probability` (compiled, inlined): :math:`1 / (1 + \exp(-(u - \ln R)))`, the float
  expression of the theory and microcircuit families;
- :func:`spike_probability_rate_form`: :math:`1 / (1 + R \exp(-u))`, the same function in the
  float order of the sampling family's reference (it differs from the main form in the last bits);
- :func:`escape_rate`: the hazard :math:`\lambda(u) = \ln(1 + e^{u}/R) = -\ln(1 - \rho(u))` of the
  event-driven sampler (a neuron with constant potential spikes after a geometric wait);
- :func:`fires`: the step itself, eligibility and the uniform draw against :math:`\rho`;
- :func:`spike_probabilities`: :math:`\rho` on arrays, from Python.

The deep estimators evaluate :math:`\rho` in float32 with the torch engine's roundings
(``deep/estimators/sal._sigmoid_exact``) and by a table-and-polynomial approximation
(``_margins``); tests compare both with :func:`spike_probability`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np
import numpy.typing as npt


class EscapeNoise(NamedTuple):
    """Parameters of the escape-noise neuron (pass them to compiled kernels as one value).

    Attributes
    ----------
    t_ref : absolute refractory period in steps; also the rate scale ``R`` of :math:`\\rho`.
    log_t_ref : ``ln t_ref``, computed once.
    """

    t_ref: int
    log_t_ref: float

    @classmethod
    def with_refractory_period(cls, t_ref: int) -> EscapeNoise:
        """The parameters of a neuron with refractory period ``t_ref`` steps (``t_ref >= 1``)."""
        return cls(int(t_ref), math.log(t_ref))


@nb.njit(cache=True, inline="always")
def spike_probability(u: float, log_t_ref: float) -> float:
    r""":math:`\rho(u) = 1 / (1 + \exp(-(u - \ln R)))` for an eligible neuron (main form)."""
    return 1.0 / (1.0 + np.exp(-(u - log_t_ref)))


@nb.njit(cache=True, inline="always")
def spike_probability_rate_form(u: float, t_ref: float | np.integer) -> float:
    r""":math:`\rho(u) = 1 / (1 + R \exp(-u))`: :func:`spike_probability` in the sampling family's float order."""
    return 1.0 / (1.0 + t_ref * np.exp(-u))


@nb.njit(cache=True, inline="always")
def escape_rate(u: float, t_ref: float | np.integer) -> float:
    r"""Hazard :math:`\lambda(u) = \ln(1 + e^{u} / R)`: a step without a spike has probability :math:`e^{-\lambda}`."""
    return np.log1p(np.exp(u) / t_ref)


@nb.njit(cache=True, inline="always")
def fires(uniform: float, u: float, steps_since_spike: int, neuron: EscapeNoise) -> bool:
    r"""One step of the neuron: it spikes iff :math:`a \ge R` and :math:`\xi < \rho(u)`.

    ``steps_since_spike`` is :math:`a`, the steps since the last spike counted at this step (a
    neuron that spiked on the previous step has ``a = 1``); ``uniform`` is :math:`\xi \sim U[0, 1)`,
    drawn by the caller whether or not the neuron is eligible.
    """
    return steps_since_spike >= neuron.t_ref and uniform < spike_probability(u, neuron.log_t_ref)


def spike_probabilities(u: npt.ArrayLike, t_ref: float) -> np.ndarray:
    r""":math:`\rho(u) = 1 / (1 + \exp(-(u - \ln R)))` elementwise (numpy)."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(u, dtype=float) - np.log(t_ref))))
