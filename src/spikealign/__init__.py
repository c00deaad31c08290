"""spikealign: spike-based alignment learning (SAL) and its baselines, fast and reproducible."""

__version__ = "0.1.0"
