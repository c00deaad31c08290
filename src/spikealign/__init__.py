"""spikealign: spike-based alignment learning (SAL) and its baselines, fast and reproducible."""

from ._numba_cache import choose_cache_dir as _choose_numba_cache_dir

__version__ = "0.1.0"

_choose_numba_cache_dir()  # a user without a writable home folder can still compile the kernels
