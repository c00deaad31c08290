"""The numba SAL engine against the torch engine: same spikes, traces, Delta and B, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikealign.deep.estimators.sal import SALNet


def _pair(sizes, batch, seed, dtype=torch.float32, chunk=50, lr=0.5):
    kw = {"batch_size": batch, "seed": seed, "dtype": dtype, "chunk": chunk, "lr": lr}
    return SALNet(sizes, engine="torch", **kw), SALNet(sizes, engine="numba", **kw)


def _assert_same_state(a: SALNet, b: SALNet) -> None:
    for name in ("counter", "ring", "trace", "spike_count"):
        assert np.array_equal(getattr(a, name).numpy(), getattr(b, name).numpy()), name
    assert a.pos == b.pos and a.ticks_total == b.ticks_total
    for da, db in zip(a.delta, b.delta, strict=True):
        assert np.array_equal(da.numpy(), db.numpy())


@pytest.mark.parametrize(
    ("sizes", "batch", "seed", "dtype", "ticks"),
    [
        ([20, 10, 5], 4, 0, torch.float32, 237),
        ([30, 12], 3, 1, torch.float32, 200),
        ([50, 40, 30, 10], 8, 2, torch.float32, 173),
        ([20, 10, 5], 4, 3, torch.float64, 237),
    ],
)
def test_numba_engine_equals_torch_engine_exactly(sizes, batch, seed, dtype, ticks):
    a, b = _pair(sizes, batch, seed, dtype)
    assert b.engine == "numba" and SALNet(sizes).engine == "numba"  # the CPU default
    for _ in range(4):  # several SAL iterations: B changes between runs
        a.run(ticks)
        b.run(ticks)
        _assert_same_state(a, b)
        for sa, sb in zip(a.apply_update(), b.apply_update(), strict=True):
            assert np.array_equal(sa.numpy(), sb.numpy())
    for Ba, Bb in zip(a.B, b.B, strict=True):
        assert np.array_equal(Ba.numpy(), Bb.numpy())
    assert a.rates() == b.rates()
    assert min(a.rates()) > 0.02  # the nets did spike


def test_numba_engine_resumes_bit_identically():
    sizes, kw = [24, 12, 6], {"batch_size": 3, "seed": 5, "chunk": 40}
    full = SALNet(sizes, **kw)
    full.iterate(3, 130)
    part = SALNet(sizes, **kw)
    part.iterate(1, 130)
    state = part.state_dict()
    resumed = SALNet(sizes, **{**kw, "seed": 99})
    resumed.load_state_dict(state)
    resumed.iterate(2, 130)
    for Bf, Br in zip(full.B, resumed.B, strict=True):
        assert np.array_equal(Bf.numpy(), Br.numpy())
    _assert_same_state(full, resumed)
    # the loaded dict is not modified by the run
    assert np.array_equal(state["counter"].numpy(), part.counter.numpy())


def test_engine_argument_is_checked():
    with pytest.raises(ValueError, match="engine 'gpu'"):
        SALNet([4, 3], engine="gpu")
    with pytest.raises(ValueError, match="CPU only"):
        SALNet([4, 3], engine="numba", device="meta")


@pytest.mark.parametrize("threads", [0, 2])
def test_numba_engine_does_not_depend_on_the_thread_count(threads):
    """Replicas and Delta rows run in parallel; every replica and entry computes in the same order."""
    kw = {"batch_size": 5, "seed": 7, "chunk": 30, "lr": 0.5}
    one, many = SALNet([40, 20, 8], threads=1, **kw), SALNet([40, 20, 8], threads=threads, **kw)
    for _ in range(3):
        one.run(95)
        many.run(95)
        _assert_same_state(one, many)
        for sa, sb in zip(one.apply_update(), many.apply_update(), strict=True):
            assert np.array_equal(sa.numpy(), sb.numpy())
    assert min(one.rates()) > 0.02
