"""Tests of the spiking feedback estimators (SAL, RDD, STDWI) and their deep-net hooks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spikealign.deep.estimators import (
    alignment_metrics,
    estimate,
    make_estimator,
    random_connection,
    sal_pair_accumulation,
    stdwi_from_spikes,
    validate_settings,
)
from spikealign.deep.estimators.rdd import kappas
from spikealign.deep.estimators.sal import SALNet
from spikealign.errors import UserError


class FakeLayer:
    """Stand-in for an FA layer: ``weight`` (out, in), ``feedback`` (out, in), ``bias`` (out)."""

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator):
        b = 1.0 / math.sqrt(n_in)
        self.weight = torch.tensor(rng.uniform(-b, b, (n_out, n_in)), dtype=torch.float32)
        self.feedback = torch.tensor(rng.uniform(-b, b, (n_out, n_in)), dtype=torch.float32)
        self.bias = torch.tensor(rng.uniform(-b, b, n_out), dtype=torch.float32)


def fake_stack(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [FakeLayer(sizes[i], sizes[i + 1], rng) for i in range(len(sizes) - 1)]


# --------------------------------------------------------------------------- metrics
def test_angle_metrics_on_known_matrices():
    w = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert alignment_metrics(w, w)["angle"] == pytest.approx(0.0, abs=1e-5)
    assert alignment_metrics(w, -w)["angle"] == pytest.approx(180.0)
    assert alignment_metrics(w, np.array([[0.0, 1.0], [1.0, 0.0]]))["angle"] == pytest.approx(90.0)
    m = alignment_metrics(w, 2 * w)
    assert m["slope"] == pytest.approx(2.0)
    assert m["corr"] == pytest.approx(1.0)
    assert m["sign"] == pytest.approx(0.5)  # zeros have sign 0


# --------------------------------------------------------------------------- SAL
def _brute_force_sal(net0: SALNet, n_ticks: int, seed: int, chunk: int):
    """Per-replica reference-style SAL: spike buffers, conv-style PSPs and traces, outer products."""
    sizes, L, b, t_ref, K = net0.sizes, net0.L, net0.batch, net0.t_ref, net0.K
    W = [None] + [w.numpy().astype(np.float64) for w in net0.W[1:]]
    B = [x.numpy().astype(np.float64) for x in net0.B]
    c = [x.numpy().astype(np.float64) for x in net0.c]
    buf = [np.zeros((b, n, K)) for n in sizes]  # most recent first
    counter = [np.full((b, n), np.inf) for n in sizes]
    delta = [np.zeros((b, sizes[l], sizes[l + 1])) for l in range(L - 1)]
    kern = np.exp(-np.arange(K) / t_ref)
    gen = torch.Generator().manual_seed(seed)
    done = 0
    while done < n_ticks:
        k = min(chunk, n_ticks - done)
        xi = torch.rand((k, b, net0.N), generator=gen, dtype=torch.float64).numpy()
        for t in range(k):
            z = [bb[:, :, :t_ref].sum(axis=2) for bb in buf]
            spikes = []
            for l in range(L):
                u = np.tile(c[l], (b, 1))
                if l >= 1:
                    u = u + z[l - 1] @ W[l].T
                if l <= L - 2:
                    u = u + z[l + 1] @ B[l].T
                p = 1.0 / (1.0 + np.exp(-(u - math.log(t_ref))))
                xl = xi[t][:, net0.offsets[l] : net0.offsets[l + 1]]
                spikes.append((xl < p) & (counter[l] > t_ref))
            for l in range(L):
                counter[l] += 1
                counter[l][spikes[l]] = 1
                buf[l] = np.roll(buf[l], 1, axis=2)
                buf[l][:, :, 0] = spikes[l]
            x = [bb @ kern for bb in buf]
            for l in range(L - 1):
                for r in range(b):
                    delta[l][r] += np.outer(buf[l][r, :, 0], -x[l + 1][r]) + np.outer(x[l][r], buf[l + 1][r, :, 0])
        done += k
    return delta


@pytest.mark.parametrize("event_driven", [True, False], ids=["events", "gemm"])
def test_fast_sal_accumulation_equals_brute_force(event_driven):
    sizes, batch, ticks, chunk, seed = [3, 4, 2], 2, 260, 50, 7
    net = SALNet(sizes, t_ref=10, lr=0.04, batch_size=batch, seed=seed, dtype=torch.float64, chunk=chunk)
    net.event_driven = event_driven
    init = SALNet(sizes, t_ref=10, lr=0.04, batch_size=batch, seed=seed, dtype=torch.float64, chunk=chunk)
    net.run(ticks)
    ref = _brute_force_sal(init, ticks, seed, chunk)
    for l in range(len(sizes) - 1):
        np.testing.assert_allclose(net.delta[l].numpy(), ref[l].sum(axis=0), rtol=1e-10, atol=1e-10)
    assert sum(float(np.abs(d).sum()) for d in ref) > 0  # spikes happened
    B_before = [x.clone() for x in net.B]
    net.apply_update()
    for l in range(len(sizes) - 1):
        # update = eta / K * mean over replicas of the summed pair terms
        expected = B_before[l].numpy() + 0.04 / 20 * ref[l].mean(axis=0)
        np.testing.assert_allclose(net.B[l].numpy(), expected, rtol=1e-10, atol=1e-12)


def test_sal_pair_accumulation_matches_outer_products():
    rng = np.random.default_rng(1)
    lo = (rng.random((120, 3)) < 0.1).astype(float)
    up = (rng.random((120, 2)) < 0.1).astype(float)
    K, kern = 20, np.exp(-np.arange(20) / 10)
    x = lambda s, t: sum(kern[m] * s[t - m] for m in range(K) if t - m >= 0)  # noqa: E731
    ref = sum(np.outer(lo[t], -x(up, t)) + np.outer(x(lo, t), up[t]) for t in range(120))
    np.testing.assert_allclose(sal_pair_accumulation(lo, up), ref, atol=1e-12)


def _sal_step_means(W: np.ndarray, B_td: np.ndarray, seeds) -> np.ndarray:
    """Mean SAL increment of B (top-down) of a 2-layer net, one value per independent seed."""
    out = []
    for s in seeds:
        net = SALNet([W.shape[1], W.shape[0]], t_ref=10, lr=0.04, batch_size=4, seed=s, chunk=100)
        net.W[1] = torch.tensor(W, dtype=torch.float32)
        net.B[0] = torch.tensor(B_td, dtype=torch.float32)
        net.c = [torch.zeros_like(c) for c in net.c]
        net.run(3000)
        out.append(float(net.apply_update()[0].mean()))
    return np.array(out)


def _t_stat(x: np.ndarray) -> float:
    return float(x.mean() / (x.std(ddof=1) / math.sqrt(len(x))))


# One-sided t test over R = 6 independent seeds (5 degrees of freedom): the 0.1 % critical value
# of Student's t is 5.89, so |t| > 5.89 in the expected direction rejects "no systematic
# change" at p < 0.001.  Each seed's mean increment is an average over 8x8 entries of a
# 3000-tick, 4-replica run, so the seed means are independent and close to normal.
T_CRIT_5DOF_0001 = 5.89


def test_sal_increases_b_when_w_positive_and_b_zero():
    W = np.full((8, 8), 0.6)
    means = _sal_step_means(W, np.zeros((8, 8)), seeds=range(6))
    assert _t_stat(means) > T_CRIT_5DOF_0001


def test_sal_decreases_b_far_above_w():
    W = np.zeros((8, 8))
    means = _sal_step_means(W, np.full((8, 8), 1.5), seeds=range(6))
    assert _t_stat(means) < -T_CRIT_5DOF_0001


# --------------------------------------------------------------------------- RDD / STDWI
def test_rdd_kernel_values():
    k = kappas()
    assert k[0] == pytest.approx((math.exp(-0.1) - math.exp(-1 / 3)) / 7)
    assert k.argmax() in (4, 5) and k.sum() == pytest.approx(0.93, abs=0.01)


# Sign recovery: with 20x20 = 400 entries and a B unrelated to W, mean(sign W * sign B) has mean 0
# and standard deviation at most 1/sqrt(400) = 0.05 (entries at most weakly dependent).  We
# require > 0.15, three standard deviations above chance.
SIGN_CHANCE_3SD = 3 / math.sqrt(400)


def test_rdd_recovers_sign_of_w():
    W, B = random_connection(20, seed=3)
    Bn, _ = estimate("rdd", W, B, 10.0, seed=1, record_every_s=10.0)
    assert not np.allclose(Bn, B)  # the cumulative clock updated B at 10 s
    assert alignment_metrics(W, Bn)["sign"] > SIGN_CHANCE_3SD


def test_rdd_phase_clock_reproduces_the_notebook_no_update():
    W, B = random_connection(20, seed=3)
    Bn, hist = estimate("rdd", W, B, 12.0, seed=1, settings={"update_clock": "phase"})
    np.testing.assert_array_equal(Bn, B)  # the per-second clock never reaches 10 s
    assert np.all(hist["angle"] == hist["angle"][0])


def test_stdwi_recovers_sign_of_w():
    W, _ = random_connection(20, seed=3)
    Bn, _ = estimate("stdwi", W, np.zeros_like(W), 5.0, seed=1, record_every_s=5.0)
    assert alignment_metrics(W, Bn)["sign"] > SIGN_CHANCE_3SD


def test_stdwi_from_spikes_hand_computed():
    inp = np.zeros((4, 2))
    out = np.zeros((4, 1))
    inp[0, 0] = 1
    inp[2, 1] = 1
    out[2, 0] = 1
    B = np.array([[0.5, -0.5]])
    res = stdwi_from_spikes(B, inp, out, 0.25, 10.0, 200.0, 0.02, 0.1)
    xf = np.array([math.exp(-0.5 / 10), 1.0])
    xs = 0.05 * np.array([math.exp(-0.5 / 200), 1.0])
    np.testing.assert_allclose(res, B + 0.02 * (xf - xs - 0.1 * B))


@pytest.mark.parametrize(("name", "seconds"), [("sal", 5.0), ("rdd", 10.0), ("stdwi", 10.0)])
def test_each_estimator_lowers_the_angle_50x50(name, seconds):
    W, B = random_connection(50, seed=43)
    Bn, hist = estimate(name, W, B, seconds, seed=0, record_every_s=seconds)
    a0, a1 = hist["angle"][0], hist["angle"][-1]
    # Null model: an update unrelated to W moves cos(W, B) by about |dB| / (|B| sqrt(d)) (the
    # projection of a random direction in d = 2500 dimensions); 3 of those, in degrees, is the
    # smallest decrease we accept as real alignment.
    rel = np.linalg.norm(Bn - B) / min(np.linalg.norm(B), np.linalg.norm(Bn))
    threshold = 3 * math.degrees(rel / math.sqrt(W.size))
    assert a0 - a1 > threshold
    assert a1 < a0


# --------------------------------------------------------------------------- settings and hooks
def test_validate_settings_defaults_and_errors():
    s = validate_settings("sal", {})
    assert (s["n_iterations"], s["t_ref"], s["len_epoch"], s["sal_lr"], s["batch_size"]) == (5, 10, 200, 0.04, 32)
    assert validate_settings("rdd", {})["rdd_time"] == 90.0
    with pytest.raises(ValueError, match="lenepoch"):
        validate_settings("sal", {"lenepoch": 3})
    with pytest.raises(ValueError, match="t_ref"):
        validate_settings("sal", {"t_ref": 0})
    with pytest.raises(ValueError, match="unknown estimator"):
        validate_settings("foo", {})


HOOK_SETTINGS = {
    "sal": {"n_iterations": 2, "len_epoch": 5, "batch_size": 3},
    "rdd": {"rdd_time": 3.0, "update_interval_s": 1.0},
    "stdwi": {"seconds": 0.3},
}


@pytest.mark.parametrize("name", ["sal", "rdd", "stdwi"])
def test_hook_updates_feedback_and_resumes_exactly(name):
    sizes = [12, 8, 6, 3]
    layers = fake_stack(sizes, seed=1)
    w_before = [layer.weight.clone() for layer in layers]
    est = make_estimator(name, layers, HOOK_SETTINGS[name], seed=5, device="cpu")
    m = est.before_epoch(0)
    assert "angle/0" in m and all(np.isfinite(v) for v in m.values())
    assert all(torch.equal(a, layer.weight) for a, layer in zip(w_before, layers, strict=True))
    state = est.state_dict()
    snapshot = [layer.feedback.clone() for layer in layers]
    est.before_epoch(1)
    continued = [layer.feedback.clone() for layer in layers]
    assert any(not torch.equal(a, b) for a, b in zip(snapshot, continued, strict=True))

    layers2 = fake_stack(sizes, seed=1)
    for l2, snap in zip(layers2, snapshot, strict=True):
        l2.feedback.copy_(snap)
    est2 = make_estimator(name, layers2, HOOK_SETTINGS[name], seed=5, device="cpu")
    est2.load_state_dict(state)
    est2.before_epoch(1)
    for a, l2 in zip(continued, layers2, strict=True):
        torch.testing.assert_close(l2.feedback, a, rtol=0, atol=0)


def test_hook_rejects_mismatched_layers():
    layers = fake_stack([6, 4, 3])
    layers[1].feedback = torch.zeros(2, 2)
    with pytest.raises(UserError, match=r"layer 1: weight \(3, 4\) and feedback \(2, 2\) must be equal 2-D shapes"):
        make_estimator("sal", layers, {}, seed=0)


def test_estimator_methods_are_in_the_table():
    from spikealign.deep.methods import get_method

    for name in ("sal", "rdd", "stdwi"):
        m = get_method(name)
        assert m.estimator == name and m.fc_feedback == "fa" and m.conv_feedback == "fa"


# --------------------------------------------------------------------------- experiments and figures
def test_fig7_and_sal_evolution_pipeline(tmp_path):
    from spikealign.registry import get_figure
    from spikealign.sweep import SerialExecutor, SweepSpec, run_sweep

    fig7 = get_figure("fig7")
    assert [s.name for s in fig7.sweeps("paper")] == ["connection"]
    assert fig7.sweeps("paper")[0].base["seconds"] == 100.0
    spec = SweepSpec(
        name="connection",
        experiment="estimator-connection",
        base={"seconds": 2.0, "n": 12, "rdd": {"update_interval_s": 1.0}},  # RDD updates B within the run
        grid={"method": ["sal", "rdd", "stdwi"]},
    )
    res = run_sweep(spec, tmp_path / "fig7", executor=SerialExecutor(), show_progress=False)
    table = res.completed()
    assert len(table) == 3
    out = fig7.draw({"connection": res}, tmp_path / "fig7" / "figures")
    assert all(p.is_file() for p in out.files)
    for m in ("sal", "rdd", "stdwi"):
        row = table[table["method"] == m].iloc[0]
        assert out.numbers[f"{m}_final_angle_deg"] == pytest.approx(row["final_angle"])
        arr = res.arrays(row["run_id"], "connection")
        assert len(arr["time_s"]) == 3 and arr["time_s"][-1] == pytest.approx(2.0)
    assert len(out.checks) == 4

    evo = get_figure("sal-evolution")
    spec = SweepSpec(
        name="evolution",
        experiment="sal-evolution",
        base={"sizes": [20, 10, 5], "n_epochs": 3, "len_epoch": 50, "sal_lr": 0.05, "batch_size": 2},
    )
    res = run_sweep(spec, tmp_path / "evo", executor=SerialExecutor(), show_progress=False)
    out = evo.draw({"evolution": res}, tmp_path / "evo" / "figures")
    arr = res.arrays(res.completed().iloc[0]["run_id"], "evolution")
    assert arr["angle"].shape == (4, 2)
    assert set(out.numbers) >= {"final_angle_0_deg", "final_angle_1_deg"}


# --------------------------------------------------------------------------- end to end with the training loop
def test_sal_method_trains_on_the_mnist_subset(tmp_path):
    import json

    from spikealign.deep.config import DeepConfig
    from spikealign.deep.train import run
    from spikealign.runs import RunContext

    est = {"n_iterations": 1, "len_epoch": 200, "batch_size": 4}
    config = DeepConfig(method="sal", n_epochs=2, max_train=128, max_test=64, batch_size=32, estimator=est)
    assert config.estimator["sal_lr"] == 0.04  # completed by validate_settings
    ctx = RunContext(tmp_path / "sal", 0, show_progress=False)
    ctx.out_dir.mkdir(parents=True)
    summary = run(config, ctx)
    metrics = json.loads((ctx.out_dir / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 2 and np.isfinite(summary["final_test_accuracy"])
    first = metrics["epochs"][0]
    for k in ("fc1", "fc2", "fc3"):  # keyed by the ConvNet's module names
        before, after = first[f"estimator/before/angle/{k}"], first[f"estimator/angle/{k}"]
        # A feedback change unrelated to W moves the angle by about deg(|dB| / (|B| sqrt(d))) with
        # d >= 1920 entries and |dB| < |B| here: at most 1.3 degrees for fc3, 0.05 for fc1.  SAL's
        # 2000-tick iteration must lower every angle (fc1/fc2 by > 0.3 degrees, far beyond that).
        assert after < before, (k, before, after)
    assert first["estimator/before/angle/fc1"] - first["estimator/angle/fc1"] > 0.3


# --------------------------------------------------------------------------- RDD against a plain per-step version
class _PlainRDDLayer:
    """The RDD update (docs/deep.md, 'RDD estimator') written directly.

    Full ``R``/``R_pre`` matrices and masked updates, in float64.
    """

    def __init__(self, n, n_up, W=None):
        from spikealign.deep.estimators import rdd

        self.c = rdd
        self.n, self.n_up = n, n_up
        self.W = None if W is None else 0.2 * W.shape[1] * W / W.std()
        self.v, self.u = np.full(n, -1.0), np.full(n, -1.0)
        self.r, self.w = np.zeros(n), np.zeros(n)
        self.max_u, self.n_spk = np.zeros(n), np.zeros(n)
        self.hist = np.zeros((n, 30))
        self.R, self.R_pre = np.zeros((n, n_up)), np.zeros((n, n_up))
        self.p, self.beta = np.zeros((n, 4, n_up)), np.zeros((n, n_up))

    def step(self, kap, lower=None, upper=None, drive=None):
        c, rdd = self.c, self.n_up > 0
        ending = self.w == 1
        m = (self.w > 0) & (self.u > self.max_u)
        self.max_u[m] = self.u[m]
        self.r[self.r > 0] -= 1
        if drive is not None:
            bas = c.ALPHA * drive @ kap
        elif lower is not None:
            bas = self.W @ (lower @ kap)
        else:
            bas = np.zeros(self.n)
        self.v += c.DT * (-c.G_L * self.v + c.G_D * (bas - self.v))
        if rdd:
            q = upper @ kap
            self.u += c.DT * (-c.G_L * self.u + c.G_D * (bas - self.u))
            self.R[self.w > 0] += q
            self.R_pre[self.w == 0] = q
        fire = (self.v >= 1) & (self.r == 0)
        self.v[fire] = -1.0
        self.r[fire] = 3
        if rdd:
            if drive is not None:
                ok = ending & (np.abs(self.max_u - 1) <= 10)
                for above, ia, ic in ((True, 2, 0), (False, 3, 1)):
                    mk = ok & ((self.n_spk >= 1) == above)
                    y = self.R[mk] / 30 - self.R_pre[mk]
                    mu = self.max_u[mk][:, None]
                    e = self.p[mk, ia] * mu + self.p[mk, ic] - y
                    self.p[mk, ia] -= 0.001 * e * mu
                    self.p[mk, ic] -= 0.001 * e
                self.beta[ok] = self.p[ok, 2] * 1 + self.p[ok, 0] - (self.p[ok, 3] * 1 + self.p[ok, 1])
            self.w[self.w > 0] -= 1
            self.u[self.w == 0] = self.v[self.w == 0]
            self.w[(np.abs(1 - self.u) <= 0.1) & (self.w == 0)] = 30
            self.n_spk[(self.w > 0) & fire] += 1
            self.n_spk[ending] = 0
            self.R[ending] = 0
            self.max_u[ending] = 0
        self.hist = np.concatenate([self.hist[:, 1:], fire[:, None].astype(float)], axis=1)


def test_rdd_kernel_equals_plain_per_step_rdd():
    from spikealign.deep.estimators.rdd import RDDLayout, RDDNet, _rdd_steps

    sizes, T = [30, 20, 8], 3000
    W, _ = random_connection(30, seed=5)
    W1 = W[:20]
    W2 = np.random.default_rng(6).uniform(-0.3, 0.3, (8, 20))
    F0 = np.random.default_rng(7).uniform(-0.3, 0.3, (30, 20))
    F1 = np.random.default_rng(8).uniform(-0.3, 0.3, (20, 8))
    net = RDDNet(sizes)
    net.set_weight(1, W1)
    net.set_weight(2, W2)
    net.set_feedback(0, F0)
    net.set_feedback(1, F1)
    plain = [_PlainRDDLayer(30, 20), _PlainRDDLayer(20, 8, W1), _PlainRDDLayer(8, 0, W2)]
    rng = np.random.default_rng(9)
    drive = np.zeros((T, 30), dtype=np.int64)
    for start in range(0, T, 100):  # 30 % of the units driven at 0.3 counts/step, redrawn every 100 steps
        units = rng.choice(30, 9, replace=False)
        drive[start : start + 100, units] = rng.poisson(0.3, (100, 9))
    kap = np.flipud(kappas())
    dh = [np.zeros((30, 30)), np.zeros((20, 30))]
    for t in range(T):
        d = 0 if t < T // 2 else 1
        dh[d] = np.concatenate([dh[d][:, 1:], drive[t, : sizes[d], None]], axis=1)
        plain[0].step(kap, upper=plain[1].hist, drive=dh[0] if d == 0 else None)
        plain[1].step(kap, lower=plain[0].hist, upper=plain[2].hist, drive=dh[1] if d == 1 else None)
        plain[2].step(kap, lower=plain[1].hist)
    layout, params, state = RDDLayout(net.offs, net.woffs, net.moffs, net.kap), net.params(), net.spiking_state()
    _rdd_steps(T // 2, 0, 0, drive[: T // 2].astype(np.int64), layout, params, state, True)
    _rdd_steps(T - T // 2, T // 2, 1, drive[T // 2 :, :20].astype(np.int64), layout, params, state, True)
    for k in range(2):
        assert np.abs(plain[k].beta).max() > 0  # the regression ran
        np.testing.assert_allclose(net.beta_matrix(k), plain[k].beta, rtol=0, atol=1e-15)
    for k in range(3):
        # the event-driven forward product sums in another order than W @ p: equal up to rounding
        np.testing.assert_allclose(net.v[net.offs[k] : net.offs[k + 1]], plain[k].v, rtol=1e-12, atol=1e-300)


def test_sal_evolution_resume_continues_exactly(tmp_path):
    from spikealign.deep.estimators.config import SALEvolutionConfig
    from spikealign.deep.estimators.experiments import run_sal_evolution
    from spikealign.runs import RunContext

    base = {"sizes": [12, 6, 3], "len_epoch": 20, "sal_lr": 0.05, "batch_size": 2}

    def go(name, n_epochs, resume=False):
        ctx = RunContext(tmp_path / name, 3, resume=resume, show_progress=False)
        ctx.out_dir.mkdir(parents=True, exist_ok=True)
        run_sal_evolution(SALEvolutionConfig(seed=3, n_epochs=n_epochs, **base), ctx)
        return ctx.load_arrays("evolution")["angle"]

    straight = go("a", 4)
    go("b", 2)
    resumed = go("b", 4, resume=True)
    np.testing.assert_array_equal(resumed, straight)
    assert straight.shape == (5, 2) and not np.allclose(straight[0], straight[-1])


@pytest.mark.slow
def test_fig7_paper_expectations_sal_far_below_45_degrees():
    # docs/deep.md, 'One connection': within 100 simulated seconds SAL brings the 50x50 angle far below 45 degrees and
    # the slope of B on W approaches 1 (measured: 14.5 degrees, slope 0.82, seed 0)
    W, B = random_connection(50, seed=43)
    Bn, hist = estimate("sal", W, B, 100.0, seed=0, record_every_s=10.0)
    m = alignment_metrics(W, Bn)
    assert m["angle"] < 30.0 and m["slope"] > 0.6
    assert np.all(np.diff(hist["angle"]) < 0)  # monotone decrease at 10-s resolution


def test_an_rdd_connection_shorter_than_its_update_interval_is_rejected():
    from spikealign.config import validate
    from spikealign.registry import get_experiment

    model = get_experiment("estimator-connection").config_model
    with pytest.raises(UserError, match=r"seconds=5 is shorter than rdd.update_interval_s=10: RDD would never update"):
        validate(model, {"kind": "estimator-connection", "method": "rdd", "seconds": 5.0})
    assert validate(model, {"kind": "estimator-connection", "method": "rdd", "seconds": 10.0}).seconds == 10.0
    assert validate(model, {"kind": "estimator-connection", "method": "sal", "seconds": 5.0}).seconds == 5.0
