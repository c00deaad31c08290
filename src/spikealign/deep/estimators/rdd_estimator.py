"""The RDD phase as a deep-net estimator (see docs/deep.md, 'RDD estimator')."""

from __future__ import annotations

from types import MappingProxyType

from ... import seeding
from .base import Estimator
from .common import to_numpy
from .rdd import DT, RDDNet
from .settings import RDDSettings


def make_rdd_net(sizes: list[int], s: dict, seed: int) -> RDDNet:
    """An :class:`RDDNet` over layer ``sizes`` built from validated RDD settings ``s``."""
    return RDDNet(
        sizes,
        seed=int(seeding.seed_sequence(seed, "rdd", "drive").generate_state(1)[0]),
        stim_ratio=s["stim_ratio"],
        input_rate=s["input_rate_hz"] * DT,
        resample_steps=max(1, round(s["resample_ms"] * 1e-3 / DT)),
        update_interval_s=s["update_interval_s"],
        update_clock=s["update_clock"],
    )


class RDDEstimator(Estimator):
    """RDD phase before every epoch.

    Per phase: reset the spiking state (``reset_each_epoch``), copy ``W`` (rescaled) and
    ``F_k = feedback^T`` (``sigma_B`` is fixed by the first copy), simulate ``rdd_time`` seconds
    driving layers ``0..L-2`` in equal parts, replace the feedback at every ``update_interval_s``
    of the update clock, write ``feedback = F^T`` back.  With the reference's ``rdd_time = 90``
    the two clocks agree; with a phase shorter than the interval only ``cumulative`` updates.
    """

    name = "rdd"
    settings_model = RDDSettings
    quick_settings = MappingProxyType({"rdd_time": 3.0, "update_interval_s": 1.0})

    def __init__(self, model_or_layers, settings=None, seed: int = 0, device=None):
        super().__init__(model_or_layers, settings, seed, device)
        self.net = make_rdd_net(self.sizes, self.settings, seed)

    def before_epoch(self, epoch: int) -> dict[str, float]:
        s, net = self.settings, self.net
        out = self._with_before(self._metrics())
        if s["reset_each_epoch"]:
            net.reset()
        for k, layer in enumerate(self.fc_layers):
            net.set_weight(k + 1, to_numpy(layer.weight))
            net.set_feedback(k, to_numpy(layer.feedback).T)
        net.run_phase(s["rdd_time"])
        for k in range(len(self.fc_layers)):
            self._write_feedback(k, net.feedback(k).T.copy())
        return self._with_after(out, net.rates_hz(), "rate_hz")

    def state_dict(self) -> dict:
        return {"rdd": self.net.state_dict()}

    def load_state_dict(self, d: dict) -> None:
        self.net.load_state_dict(d["rdd"])
