"""Two-neuron pairs on a weight grid: every engine's SAL drift has the sign that removes asymmetry."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from spikealign._optional import MissingExtraError
from spikealign.plasticity import SALParams
from spikealign.salnet.experiments import engine_function
from spikealign.salnet.pairs import pair_drifts, pair_grid_spec
from spikealign.salnet.spec import SALNetworkSpec

VALUES = [-300.0, 0.0, 300.0, 600.0]
# small eta: the weights stay where they are (the drift at the grid point); 6 s: each drift is
# about 4 standard deviations (seed-to-seed spread measured with the numba engine) from zero
BASE = SALNetworkSpec(duration_ms=6000.0, record_interval_ms=6000.0, sal=SALParams(eta=1e-3), seed=2)


def _engine(name: str):
    if name == "torch":
        pytest.importorskip("torch", reason="the torch engine needs torch (the [deep] extra)")
    try:
        return engine_function(name)
    except MissingExtraError as exc:
        pytest.skip(f"engine {name} unavailable: {exc}")


@pytest.mark.parametrize("engine", ["spikealign", "torch", "brian2", "nest"])
def test_pair_drift_has_the_sign_that_removes_asymmetry(engine):
    simulate = _engine(engine)
    spec, points = pair_grid_spec(VALUES, BASE)
    assert len(points) == 12
    drift = pair_drifts(simulate(spec))
    gap = points[:, 0] - points[:, 1]
    np.testing.assert_array_equal(np.sign(drift), -np.sign(gap))


def test_pair_grid_connects_each_pair_only_to_itself():
    spec, points = pair_grid_spec([0.0, 1.0], replace(BASE, duration_ms=100.0, record_interval_ms=100.0))
    w = spec.initial_weights()
    assert w.shape == (4, 4) and np.sum(~np.isnan(w)) == 4
    assert (w[0, 1], w[1, 0], w[2, 3], w[3, 2]) == (0.0, 1.0, 1.0, 0.0)
    assert points.tolist() == [[0.0, 1.0], [1.0, 0.0]]
