"""Deep networks trained with exact or approximate feedback (Fig. 8 of the paper).

Public API (importing this package is cheap; torch is imported on first use of these names):

* :func:`convert` -- turn any torch model's linear/conv (1-, 2-, 3-d) layers into feedback layers of a
  method (shared layers stay tied); ``return_report=True`` also gives the :class:`ConversionReport`
  (what was converted, what was left with exact backprop and why), ``strict=True`` rejects the latter;
* :func:`list_methods` -- every method with a one-line description; :func:`get_method`;
* :func:`make_estimator` -- attach a spiking estimator (``sal``, ``rdd``, ``stdwi``) to a converted
  model; ``before_epoch(epoch)`` runs a spiking phase that updates the feedback matrices;
* :func:`alignment_metrics` -- angle, variance, correlation, sign agreement and slope of W and B;
  ``alignment_metrics(layer)`` measures a layer against its effective feedback;
* :class:`FeedbackLinear`, :class:`FeedbackConv1d`, :class:`FeedbackConv2d`, :class:`FeedbackConv3d`,
  :func:`feedback_layers`;
* :func:`load_dataset` -- offline datasets as uint8 tensors; ``dataset.subset(n)`` a stratified,
  shuffled subset (the bundled MNIST file is sorted by label).

Modules
-------
:mod:`.methods`      the table of methods (bp, fa, bp_w_fa, kp, scfa, dfa, usf, brsf, frsf, sal, rdd, stdwi)
:mod:`.layers`       feedback linear/conv layers (autograd functions for every feedback kind)
:mod:`.conversion`   :func:`convert`
:mod:`.model`        the reference ConvNet (2 conv + 3 FC layers)
:mod:`.data`         offline datasets (bundled MNIST 5k, MNIST/F-MNIST IDX, CIFAR-10, SVHN) and augmentation
:mod:`.metrics`      alignment between W and the feedback
:mod:`.config`       the ``kind: deep`` run config (:class:`~.config.DeepConfig`)
:mod:`.train`        the training loop (metrics per epoch, checkpoints, resume)
:mod:`.experiments`  registration of ``kind: deep`` (importing it registers Fig. 8)
:mod:`.figures`      Fig. 8: sweeps, checks, drawing
:mod:`.reference`    the reference's ``exp_settings.yaml``, converted to ``kind: deep``
:mod:`.estimators`   the spiking estimators
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .._optional import require

require("torch")  # first: a one-line error naming the [deep] extra when torch is missing

_EXPORTS = {
    "convert": ".conversion",
    "ConversionReport": ".conversion",
    "list_methods": ".methods",
    "get_method": ".methods",
    "Method": ".methods",
    "make_estimator": ".estimators.registry",
    "alignment_metrics": ".metrics",
    "FeedbackLinear": ".layers",
    "FeedbackConv": ".layers",
    "FeedbackConv1d": ".layers",
    "FeedbackConv2d": ".layers",
    "FeedbackConv3d": ".layers",
    "feedback_layers": ".layers",
    "load_dataset": ".data",
    "ImageDataset": ".data",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def dataset_locations(data_dir: str | Path | None = None) -> dict[str, str | None]:
    """Each deep-net dataset and where its files are (``None``: not found); see :mod:`.data`."""
    from .data import dataset_locations as _locations

    return _locations(data_dir)


__all__ = ["dataset_locations", *_EXPORTS]
