"""Spiking feedback estimators: SAL, RDD and STDWI (see docs/deep.md, 'Spiking estimators').

Three ways to learn a feedback matrix ``B`` that aligns with a forward matrix ``W`` from spikes:

``sal``    spike-based alignment learning (Gierlich et al.): escape-noise neurons, STDP with a
           Hebbian and an anti-Hebbian side (:mod:`.sal`, wrapper :mod:`.sal_estimator`);
``rdd``    regression-discontinuity design (Guerguiev et al. 2020): LIF neurons, a driven layer,
           per-window linear fits around the threshold (:mod:`.rdd`, :mod:`.rdd_estimator`);
``stdwi``  spike-timing-dependent weight inference (Ahmad et al.): LIF neurons, fast-minus-slow
           input traces sampled at output spikes (:mod:`.stdwi`, :mod:`.stdwi_estimator`).

Modules: :mod:`.settings` (validated settings), :mod:`.base` (the :class:`Estimator` base and the
choice of driven layers), :mod:`.registry` (the table of estimators, :func:`make_estimator`),
:mod:`.connection` (:func:`estimate` on one connection); the experiments ``estimator-connection``
and ``sal-evolution``: :mod:`.config` (run configs), :mod:`.experiments` (runs), :mod:`.figures`
(``fig7``, ``sal-evolution``).  Importing this package registers nothing; the methods that use the
estimators are listed in :mod:`spikealign.deep.methods`.

Orientation: ``W`` and ``B`` are both (out, in) = (post, pre), like an FA layer's ``weight`` and
``feedback``; perfect alignment is ``B = W``.
"""

from __future__ import annotations

from ..metrics import alignment_metrics
from .base import Estimator, select_layers
from .connection import PAIR_DEFAULTS, estimate, random_connection
from .rdd import RDDNet
from .rdd_estimator import RDDEstimator
from .registry import ESTIMATORS, estimator_class, make_estimator, profile_settings, validate_settings
from .sal import SALNet, sal_pair_accumulation
from .sal_estimator import SALEstimator
from .settings import RDDSettings, SALSettings, STDWISettings
from .stdwi import STDWINet, STDWIParams, stdwi_from_spikes
from .stdwi_estimator import STDWIEstimator

__all__ = [
    "ESTIMATORS",
    "PAIR_DEFAULTS",
    "Estimator",
    "RDDEstimator",
    "RDDNet",
    "RDDSettings",
    "SALEstimator",
    "SALNet",
    "SALSettings",
    "STDWIEstimator",
    "STDWINet",
    "STDWIParams",
    "STDWISettings",
    "alignment_metrics",
    "estimate",
    "estimator_class",
    "make_estimator",
    "profile_settings",
    "random_connection",
    "sal_pair_accumulation",
    "select_layers",
    "stdwi_from_spikes",
    "validate_settings",
]
