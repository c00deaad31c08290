"""Shared pytest configuration."""

import os

import matplotlib

matplotlib.use("Agg")
# keep BLAS/torch from oversubscribing the 2-core CI machine when pytest-xdist runs 2 workers
os.environ.setdefault("OMP_NUM_THREADS", "1")
