"""Deep networks trained with exact or approximate feedback (Fig. 8 of the paper).

Modules
-------
:mod:`.methods`      registry of methods (bp, fa, bp_w_fa, kp/akrout, scfa; estimator methods such as
                     sal, rdd, stdwi are registered by :mod:`.estimators`) and the estimator hook contract
:mod:`.layers`       feedback-alignment linear/conv layers (autograd functions; FA, KP, SCFA)
:mod:`.model`        the reference ConvNet (2 conv + 3 FC layers)
:mod:`.data`         offline datasets (bundled MNIST 5k, MNIST/F-MNIST IDX, CIFAR-10, SVHN) and augmentation
:mod:`.metrics`      alignment between W and the feedback (angle, variance, correlation, sign)
:mod:`.train`        ``kind: deep`` config and training loop (metrics per epoch, checkpoints, resume)
:mod:`.experiments`  registration of ``kind: deep``, the reference-YAML converter and Fig. 8

Importing this package is cheap; torch is imported by the submodules.
"""

from __future__ import annotations

from pathlib import Path

from .. import _needs_deep  # noqa: F401  (one-line error when the [deep] extra, torch, is missing)


def dataset_locations(data_dir: str | Path | None = None) -> dict[str, str | None]:
    """Each deep-net dataset and where its files are (``None``: not found); see :mod:`.data`."""
    from .data import dataset_locations as _locations

    return _locations(data_dir)


__all__ = ["dataset_locations"]
