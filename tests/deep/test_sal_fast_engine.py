"""The fast SAL engine: its own pair terms are exact, its stream is reproducible, and it is a
statistically equivalent sample of the exact engine's process (angles and rates over seeds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from spikealign.deep import convert, make_estimator
from spikealign.deep.estimators.sal import SALNet, sal_pair_accumulation
from spikealign.deep.estimators.sal_estimator import SALEstimator, default_engine
from spikealign.deep.estimators.sal_fast_engine import BLOCK_TICKS, REPLICAS_PER_GROUP
from spikealign.spiking.counter_rng import uniforms

SEEDS = range(10)


def _spike_trains(net: SALNet, ticks: int) -> np.ndarray:
    """Run ``net`` tick by tick; its spikes (ticks, batch, N), read from the spike memory."""
    out = []
    for _ in range(ticks):
        net.run(1)
        out.append(net.ring[(net.pos - 1) % net.K].numpy().copy())
    return np.array(out)


def _assert_pair_terms_and_counts_of(net: SALNet, s: np.ndarray) -> None:
    """``net``'s pair terms are the all-pairs sum of its spike trains ``s`` (ticks, batch, N), its
    spike counts their sums."""
    assert s.sum() > 100
    for l in range(net.L - 1):
        lo, up = net._sl(l), net._sl(l + 1)
        ref = sal_pair_accumulation(s[:, :, lo], s[:, :, up], t_ref=net.t_ref, buffer_length=net.buffer_length)
        np.testing.assert_allclose(net.delta[l].numpy(), ref, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(net.spike_count.numpy(), s.sum(axis=(0, 1)))


def test_pair_terms_and_counts_are_exact_for_the_engines_own_spikes():
    net = SALNet([12, 9, 6], engine="fast", batch_size=3, seed=4)
    s = _spike_trains(net, 400)
    _assert_pair_terms_and_counts_of(net, s)
    # absolute refractoriness: never two spikes within t_ref + 1 ticks
    window = np.lib.stride_tricks.sliding_window_view(s, net.t_ref + 1, axis=0).sum(-1)
    assert window.max() == 1


def test_pair_terms_are_exact_across_runs_of_any_length_and_a_window_longer_than_a_block():
    # K = 60 > BLOCK_TICKS: the ticks before a block span blocks; every run fits in the spike memory
    net = SALNet([12, 9, 6], engine="fast", batch_size=REPLICAS_PER_GROUP + 2, seed=8, t_ref=30, buffer_length=2)
    assert net.K > BLOCK_TICKS
    trains = []
    for n_ticks in [1, 7, BLOCK_TICKS + 1, net.K, 13, BLOCK_TICKS - 1, 2, net.K - 1, 1, 45]:
        net.run(n_ticks)
        trains += [net.ring[(net.pos - n_ticks + i) % net.K].numpy().copy() for i in range(n_ticks)]
    s = np.array(trains)
    _assert_pair_terms_and_counts_of(net, s)
    # the net's traces: the truncated exponential traces of its last K ticks
    decay = np.exp(-np.arange(net.K) / net.t_ref)
    expected = np.einsum("m,mbn->bn", decay, s[::-1][: net.K].astype(np.float64))
    np.testing.assert_allclose(net.trace.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_same_seed_same_bits_any_thread_count_and_resume():
    kw = {"batch_size": 4, "seed": 3, "lr": 0.5, "engine": "fast"}
    a, b = SALNet([30, 20, 8], threads=1, **kw), SALNet([30, 20, 8], threads=2, **kw)
    a.iterate(2, 150)
    b.iterate(1, 150)
    resumed = SALNet([30, 20, 8], **{**kw, "seed": 99})
    resumed.load_state_dict(b.state_dict())
    resumed.iterate(1, 150)
    for x, y in zip(a.B, resumed.B, strict=True):
        assert torch.equal(x, y)
    assert torch.equal(a.counter, resumed.counter) and torch.equal(a.trace, resumed.trace)
    b.iterate(1, 150)
    assert all(torch.equal(x, y) for x, y in zip(a.B, b.B, strict=True))
    other = SALNet([30, 20, 8], **{**kw, "seed": 4})
    other.iterate(2, 150)
    assert not torch.equal(a.counter, other.counter)


def test_replica_groups_sum_to_the_same_bits_on_any_thread_count():
    # several replica groups (the last one partial) and several blocks (the last one partial)
    kw = {"batch_size": 2 * REPLICAS_PER_GROUP + 3, "seed": 5, "engine": "fast"}
    a, b = SALNet([30, 20, 8], threads=1, **kw), SALNet([30, 20, 8], threads=2, **kw)
    ticks = 2 * BLOCK_TICKS + 7
    a.run(ticks)
    b.run(ticks)
    assert a.spike_count.sum() > 100
    assert torch.equal(a.spike_count, b.spike_count) and torch.equal(a.counter, b.counter)
    assert all(torch.equal(x, y) for x, y in zip(a.delta, b.delta, strict=True))
    # every group's spikes are in the counts: the total equals the spikes the replicas' counters saw
    assert a.spike_count.sum() >= (a.counter <= ticks).sum()


def test_counter_based_uniforms_are_uniform_and_independent():
    n, ticks = 4096, 64
    xi = np.array([uniforms(np.uint64(7), t, 2, 3, n) for t in range(ticks)], dtype=np.float64)
    assert xi.min() >= 0 and xi.max() < 1
    # chi-square over 64 bins: mean 63, sd 11.2; 5 sd above is a broken generator
    counts = np.histogram(xi, bins=64, range=(0, 1))[0]
    expected = xi.size / 64
    assert ((counts - expected) ** 2 / expected).sum() < 63 + 5 * math.sqrt(2 * 63)
    # neighbours in q and in t are uncorrelated (sd of a correlation estimate ~ 1/sqrt(size))
    tol = 5 / math.sqrt(xi.size)
    assert abs(np.corrcoef(xi[:, :-1].ravel(), xi[:, 1:].ravel())[0, 1]) < tol
    assert abs(np.corrcoef(xi[:-1].ravel(), xi[1:].ravel())[0, 1]) < tol


def _stream_as_documented(key: int, t: int, r: int, b: int, n: int) -> np.ndarray:
    """The uniforms of spikealign.spiking.counter_rng's docstring, in NumPy uint64 arithmetic."""
    m64 = (1 << 64) - 1

    def splitmix64(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m64
        return z ^ (z >> 31)

    k = splitmix64((key + (t * b + r + 1) * 0x9E3779B97F4A7C15) & m64)
    x = (np.uint64(k) + np.arange(n, dtype=np.uint64)) & np.uint64(0xFFFFFFFF)
    x = ((x ^ (x >> np.uint64(16))) * np.uint64(0x7FEB352D)) & np.uint64(0xFFFFFFFF)
    x = ((x ^ (x >> np.uint64(15))) * np.uint64(0x846CA68B)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    return (x >> np.uint64(8)).astype(np.float32) * np.float32(2.0**-24)


@pytest.mark.parametrize(("key", "t", "r", "b"), [(7, 0, 0, 1), (2**62 + 12345, 1999, 31, 32), (2**64 - 1, 5, 2, 3)])
def test_counter_based_uniforms_are_the_documented_hash(key, t, r, b):
    np.testing.assert_array_equal(uniforms(np.uint64(key), t, r, b, 1000), _stream_as_documented(key, t, r, b, 1000))


def _angle(W: torch.Tensor, B_top_down: torch.Tensor) -> float:
    """Degrees between ``W_{l+1}`` (post, pre) and ``B_l^T``."""
    w, b = W.double().ravel(), B_top_down.T.double().ravel()
    return math.degrees(math.acos(float(w @ b / (w.norm() * b.norm()))))


def _assert_paired_agreement(fast: np.ndarray, exact: np.ndarray, what: str) -> None:
    """Every column's mean paired difference over the seeds is within 2 standard errors of 0."""
    d = np.asarray(fast) - np.asarray(exact)
    mean, se = d.mean(axis=0), d.std(axis=0, ddof=1) / math.sqrt(d.shape[0])
    assert np.all(np.abs(mean) <= 2 * se), f"{what}: mean difference {mean} vs 2 SE {2 * se}"


def _phase(sizes, engine, seed, batch, iterations, ticks, lr=0.04):
    net = SALNet(sizes, engine=engine, batch_size=batch, seed=seed, lr=lr)
    net.iterate(iterations, ticks)
    angles = [_angle(net.W[l + 1], net.B[l]) for l in range(net.L - 1)]
    return angles, net.rates()


def _equivalence(sizes, batch, iterations, ticks, lr):
    out = {}
    for engine in ("numba", "fast"):
        runs = [_phase(sizes, engine, s, batch, iterations, ticks, lr) for s in SEEDS]
        out[engine] = (np.array([r[0] for r in runs]), np.array([r[1] for r in runs]))
    initial = np.array([_phase(sizes, "numba", s, batch, 0, ticks, lr)[0] for s in SEEDS])
    drop = (initial - out["fast"][0]).mean(axis=0)
    assert np.all(drop > 0.1), f"the phase did not align B with W: angle drops {drop}"
    _assert_paired_agreement(out["fast"][0], out["numba"][0], "W-B angles")
    _assert_paired_agreement(out["fast"][1], out["numba"][1], "rates")


def test_fast_engine_is_statistically_the_exact_engine_on_a_small_net():
    _equivalence([60, 40, 20, 10], batch=8, iterations=3, ticks=400, lr=0.2)


@pytest.mark.slow
def test_fast_engine_is_statistically_the_exact_engine_on_the_papers_net():
    _equivalence([1600, 384, 192, 10], batch=32, iterations=1, ticks=2000, lr=0.04)


def _mlp(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 48), nn.ReLU(), nn.Linear(48, 24), nn.ReLU(), nn.Linear(24, 5))


def test_fast_engine_is_statistically_the_exact_engine_on_a_converted_model():
    settings = {"n_iterations": 2, "len_epoch": 40, "batch_size": 8, "sal_lr": 0.2}
    res: dict[str, list] = {}
    for engine in ("numba", "fast"):
        rows = []
        for s in SEEDS:
            est = make_estimator("sal", convert(_mlp(s), "fa"), {**settings, "engine": engine}, seed=s)
            m = est.before_epoch(0)
            rates = sorted(k for k in m if k.startswith("rate/"))  # metrics are keyed by module name
            rows.append([m[f"angle/{name}"] for name in est.layer_names] + [m[k] for k in rates])
        res[engine] = np.array(rows)
    _assert_paired_agreement(res["fast"][:, :3], res["numba"][:, :3], "converted model: angles")
    _assert_paired_agreement(res["fast"][:, 3:], res["numba"][:, 3:], "converted model: rates")


def test_user_code_gets_the_fast_engine_and_runs_the_exact_one():
    est = make_estimator("sal", convert(_mlp(0), "fa"), {"batch_size": 2})
    assert est.net.engine == "fast" and default_engine("cpu") == "fast" and default_engine("cuda") == "torch"
    assert SALEstimator.run_defaults["engine"] == "numba"
    assert make_estimator("sal", convert(_mlp(0), "fa"), {"engine": "torch"}).net.engine == "torch"


def test_runs_use_the_exact_engine_and_an_unset_engine_is_not_stored(tmp_path):
    from spikealign.deep.config import DeepConfig
    from spikealign.deep.estimators import profile_settings, validate_settings
    from spikealign.deep.methods import get_method
    from spikealign.deep.model import ConvNet
    from spikealign.deep.train import make_estimator as make_run_estimator
    from spikealign.runs import RunContext

    assert "engine" not in validate_settings("sal", {}) and "engine" not in profile_settings("sal", "paper")
    assert validate_settings("sal", {"engine": "fast"})["engine"] == "fast"
    config = DeepConfig(kind="deep", method="sal", dataset="mnist5k", estimator={"batch_size": 2})
    ctx = RunContext(tmp_path / "run", 0, show_progress=False)
    est = make_run_estimator(config, ConvNet(1, 28, get_method("sal")), ctx, torch.device("cpu"))
    assert est.net.engine == "numba"
    config = DeepConfig(kind="deep", method="sal", dataset="mnist5k", estimator={"batch_size": 2, "engine": "fast"})
    est = make_run_estimator(config, ConvNet(1, 28, get_method("sal")), ctx, torch.device("cpu"))
    assert est.net.engine == "fast"


def test_outgoing_rows_follow_every_change_of_the_weights():
    """The rows are kept between runs only while the weight tensors are unchanged: an in-place update
    (apply_update, copy_) or a new tensor is seen at the next run."""
    from spikealign.deep.estimators.sal_fast_engine import _outgoing_rows, outgoing_rows

    net = SALNet([12, 9, 6], engine="fast", batch_size=2, seed=1)
    first = outgoing_rows(net)
    assert outgoing_rows(net) is first  # unchanged: the same array
    net.B[0].mul_(2.0)  # in place
    np.testing.assert_array_equal(outgoing_rows(net), _outgoing_rows(net))
    assert not np.array_equal(outgoing_rows(net), first)
    net.W[1] = torch.zeros_like(net.W[1])  # a new tensor
    np.testing.assert_array_equal(outgoing_rows(net), _outgoing_rows(net))
    net.run(50)
    net.apply_update()  # B += eta Delta in place
    np.testing.assert_array_equal(outgoing_rows(net), _outgoing_rows(net))
