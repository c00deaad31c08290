"""The SAL phase as a deep-net estimator (see docs/deep.md, 'SAL estimator').

Uses only the public interface of :class:`~.sal.SALNet` (constructor, ``W``/``B``/``c`` lists,
``iterate``, ``rates``, ``reset_state``, ``state_dict``/``load_state_dict``).
"""

from __future__ import annotations

from types import MappingProxyType

import torch

from ... import seeding
from .base import Estimator
from .common import torch_seed
from .sal import SALNet, SALRuntime
from .settings import SALSettings


def default_engine(device) -> str:
    """The SAL engine used when the settings name none: ``fast`` on the CPU, ``torch`` elsewhere.

    ``spikealign run`` and ``reproduce`` name the exact ``numba`` engine instead (the estimators'
    ``run_defaults``), so the paper's numbers do not depend on this choice.
    """
    return "fast" if torch.device(device if device is not None else "cpu").type == "cpu" else "torch"


def make_sal_net(sizes: list[int], s: dict, seed: int, device=None) -> SALNet:
    """A :class:`SALNet` over layer ``sizes`` built from validated SAL settings ``s``."""
    return SALNet(
        sizes,
        t_ref=s["t_ref"],
        lr=s["sal_lr"],
        batch_size=s["batch_size"],
        buffer_length=s["buffer_length"],
        seed=torch_seed(seed, "sal", "noise"),
        init_rng=seeding.rng(seed, "sal", "init"),
        runtime=SALRuntime.from_settings(s, device),
        engine=s.get("engine") or default_engine(device),
    )


class SALEstimator(Estimator):
    """SAL phase before every epoch.

    Each call copies ``W_l``, ``B_{l-1} = feedback^T`` and the biases into the spiking net (its
    own layer-0 bias stays the random constant drawn once), runs ``n_iterations`` iterations of
    ``len_epoch * t_ref`` ticks with one feedback update each, and writes ``feedback = B^T`` back.
    The spiking state is never reset (reference) unless ``reset_state``.
    """

    name = "sal"
    settings_model = SALSettings
    quick_settings = MappingProxyType({"n_iterations": 2, "batch_size": 8})
    run_defaults = MappingProxyType({"engine": "numba"})

    def __init__(self, model_or_layers, settings=None, seed: int = 0, device=None):
        super().__init__(model_or_layers, settings, seed, device)
        lr = self.settings["sal_lr"]
        if isinstance(lr, list) and len(lr) != len(self.fc_layers):
            raise ValueError(f"estimator 'sal' settings: sal_lr needs {len(self.fc_layers)} values, got {len(lr)}")
        self.net = make_sal_net(self.sizes, self.settings, seed, self.device)

    def _load_network(self) -> None:
        net, copy_biases = self.net, self.settings["copy_biases"]
        for k, layer in enumerate(self.fc_layers):
            weight, feedback = layer.weight, layer.feedback
            assert isinstance(weight, torch.Tensor) and isinstance(feedback, torch.Tensor)
            net.W[k + 1] = weight.detach().to(net.device, net.dtype).clone()
            net.B[k] = feedback.detach().to(net.device, net.dtype).T.contiguous().clone()
            bias = getattr(layer, "bias", None)
            if copy_biases and bias is not None:
                net.c[k + 1] = bias.detach().to(net.device, net.dtype).clone()

    def before_epoch(self, epoch: int) -> dict[str, float]:
        s, net = self.settings, self.net
        out = self._with_before(self._metrics())
        with torch.no_grad():
            self._load_network()
            if s["reset_state"]:
                net.reset_state()
            net.iterate(s["n_iterations"], s["len_epoch"] * s["t_ref"])
            for k in range(len(self.fc_layers)):
                self._write_feedback(k, net.B[k].T)
        return self._with_after(out, net.rates())

    def state_dict(self) -> dict:
        return {"sal": self.net.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.net.load_state_dict(d["sal"])
