"""The deep-network tests need torch, from the [deep] extra (which `make test` does not install on Python 3.13)."""

import importlib.util
from pathlib import Path

import pytest

REASON = "torch is not installed: the deep-network tests need 'spikealign[deep]'"


class _NeedsTorch(pytest.Module):
    """A test module that is reported as skipped instead of imported (its imports need torch)."""

    def collect(self):
        pytest.skip(REASON, allow_module_level=True)


if importlib.util.find_spec("torch") is None:

    def pytest_pycollect_makemodule(module_path, parent):
        return _NeedsTorch.from_parent(parent, path=module_path)


def pytest_collection_modifyitems(config, items):
    """Every test of this folder needs torch: marked ``torch`` (``-m "not torch"`` leaves them out)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.torch)
