"""Experiment kinds as pytest parameters, each marked with the optional extra it needs."""

from __future__ import annotations

import pytest

from spikealign import families

#: the families that import torch (the [deep] extra)
TORCH_FAMILIES = frozenset({families.DEEP, families.ESTIMATORS})


def kind_param(kind: str) -> pytest.param:
    """``kind`` as a parameter, marked ``torch`` when its family needs torch."""
    marks = [pytest.mark.torch] if families.EXPERIMENT_KINDS[kind][0] in TORCH_FAMILIES else []
    return pytest.param(kind, marks=marks, id=kind)


def every_kind() -> list:
    """Every experiment kind of the package, as marked parameters."""
    return [kind_param(kind) for kind in families.EXPERIMENT_KINDS]
