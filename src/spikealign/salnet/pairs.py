r"""Two-neuron reciprocal pairs on a grid of weights, all in one network: the SAL drift of the asymmetry.

Each grid point :math:`(W_{12}, W_{21})` with :math:`W_{12} \ne W_{21}` is one pair of neurons
connected only to each other (and to their own Poisson drive), so one simulation of any engine
measures the whole grid. With a small learning rate the weights barely move and the change of
:math:`W_{12} - W_{21}` over the run is the drift at that point; SAL removes asymmetry, so the
drift has the sign of :math:`W_{21} - W_{12}`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .spec import SALNetworkRecord, SALNetworkSpec


def pair_grid_spec(values: list[float], base: SALNetworkSpec) -> tuple[SALNetworkSpec, np.ndarray]:
    """``base`` with one reciprocal pair per ordered grid point; returns the spec and the (K, 2) points.

    Pair ``k`` is neurons ``2k`` and ``2k + 1`` with ``W[2k, 2k+1] = W_12`` (onto the first) and
    ``W[2k+1, 2k] = W_21``; every other entry is NaN (no synapse).
    """
    points = np.array([(a, b) for a in values for b in values if a != b], dtype=float)
    n = 2 * len(points)
    w = np.full((n, n), np.nan)
    k = np.arange(len(points))
    w[2 * k, 2 * k + 1] = points[:, 0]
    w[2 * k + 1, 2 * k] = points[:, 1]
    return replace(base, n_neurons=n, weights_pa=w), points


def pair_drifts(record: SALNetworkRecord) -> np.ndarray:
    """(K,) change of ``W_12 - W_21`` of each pair over the record (pairs as in :func:`pair_grid_spec`)."""
    dw = record.weights[-1] - record.weights[0]
    k = np.arange(dw.shape[0] // 2)
    return dw[2 * k, 2 * k + 1] - dw[2 * k + 1, 2 * k]
