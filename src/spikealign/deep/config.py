"""Run config of the deep family: one training run of the ConvNet (``kind: deep``, :class:`DeepConfig`).

:mod:`.train` runs it; the reference's ``exp_settings.yaml`` is converted by :mod:`.reference`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..config import RunConfig
from ..errors import UserError
from .methods import get_method

Mode = Literal["faithful", "corrected"]


class DeepConfig(RunConfig):
    """One training run of the ConvNet (``kind: deep``)."""

    kind: Literal["deep"] = "deep"
    method: str = Field("bp", description="method name, see spikealign.deep.list_methods() (bp, fa, kp, dfa, sal, ...)")
    dataset: Literal["mnist5k", "mnist", "fmnist", "cifar10", "svhn"] = "mnist5k"
    data_dir: str | None = Field(None, description="folder with the dataset files (default: $SPIKEALIGN_DATA)")
    mode: Mode = Field(
        "faithful",
        description="faithful: softmax + cross-entropy, flips on digits, KP decays W too; corrected: logits, "
        "no flips on digits, KP decays only W - B",
    )
    n_epochs: int = Field(100, ge=1)
    batch_size: int = Field(128, ge=1)
    test_batch_size: int = Field(256, ge=1)
    lr: float = Field(0.01, gt=0, allow_inf_nan=False)
    momentum: float = Field(0.9, ge=0, lt=1, allow_inf_nan=False)
    kp_weight_decay: float = Field(
        0.001, ge=0, allow_inf_nan=False, description="decay of Kolen-Pollack layers (reference 0.001)"
    )
    max_train: int | None = Field(None, ge=1, description="use a seeded random subset of this many training images")
    max_test: int | None = Field(None, ge=1, description="use a seeded random subset of this many test images")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(None, ge=1, description="torch CPU threads (default: leave torch's setting)")
    estimator: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description="settings of the method's spiking estimator"
    )

    @field_validator("method")
    @classmethod
    def _known_method(cls, v: str) -> str:
        try:
            return get_method(v).name
        except UserError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("estimator")
    @classmethod
    def _estimator_settings(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("method")
        if name is None:  # the method itself was invalid; that error is reported
            return v
        method = get_method(name)
        if method.estimator is None:
            if v:
                raise ValueError(f"method {name!r} has no spiking estimator; remove the 'estimator' settings")
            return v
        from . import estimators

        return dict(estimators.validate_settings(method.estimator, dict(v)))

    @model_validator(mode="after")
    def _dataset_available(self) -> DeepConfig:
        """A missing dataset is a config error: reported before anything is written."""
        from .data import missing_dataset_message

        message = missing_dataset_message(self.dataset, self.data_dir)
        if message:
            raise ValueError(message)
        return self
