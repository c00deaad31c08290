"""spikealign: spike-based alignment learning (SAL) and its baselines, fast and reproducible."""

from ._numba_cache import use_kernel_cache

__version__ = "0.1.0"

use_kernel_cache()  # before any kernel module compiles: cached kernels are keyed to the kernel sources
# (and land in a writable folder even for a user without a home folder)
