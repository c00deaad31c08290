"""Optional dependencies: a clear, one-line error when an extra is not installed.

The heavy parts of spikealign live in extras (``pip install 'spikealign[deep]'`` for torch and the
deep-network family, ``[cluster]`` for dask-jobqueue, ...); which extra installs which module is
written once, in :data:`spikealign.families.OPTIONAL_EXTRAS`.  A module that needs one calls
:func:`require` before importing it (``spikealign.deep`` does so for torch); a family that fails to
import names the extra from the same table (:func:`spikealign.registry.load_family`).
"""

from __future__ import annotations

import importlib.util

from .errors import UserError


class MissingExtraError(UserError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def require(module: str) -> None:
    """Raise :class:`MissingExtraError` unless ``module`` can be imported (checked without importing it).

    ``module`` must be listed in :data:`spikealign.families.OPTIONAL_EXTRAS` (a ``KeyError`` otherwise).
    """
    from .families import OPTIONAL_EXTRAS

    extra = OPTIONAL_EXTRAS[module]
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(
            f"{module} is not installed; this part of spikealign needs the [{extra}] extra: "
            f"pip install 'spikealign[{extra}]'"
        )
