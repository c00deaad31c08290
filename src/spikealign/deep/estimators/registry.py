"""The table of spiking estimators and the functions that look them up.

Adding an estimator is one entry in :data:`ESTIMATORS` (a subclass of :class:`~.base.Estimator`
carrying its ``settings_model`` and ``quick_settings``) and one method in
:data:`spikealign.deep.methods.METHODS` that names it.
"""

from __future__ import annotations

from .base import Estimator
from .rdd_estimator import RDDEstimator
from .sal_conv import SALConvEstimator
from .sal_estimator import SALEstimator
from .settings import validate
from .stdwi_estimator import STDWIEstimator

#: estimator name -> class
ESTIMATORS: dict[str, type[Estimator]] = {
    "sal": SALEstimator,
    "sal_conv": SALConvEstimator,
    "rdd": RDDEstimator,
    "stdwi": STDWIEstimator,
}


def estimator_class(name: str) -> type[Estimator]:
    """The estimator class called ``name``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    if name not in ESTIMATORS:
        raise ValueError(f"unknown estimator {name!r} (known: {', '.join(ESTIMATORS)})")
    return ESTIMATORS[name]


def validate_settings(name: str, settings: dict | None) -> dict:
    """Validate the settings of estimator ``name`` and return them completed with defaults.

    Raises
    ------
    ValueError
        For an unknown estimator, an unknown key or a bad value (the message names the key).
    """
    return validate(estimator_class(name).settings_model, name, settings)


def profile_settings(name: str, profile: str) -> dict:
    """Estimator settings for a run profile of the deep-net experiment (validated, completed).

    ``quick``: the class's ``quick_settings``; any other profile: the defaults (the reference's).
    """
    cls = estimator_class(name)
    return validate_settings(name, dict(cls.quick_settings) if profile == "quick" else {})


def make_estimator(name: str, model_or_layers, settings: dict | None = None, seed: int = 0, device=None) -> Estimator:
    """Attach estimator ``name`` to a converted model or to a list of FC feedback layers.

    ``model_or_layers``: an ``nn.Module`` (its :class:`~spikealign.deep.layers.FeedbackLinear`
    layers in registration order are driven) or a list of layers in forward order, each with
    ``.weight`` (out, in) and ``.feedback`` of the same shape (and optionally ``.bias``, used by
    SAL).  SAL and RDD need the layers to form a chain.  ``before_epoch(epoch)`` runs one spiking
    phase and updates every ``.feedback`` in place (under ``torch.no_grad``); it returns metrics
    (``angle/<layer>``, ``corr/<layer>`` after the phase, ``before/angle/<layer>``, keyed by the
    layer's qualified module name in a model or its position in a list; firing rates ``rate/<l>``
    per spiking layer ``l``, 0 = input).

    Raises
    ------
    UserError
        For layers the estimator cannot drive (plain ``nn.Linear``, kinds other than ``fa``, conv
        layers) or that do not form a chain, with one line naming the layer.
    ValueError
        For an unknown estimator or bad settings.
    """
    return estimator_class(name)(model_or_layers, settings or {}, seed, device)
