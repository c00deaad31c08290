"""Optional dependencies: a clear, one-line error when an extra is not installed.

The heavy parts of spikealign live in extras (``pip install 'spikealign[deep]'`` for torch and the
deep-network family, ``[cluster]`` for dask-jobqueue).  A module that needs one calls :func:`require`
before importing it; ``spikealign.deep`` imports :mod:`spikealign._needs_deep`, which does so for torch.
"""

from __future__ import annotations

import importlib.util

from .errors import UserError


class MissingExtraError(UserError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def require(module: str, extra: str) -> None:
    """Raise :class:`MissingExtraError` unless ``module`` can be imported (checked without importing it)."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(
            f"{module} is not installed; this part of spikealign needs the [{extra}] extra: "
            f"pip install 'spikealign[{extra}]'"
        )
