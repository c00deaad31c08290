"""A writable place for numba's compiled-function cache, chosen before any kernel is compiled.

numba caches ``@njit(cache=True)`` functions in ``__pycache__`` beside their source, else in the
user's cache folder (``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``).  When neither can be
written (an installed package run by a user whose home folder is missing, such as ``nobody``
with ``HOME=/nonexistent``), numba refuses to compile the function ("cannot cache function ...:
no locator available").  :func:`choose_cache_dir` then points ``NUMBA_CACHE_DIR`` at a private
folder in the temporary directory, so the package runs (and still caches) anyway.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (created if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def user_cache_dir() -> Path:
    """numba's user-wide cache folder: ``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "numba"


def choose_cache_dir(package_dir: Path = PACKAGE_DIR) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` to a writable temporary folder when numba's own choices cannot be written.

    Returns the folder set, or ``None`` when nothing had to change (``NUMBA_CACHE_DIR`` already
    set, or ``package_dir/__pycache__`` or the user cache folder writable).
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    if _writable(package_dir / "__pycache__") or _writable(user_cache_dir()):
        return None
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"spikealign-numba-cache-{uid}"
    if not _writable(folder):
        folder = Path(tempfile.mkdtemp(prefix="spikealign-numba-cache-"))
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba already imported: its config has read the environment
        config.CACHE_DIR = str(folder)  # type: ignore[attr-defined]
    return str(folder)
