"""The STDWI phase as a deep-net estimator (see docs/deep.md, 'STDWI estimator')."""

from __future__ import annotations

from types import MappingProxyType

from ... import seeding
from .base import Estimator
from .common import to_numpy
from .settings import STDWISettings
from .stdwi import STDWINet, STDWIParams


def stdwi_seed(seed: int, k: int) -> int:
    """The seed of connection ``k``'s STDWI net."""
    return int(seeding.seed_sequence(seed, "stdwi", k).generate_state(1)[0])


class STDWIEstimator(Estimator):
    """STDWI phase before every epoch (our extension of STDWI to deep networks).

    Every FC connection is an independent STDWI problem (so the layers need not form a chain):
    its input population (the lower layer) is driven by gated Poisson stimuli, its output
    population (the upper layer) receives the current forward weights.  Each phase simulates
    ``seconds`` for every connection, continuing the spiking state of the previous phase; ``B`` is
    then written back, rescaled to the std of the initial ``B`` when ``rescale == "initial_std"``.
    """

    name = "stdwi"
    settings_model = STDWISettings
    quick_settings = MappingProxyType({"seconds": 2.0})
    needs_chain = False

    def __init__(self, model_or_layers, settings=None, seed: int = 0, device=None):
        super().__init__(model_or_layers, settings, seed, device)
        self.nets, self.init_std = [], []
        for k, layer in enumerate(self.fc_layers):
            W, B = to_numpy(layer.weight), to_numpy(layer.feedback)
            self.init_std.append(float(B.std()))
            self.nets.append(STDWINet(W, B, seed=stdwi_seed(seed, k), params=STDWIParams.from_settings(self.settings)))

    def before_epoch(self, epoch: int) -> dict[str, float]:
        s = self.settings
        out = self._with_before(self._metrics())
        for k, (layer, net) in enumerate(zip(self.fc_layers, self.nets, strict=True)):
            net.set_weight(to_numpy(layer.weight), s["weight_normalization"], s["weight_scale"], s["stim_ratio"])
            net.B = to_numpy(layer.feedback)
            net.run(s["seconds"] * 1000.0)
            B = net.B
            if s["rescale"] == "initial_std":
                sd = float(B.std())
                if sd > 0:
                    B = B * (self.init_std[k] / sd)
            net.B = B.copy()
            self._write_feedback(k, B)
            rin, rout = net.rates_hz()
            out[f"rate_hz/{k}/in"], out[f"rate_hz/{k}/out"] = rin, rout
        out.update(self._metrics())
        return out

    def state_dict(self) -> dict:
        return {"stdwi": [n.state_dict() for n in self.nets], "init_std": list(self.init_std)}

    def load_state_dict(self, d: dict) -> None:
        for n, sd in zip(self.nets, d["stdwi"], strict=True):
            n.load_state_dict(sd)
        self.init_std = list(d["init_std"])
