"""Where numba keeps spikealign's compiled kernels: one directory per version of the kernel sources.

numba checks a cached function against its own source file only: when a compiled function that
it calls lives in another file and changes, the cache still serves the old machine code (numba
issue 1833).  spikealign's kernels call across files (``spiking/stdp.exp_window_at`` is inlined
into four families), so the cache directory is keyed to a hash of every kernel module of the
package (each ``.py`` file that uses numba): any edit to any of them starts a fresh directory and
nothing compiled from older sources can be loaded.

The root of the cache is, first found: ``$SPIKEALIGN_CACHE_DIR``; ``$NUMBA_CACHE_DIR``; the
package's own ``__pycache__`` folder when it is writable (an editable checkout: ``make clean``
removes it); the user cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``) ``/spikealign``; and,
when none of these can be written (a user without a home folder, such as ``nobody`` with
``HOME=/nonexistent``, for whom numba would refuse to compile: "no locator available"), a private
folder in the temporary directory.
:func:`use_kernel_cache` runs when ``spikealign`` is imported, before any kernel module is.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT_ENV = "SPIKEALIGN_CACHE_DIR"


def kernel_sources_hash(package_dir: Path = PACKAGE_DIR) -> str:
    """A short hash of the path and text of every module under ``package_dir`` that uses numba."""
    paths = []
    for folder, subfolders, files in os.walk(package_dir):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]  # bytecode and the caches themselves
        paths += [Path(folder, name) for name in files if name.endswith(".py")]
    digest = hashlib.sha256()
    for path in sorted(paths):
        text = path.read_bytes()
        if b"numba" in text:
            digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0" + text + b"\0")
    return digest.hexdigest()[:16]


def _writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (created if missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def cache_root(package_dir: Path = PACKAGE_DIR) -> Path:
    """The folder that holds one ``numba-<hash>`` cache per version of the kernel sources."""
    for name in (ROOT_ENV, "NUMBA_CACHE_DIR"):
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser()
    in_package = package_dir / "__pycache__"
    if _writable(in_package):
        return in_package
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    user = Path(home) / "spikealign"
    if _writable(user):
        return user
    uid = os.getuid() if hasattr(os, "getuid") else 0
    private = Path(tempfile.gettempdir()) / f"spikealign-cache-{uid}"
    return private if _writable(private) else Path(tempfile.mkdtemp(prefix="spikealign-cache-"))


def kernel_cache_dir() -> Path:
    """numba's cache directory for the kernel sources as they are now: ``<root>/numba-<hash>``."""
    return cache_root() / f"numba-{kernel_sources_hash()}"


def use_kernel_cache() -> Path:
    """Point numba's cache (``NUMBA_CACHE_DIR``) at :func:`kernel_cache_dir`; returns that directory.

    The root goes into ``$SPIKEALIGN_CACHE_DIR`` so that child processes (sweep workers) resolve
    the same directory instead of nesting one inside the other.
    """
    root = cache_root()
    folder = root / f"numba-{kernel_sources_hash()}"
    os.environ[ROOT_ENV] = str(root)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    if "numba" in sys.modules:  # imported before spikealign: numba re-reads its settings from the environment
        from numba.core import config

        config.reload_config()
    return folder
