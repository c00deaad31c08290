"""Shared helpers of the spiking feedback estimators: orientation convention and seeding.

Orientation convention: a connection's forward matrix ``W`` is indexed (post, pre) = (out, in);
its feedback matrix ``B`` is given in the SAME orientation (out, in), as the ``.feedback`` tensor
of a feedback-alignment layer.  Perfect alignment is ``B = W``.  Internally SAL and RDD store
the feedback top-down, (lower, upper) = ``B.T``; every public function says which it expects.
Alignment metrics: :func:`spikealign.deep.metrics.alignment_metrics`.
"""

from __future__ import annotations

import numpy as np

from ... import seeding


def to_numpy(t) -> np.ndarray:
    """A float64 NumPy copy of a torch tensor."""
    return t.detach().cpu().numpy().astype(np.float64)


def torch_seed(seed: int, *names: str) -> int:
    """A 63-bit integer seed for a ``torch.Generator`` derived from ``seed`` and a stream name."""
    state = seeding.seed_sequence(int(seed), *names).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def sal_state_bytes(batch: int, neurons: int, t_ref: int, buffer_length: int, chunk: int, itemsize: int) -> float:
    """Bytes of the spiking state of a SAL net (memory estimates): a ring buffer of ``buffer_length * t_ref``
    ticks plus two chunk buffers, per sample of the batch and neuron."""
    return float(itemsize) * batch * neurons * (buffer_length * t_ref + 2 * chunk)
