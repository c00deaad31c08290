"""Shared pytest configuration.

Markers (pyproject.toml): ``slow`` (deselected by default; ``-m slow`` runs them), ``golden``
(numbers compared with the reference implementation's or with stored values), ``end_to_end``
(fresh processes: the CLI, sweeps, workers) and ``torch`` (needs the [deep] extra; skipped when
torch is not installed).
"""

import importlib.util
import os

import matplotlib
import pytest

import toy_faults  # noqa: F401  (registers the test-only kind toy-faults)

matplotlib.use("Agg")
# keep BLAS/torch from oversubscribing the 2-core CI machine when pytest-xdist runs 2 workers
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config, items):
    """Without torch (the [deep] extra), tests marked ``torch`` are skipped."""
    if importlib.util.find_spec("torch") is not None:
        return
    skip = pytest.mark.skip(reason="torch is not installed: this case needs 'spikealign[deep]'")
    for item in items:
        if item.get_closest_marker("torch") is not None:
            item.add_marker(skip)
