"""One seeding scheme for the whole package.

Every run has one integer root seed (``config.seed``).  All random streams of a run derive
from it through :class:`numpy.random.SeedSequence`: a named stream is
``SeedSequence(root_seed, spawn_key=key(name))`` where ``key`` maps the name to a tuple of
32-bit integers by a stable hash.  Streams for replicas in a batched kernel are
``stream(...).spawn(n)``.  The same root seed therefore gives the same bits on any machine
with the same library versions, and two differently named streams are independent.

Draws that must reproduce the reference bit for bit take an explicit seed from the config and use
``numpy.random.default_rng(seed)`` as the reference does (documented in each family's docs page).
"""

from __future__ import annotations

import hashlib

import numpy as np


def name_key(*names: str | int) -> tuple[int, ...]:
    """Stable tuple of uint32 words identifying a stream name (independent of PYTHONHASHSEED)."""
    text = "/".join(str(n) for n in names).encode()
    digest = hashlib.sha256(text).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def seed_sequence(root_seed: int, *names: str | int) -> np.random.SeedSequence:
    """The seed sequence of the stream ``names`` under ``root_seed``."""
    if root_seed < 0:
        raise ValueError(f"seed must be non-negative, got {root_seed}")
    if not names:
        return np.random.SeedSequence(root_seed)
    return np.random.SeedSequence(root_seed, spawn_key=name_key(*names))


def rng(root_seed: int, *names: str | int) -> np.random.Generator:
    """A PCG64 generator for the stream ``names`` under ``root_seed``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(root_seed, *names)))


def replica_seeds(root_seed: int, n: int, *names: str | int) -> np.ndarray:
    """``n`` independent uint64 seeds, one per replica, for compiled batched kernels."""
    children = seed_sequence(root_seed, *names).spawn(n)
    return np.array([c.generate_state(1, dtype=np.uint64)[0] for c in children], dtype=np.uint64)
