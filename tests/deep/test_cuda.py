"""CUDA checks (marker ``cuda``; skipped without a CUDA device): every method's layers, the
estimators with the torch engine on the GPU, a short Fig. 8 run with ``device=cuda``.

``make gpu-check`` runs them (benchmarks/gpu_check.py) together with the GPU timings.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from spikealign.deep import convert, make_estimator
from spikealign.deep.config import DeepConfig
from spikealign.deep.estimators import profile_settings
from spikealign.deep.figures import fig8_methods
from spikealign.deep.methods import METHODS
from spikealign.deep.model import ConvNet
from spikealign.deep.train import run
from spikealign.runs import RunContext

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device (torch.cuda.is_available() is False)"),
]


@pytest.mark.parametrize("method", [m.name for m in METHODS])
def test_every_methods_convnet_trains_a_step_on_cuda(method):
    """Forward and backward of every method's layers (dfa, brsf, sal_conv included) on the GPU,
    against the same model and batch on the CPU."""
    torch.manual_seed(0)
    cpu = ConvNet(1, 28, next(m for m in METHODS if m.name == method))
    gpu = ConvNet(1, 28, cpu.method).cuda()
    gpu.load_state_dict(cpu.state_dict())
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    grads = {}
    for name, model, dev in (("cpu", cpu, "cpu"), ("cuda", gpu, "cuda")):
        if method == "brsf":  # redraws its feedback magnitude per batch: same seed on both devices
            torch.manual_seed(1)
        out = model(x.to(dev))
        model.loss(out, y.to(dev)).backward()
        grads[name] = {n: p.grad.detach().cpu() for n, p in model.named_parameters() if p.grad is not None}
    assert grads["cpu"].keys() == grads["cuda"].keys() and grads["cpu"]
    if method != "brsf":
        for n, g in grads["cpu"].items():
            torch.testing.assert_close(grads["cuda"][n], g, rtol=1e-3, atol=1e-4, msg=n)
    assert all(torch.isfinite(g).all() for g in grads["cuda"].values())


@pytest.mark.parametrize("name", ["sal", "sal_conv", "rdd", "stdwi"])
def test_estimators_run_on_cuda_with_the_torch_engine(name):
    torch.manual_seed(0)
    model = convert(ConvNet(1, 28, next(m for m in METHODS if m.name == "fa")), "fa").cuda()
    settings = dict(profile_settings(name, "quick"))
    if name in ("sal", "sal_conv"):
        settings.update(engine="torch", n_iterations=1, len_epoch=50)
    est = make_estimator(name, model, settings, seed=0, device="cuda")
    metrics = est.before_epoch(0)
    assert all(math.isfinite(v) for v in metrics.values())
    assert all(layer.feedback.is_cuda for layer in est.fc_layers)
    if name in ("sal", "sal_conv"):
        net = est.sal.net if name == "sal_conv" else est.net
        assert net.device.type == "cuda" and net.engine == "torch"


def test_fig8_methods_train_an_epoch_on_cuda(tmp_path):
    """A shortened Fig. 8 quick run (one epoch, 512 images) of every Fig. 8 method with ``device=cuda``."""
    for method in fig8_methods():
        settings = {}
        est = next(m for m in METHODS if m.name == method).estimator
        if est is not None:
            settings = dict(profile_settings(est, "quick"))
            if est in ("sal", "sal_conv"):
                settings.update(n_iterations=1, len_epoch=50)
        config = DeepConfig(
            kind="deep", method=method, dataset="mnist5k", n_epochs=1, device="cuda",
            max_train=512, max_test=256, estimator=settings,
        )  # fmt: skip
        ctx = RunContext(tmp_path / method, 0, show_progress=False)
        ctx.out_dir.mkdir(parents=True)
        run(config, ctx)
        metrics = json.loads((ctx.out_dir / "metrics.json").read_text())
        acc = metrics["epochs"][-1]["test_accuracy"]
        assert math.isfinite(acc) and acc > 10, (method, acc)  # better than chance after an epoch
