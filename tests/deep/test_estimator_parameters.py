"""The deep SAL update step and the estimators' parameter objects (SALRuntime, STDWIParams)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spikealign.deep.estimators.sal import SALNet, SALRuntime, _sal_update_feedback, sal_pair_accumulation
from spikealign.deep.estimators.settings import SALSettings, STDWISettings
from spikealign.deep.estimators.stdwi import STDWINet, STDWIParams


def test_sal_update_feedback_adds_eta_over_k_times_the_replica_mean_and_clears_delta():
    rng = np.random.default_rng(0)
    lower, upper = (rng.random((200, 3, 4)) < 0.1), (rng.random((200, 3, 2)) < 0.1)
    delta = torch.from_numpy(sal_pair_accumulation(lower, upper, t_ref=5, buffer_length=2))
    B = torch.from_numpy(rng.normal(size=(4, 2)))
    B0, expected = B.clone(), delta.clone() * 0.04 / (10 * 3)
    dB = _sal_update_feedback(B, delta, 0.04, 10, 3)
    assert expected.abs().max() > 0
    torch.testing.assert_close(dB, expected, rtol=1e-15, atol=0)
    torch.testing.assert_close(B, B0 + expected, rtol=1e-15, atol=0)
    assert not delta.any()


def test_apply_update_is_the_named_step_on_every_layer():
    net = SALNet([6, 4, 3], batch_size=2, seed=1, lr=[0.1, 0.2], engine="torch", dtype=torch.float64)
    net.run(300)
    before, deltas = [b.clone() for b in net.B], [d.clone() for d in net.delta]
    steps = net.apply_update()
    for l in range(2):
        torch.testing.assert_close(steps[l], deltas[l] * (net.lr[l] / (net.K * net.batch)), rtol=0, atol=0)
        torch.testing.assert_close(net.B[l], before[l] + steps[l], rtol=0, atol=0)
    assert net.forward_matrix(1).shape == (4, 6)
    with pytest.raises(ValueError, match="layer 0"):
        net.forward_matrix(0)


def test_runtime_keywords_equal_a_runtime_object():
    kw = dict(batch_size=2, seed=3, init_rng=np.random.default_rng(4))
    a = SALNet([5, 3], chunk=7, dtype=torch.float64, engine="torch", **kw)
    b = SALNet(
        [5, 3],
        runtime=SALRuntime(dtype=torch.float64, chunk=7, engine="torch"),
        **{**kw, "init_rng": np.random.default_rng(4)},
    )
    assert (a.chunk, a.dtype, a.engine) == (b.chunk, b.dtype, b.engine) == (7, torch.float64, "torch")
    a.run(50)
    b.run(50)
    torch.testing.assert_close(a.delta[0], b.delta[0], rtol=0, atol=0)
    s = SALSettings(dtype="float64", chunk=9, threads=2, engine="numba").model_dump()
    assert SALRuntime.from_settings(s) == SALRuntime("cpu", torch.float64, 9, 2, "numba")


def test_stdwi_params_from_settings_and_constants():
    s = STDWISettings(dt_ms=0.5, stim_rate_hz=100.0, tau_fast=8.0, lr=0.01).model_dump()
    p = STDWIParams.from_settings(s)
    assert (p.dt, p.stim_rate, p.tau_fast, p.lr, p.weight_normalization) == (0.5, 0.1, 8.0, 0.01, "fan_in")
    c = p.constants(140)
    assert c.psp_decay_slow == math.exp(-0.5 / 10.0) and c.psp_tail_slow == math.exp(-0.5 / 10.0) ** 140
    assert c.trace_decay_fast == math.exp(-0.5 / 8.0) and c.slow_trace_amplitude == 8.0 / 200.0
    W = np.random.default_rng(0).uniform(-math.sqrt(3 / 50), math.sqrt(3 / 50), (20, 50))
    p = STDWIParams(lr=0.05)  # the reference's connection
    a, b = STDWINet(W, W * 0, seed=2, params=p), STDWINet(W, W * 0, seed=2, **{**p.__dict__})
    a.run(1000.0)
    b.run(1000.0)
    np.testing.assert_array_equal(a.B, b.B)
    assert np.abs(a.B).max() > 0
