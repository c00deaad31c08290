"""Training loop: learning on the MNIST subset, determinism, resume, KP decay, estimator hook, configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from spikealign.config import validate
from spikealign.deep import estimators, methods
from spikealign.deep.config import DeepConfig
from spikealign.deep.data import ImageDataset
from spikealign.deep.layers import FeedbackLinear
from spikealign.deep.methods import Method, get_method, method_names, register_method
from spikealign.deep.model import ConvNet, flat_features
from spikealign.deep.train import build_optimizer, run, train_epoch
from spikealign.errors import UserError
from spikealign.runs import RunContext

TIMING_KEYS = ("train_images_per_s",)


def _train(tmp_path: Path, name: str, resume: bool = False, seed: int = 0, **kw) -> tuple[dict, dict]:
    config = DeepConfig(seed=seed, **kw)
    ctx = RunContext(tmp_path / name, seed, resume=resume, show_progress=False)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    summary = run(config, ctx)
    return summary, json.loads((ctx.out_dir / "metrics.json").read_text())


def _strip_timing(epochs: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k not in TIMING_KEYS} for e in epochs]


# ------------------------------------------------------------------------- registry and config
def test_builtin_methods_and_alias():
    assert {"bp", "fa", "bp_w_fa", "kp", "scfa"} <= set(method_names())
    assert get_method("akrout") is get_method("kp")
    assert (get_method("bp_w_fa").conv_feedback, get_method("bp_w_fa").fc_feedback) == ("fa", "bp")
    with pytest.raises(UserError, match=r"unknown deep-network method 'nope'.*bp, fa"):
        get_method("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_method(Method("fa", "bp", "bp"))
    with pytest.raises(ValueError, match="not one of"):
        Method("x", "fa", "weird")


def test_config_rejects_bad_values_and_canonicalises_alias():
    assert validate(DeepConfig, {"kind": "deep", "method": "akrout"}).method == "kp"
    with pytest.raises(UserError, match=r"method.*unknown deep-network method"):
        validate(DeepConfig, {"kind": "deep", "method": "backprop"})
    with pytest.raises(UserError, match="unknown key 'lr_schedule'"):
        validate(DeepConfig, {"kind": "deep", "lr_schedule": 1})
    with pytest.raises(UserError, match="dataset"):
        validate(DeepConfig, {"kind": "deep", "dataset": "imagenet"})
    with pytest.raises(UserError, match="has no spiking estimator"):
        validate(DeepConfig, {"kind": "deep", "method": "fa", "estimator": {"a": 1}})


def test_model_shapes_for_both_image_sizes():
    assert flat_features(28) == 1024 and flat_features(32) == 1600
    for c, s in [(1, 28), (3, 32)]:
        net = ConvNet(c, s, get_method("fa"))
        out = net(torch.randn(4, c, s, s))
        assert out.shape == (4, 10)
        torch.testing.assert_close(out.sum(1), torch.ones(4))  # faithful: probabilities
        assert net.fc1.weight.shape == (384, flat_features(s)) and net.fc1.feedback.shape == net.fc1.weight.shape
    bp_fc1 = ConvNet(1, 28, get_method("bp")).fc1
    assert bp_fc1.feedback is None and "feedback" not in bp_fc1.state_dict()
    net = ConvNet(1, 28, get_method("bp_w_fa"), softmax_output=False)
    assert net.conv2.kind == "fa" and net.fc1.kind == "bp"


def test_kp_faithful_decays_forward_and_feedback_corrected_only_feedback():
    net = ConvNet(1, 28, get_method("kp"))
    groups = build_optimizer(net, DeepConfig(method="kp")).param_groups
    decayed = {id(p) for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    for fc in net.fc_layers:
        assert id(fc.weight) in decayed and id(fc.feedback) in decayed and id(fc.bias) not in decayed
    assert id(net.conv2.weight) not in decayed
    groups = build_optimizer(net, DeepConfig(method="kp", mode="corrected")).param_groups
    assert all(g["weight_decay"] == 0 for g in groups)


@pytest.mark.parametrize("mode", ["faithful", "corrected"])
def test_kp_mismatch_decays_geometrically_whatever_the_gradients(mode):
    # W and B get the same gradient g; with decay lambda (faithful: on W and B; corrected: lambda (B - W) on B)
    # D = W - B follows v <- mu v + lambda D, D <- D - lr v, independent of g: D_n = c_n D_0 exactly
    lr, mu, lam, steps = 0.05, 0.9, 0.2, 6
    cfg = DeepConfig(method="kp", mode=mode, lr=lr, momentum=mu, kp_weight_decay=lam, batch_size=16)
    g = torch.Generator().manual_seed(0)
    net = ConvNet(1, 28, get_method("kp"), softmax_output=mode == "faithful", generator=g, feedback_generator=g)
    d0 = [(fc.weight - fc.feedback).detach().clone() for fc in net.fc_layers]
    w0 = net.fc1.weight.detach().clone()
    ds = ImageDataset(
        "mnist5k",
        torch.randint(0, 256, (16 * steps, 1, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (16 * steps,), generator=g),
        torch.zeros(1, 1, 28, 28, dtype=torch.uint8),
        torch.zeros(1, dtype=torch.int64),
        "random",
    )
    train_epoch(net, build_optimizer(net, cfg), ds.train_x, ds.train_y, ds, cfg, g, torch.device("cpu"))
    c, v = 1.0, 0.0
    for _ in range(steps):
        v = mu * v + lam * c
        c = c - lr * v
    assert c < 0.95
    for fc, d in zip(net.fc_layers, d0, strict=True):
        torch.testing.assert_close((fc.weight - fc.feedback).detach(), c * d, rtol=0, atol=2e-6)
    assert not torch.allclose(net.fc1.weight.detach(), w0, atol=1e-4)  # the weights did learn


# ------------------------------------------------------------------------- training
def test_bp_and_fa_learn_the_mnist_subset(tmp_path):
    # chance is 10 %; with 300 test images its binomial sd is 1.7 points, so 50 % is far above it
    for method in ("bp", "fa"):
        summary, metrics = _train(
            tmp_path, method, method=method, mode="corrected", n_epochs=2, max_train=768, max_test=300
        )
        assert summary["final_test_accuracy"] > 50.0, (method, summary)
        assert metrics["n_train"] == 768 and metrics["n_test"] == 300 and len(metrics["epochs"]) == 2
        angle = summary["fc1/angle"]
        if method == "bp":
            assert angle == 0.0
        else:
            # random independent W and B in 384 x 1024 dims: angle 90 +- ~0.1 degrees at init
            assert metrics["initial"]["fc1/angle"] == pytest.approx(90.0, abs=1.0)
            assert angle > 60.0


def test_same_seed_gives_identical_metrics_and_resume_continues_exactly(tmp_path):
    common = {"method": "kp", "n_epochs": 2, "max_train": 128, "max_test": 64, "batch_size": 32}
    _, a = _train(tmp_path, "a", **common)
    _, b = _train(tmp_path, "b", **common)
    assert _strip_timing(a["epochs"]) == _strip_timing(b["epochs"])
    assert a["initial"] == b["initial"]
    _, c = _train(tmp_path, "c", seed=1, **{**common, "n_epochs": 1})
    assert _strip_timing(c["epochs"])[0] != _strip_timing(a["epochs"])[0]
    # interrupted after one epoch, then resumed with the full config: the same numbers
    _train(tmp_path, "r", **{**common, "n_epochs": 1})
    _, r = _train(tmp_path, "r", resume=True, **common)
    assert _strip_timing(r["epochs"]) == _strip_timing(a["epochs"])


def test_scfa_metrics_use_effective_feedback(tmp_path):
    _, m = _train(tmp_path, "scfa", method="scfa", n_epochs=1, max_train=128, max_test=64)
    last = m["epochs"][-1]
    for layer in ("fc1", "fc2", "fc3"):
        assert last[f"{layer}/sign"] == 1.0
        # |B0| * sign(W) vs W with independent uniform magnitudes: cos = E|w||b| / sqrt(E w^2 E b^2) = 3/4
        assert m["initial"][f"{layer}/angle"] == pytest.approx(41.4, abs=4.0)
    assert m["initial"]["conv2/angle"] == pytest.approx(90.0, abs=3.0)  # conv feedback stays FA


@pytest.mark.parametrize("method", ["dfa", "usf", "brsf", "frsf", "sal_conv"])
def test_methods_beyond_the_paper_train_and_log_their_alignment(tmp_path, method):
    estimator = {"n_iterations": 1, "len_epoch": 5, "batch_size": 2} if method == "sal_conv" else {}
    summary, m = _train(tmp_path, method, method=method, n_epochs=1, max_train=64, max_test=32, estimator=estimator)
    assert summary["epochs_done"] == 1
    last = m["epochs"][-1]
    assert 0.0 <= last["test_accuracy"] <= 100.0
    assert 0.0 <= last["fc3/angle"] <= 180.0  # every method's output layer has a W-B angle
    if method == "dfa":  # hidden dfa layers map the output error: no W-B angle is logged for them
        assert "fc1/angle" not in last and "conv2/angle" not in m["initial"]
    if method == "sal_conv":  # the SAL phase moved the conv feedback
        assert last["estimator/before/angle/conv2"] != last["estimator/angle/conv2"]


# ------------------------------------------------------------------------- estimator hook
class FakeEstimator:
    """Sets every FC feedback to ``alpha * W`` before each epoch; counts its calls."""

    def __init__(self, model, settings, seed, device):
        self.fc_layers = [m for m in model.modules() if isinstance(m, FeedbackLinear)]  # the driven layers
        self.alpha, self.seed, self.device = settings["alpha"], seed, device
        self.calls: list[int] = []
        self.loaded = None

    def before_epoch(self, epoch):
        self.calls.append(epoch)
        with torch.no_grad():
            for layer in self.fc_layers:
                layer.feedback.copy_(self.alpha * layer.weight)
        return {"calls": float(len(self.calls))}

    def state_dict(self):
        return {"calls": list(self.calls)}

    def load_state_dict(self, state):
        self.loaded = state
        self.calls = list(state["calls"])


@pytest.fixture
def fake_estimator(monkeypatch):
    made: list[FakeEstimator] = []

    def validate_settings(name, settings):
        assert name == "fake"
        unknown = set(settings) - {"alpha"}
        if unknown:
            raise ValueError(f"unknown estimator setting {sorted(unknown)[0]!r}")
        return {"alpha": 1.0, **settings}

    def make_estimator(name, model, settings, seed, device):
        est = FakeEstimator(model, settings, seed, device)
        made.append(est)
        return est

    monkeypatch.setattr(estimators, "validate_settings", validate_settings, raising=False)
    monkeypatch.setattr(estimators, "make_estimator", make_estimator, raising=False)
    register_method(Method("fake_sym", "fa", "fa", estimator="fake"))
    yield made
    methods._METHODS.pop("fake_sym", None)


def test_estimator_hook_contract(tmp_path, fake_estimator):
    with pytest.raises(UserError, match=r"estimator.*unknown estimator setting 'beta'"):
        validate(DeepConfig, {"kind": "deep", "method": "fake_sym", "estimator": {"beta": 1}})
    cfg = validate(DeepConfig, {"kind": "deep", "method": "fake_sym"})
    assert cfg.estimator == {"alpha": 1.0}  # completed by validate_settings
    common = {"method": "fake_sym", "estimator": {"alpha": 0.5}, "max_train": 64, "max_test": 32, "batch_size": 32}
    _, m = _train(tmp_path, "h", n_epochs=2, **common)
    est = fake_estimator[-1]
    assert est.calls == [0, 1]
    assert [layer.in_features for layer in est.fc_layers] == [1024, 384, 192]
    assert est.device == torch.device("cpu") and isinstance(est.seed, int)
    for e, rec in enumerate(m["epochs"]):
        assert rec["estimator/calls"] == e + 1
        # right after the estimator B = 0.5 W exactly: angle 0
        assert rec["after_estimator/fc1/angle"] == pytest.approx(0.0, abs=1e-4)
        assert rec["after_estimator/conv2/angle"] > 80  # conv feedback untouched
    # resume: the estimator state comes back from the checkpoint
    _train(tmp_path, "r", n_epochs=1, **common)
    _train(tmp_path, "r", resume=True, n_epochs=2, **common)
    assert fake_estimator[-1].loaded == {"calls": [0]} and fake_estimator[-1].calls == [0, 1]


@pytest.mark.parametrize(("method", "fractional"), [("fa", True), ("sal", False)])
def test_progress_of_a_run_with_a_spiking_phase_counts_whole_epochs(tmp_path, method, fractional):
    """The projected duration uses the rate of whole epochs when a spiking phase precedes each epoch
    (batch fractions measure training only: a SAL run was projected 10x too long)."""
    from spikealign.progress import Progress

    counts: list[float] = []

    class Recorder(Progress):
        def update(self, n: float = 1) -> None:
            super().update(n)
            counts.append(self.n)

    ctx = RunContext(tmp_path / method, 0, show_progress=False)
    ctx.out_dir.mkdir(parents=True)
    ctx.progress = lambda *a, **kw: Recorder(*a, enabled=False, **kw)  # type: ignore[method-assign]
    est = {"n_iterations": 1, "len_epoch": 20, "batch_size": 2} if method == "sal" else {}
    run(DeepConfig(method=method, n_epochs=2, max_train=128, max_test=32, batch_size=32, estimator=est), ctx)
    assert counts[-1] == 2
    assert any(c != int(c) for c in counts) is fractional, counts
