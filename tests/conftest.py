"""Shared pytest configuration."""

import os

import matplotlib

matplotlib.use("Agg")
# keep BLAS/torch from oversubscribing the 2-core CI machine when pytest-xdist runs 2 workers
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _torch_kinds() -> set[str]:
    from spikealign import families

    return {kind for kind, (module, _) in families.EXPERIMENT_KINDS.items() if module.startswith("spikealign.deep")}


def pytest_collection_modifyitems(config, items):
    """Without torch (the [deep] extra), parametrized cases of the deep family's kinds are skipped."""
    import importlib.util

    import pytest

    if importlib.util.find_spec("torch") is not None:
        return
    torch_kinds = _torch_kinds()
    skip = pytest.mark.skip(reason="torch is not installed: this case needs 'spikealign[deep]'")
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("kind") in torch_kinds:
            item.add_marker(skip)
