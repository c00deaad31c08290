r"""Counter-based random numbers and a float32 exponential for vectorised numba kernels.

A uniform is a pure function of a 64-bit key and small integer coordinates, so every replica,
tick and neuron draws its own number in any order and on any thread, and a kernel's loop over
neurons stays free of state (and vectorises):

.. math:: k_{t,r} = \mathrm{splitmix64}\big(\mathrm{key} + (t\,b + r + 1)\,\gamma\big),\qquad
          \xi_{t,r,q} = \big\lfloor h_{32}(k_{t,r} + q) / 2^8 \big\rfloor \, 2^{-24} \in [0, 1)

with SplitMix64's finaliser, ``gamma = 0x9E3779B97F4A7C15`` and ``h_32`` the ``lowbias32``
integer hash of the low 32 bits (both bijections with full avalanche; the hash runs in 32-bit
SIMD lanes).  Used by the fast SAL engine (:mod:`spikealign.deep.estimators.sal_fast_engine`);
tests/deep/test_sal_fast_engine.py recomputes the stream from this definition.

Two float32 exponentials without a libm call: :func:`exp32` (a table and a polynomial, relative
error below 2e-6; its table lookup keeps a loop from vectorising) and :func:`exp32_vec` (a
polynomial and six squarings, relative error below 1.2e-5 on ``|x| <= 39``; branch- and
table-free, so a loop over neurons compiles to SIMD instructions).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import types as nbtypes
from numba.extending import intrinsic

EXP_RANGE = 40
_EXP_INT = np.exp(np.arange(-EXP_RANGE, EXP_RANGE + 1)).astype(np.float32)  # e^k, k = -40 .. 40
# Taylor coefficients of e^(1/2 + g) in g, |g| <= 1/2
_EXP_POLY = tuple(np.float32(math.exp(0.5) / math.factorial(m)) for m in range(7))


@nb.njit(cache=True, inline="always")
def _splitmix64(z: np.uint64) -> np.uint64:
    """SplitMix64's finaliser: a bijection of 64-bit words with full avalanche."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@intrinsic
def _lowbias32_top24(typingctx, x):
    """The top 24 bits of the ``lowbias32`` hash of the low 32 bits of a uint64, as a float32 in
    ``[0, 2^24)`` (exact).  Written in 32-bit integer instructions: numba would compute a uint32
    hash in 64-bit lanes, half as many per SIMD instruction."""

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        v = builder.trunc(args[0], i32)
        for shift, factor in ((16, 0x7FEB352D), (15, 0x846CA68B)):
            v = builder.mul(builder.xor(v, builder.lshr(v, ir.Constant(i32, shift))), ir.Constant(i32, factor))
        v = builder.xor(v, builder.lshr(v, ir.Constant(i32, 16)))
        return builder.uitofp(builder.lshr(v, ir.Constant(i32, 8)), ir.FloatType())

    return nbtypes.float32(nbtypes.uint64), codegen


@nb.njit(cache=True)
def tick_key(key: np.uint64, t: int, r: int, b: int) -> np.uint64:
    """The 64-bit key of replica ``r``'s uniforms at tick ``t`` (``b`` replicas)."""
    return _splitmix64(key + np.uint64(t * b + r + 1) * np.uint64(0x9E3779B97F4A7C15))


@nb.njit(cache=True, inline="always")
def uniform(tkey: np.uint64, q: int) -> np.float32:
    """Neuron ``q``'s uniform in ``[0, 1)`` under the tick key ``tkey`` (24 random bits)."""
    top24: np.float32 = _lowbias32_top24(tkey + np.uint64(q))  # type: ignore[call-arg]  # an intrinsic: numba passes the typing context
    return top24 * np.float32(1.0 / (1 << 24))


@nb.njit(cache=True)
def uniforms(key: np.uint64, t: int, r: int, b: int, n: int) -> np.ndarray:
    """The uniforms of neurons ``0 .. n - 1`` of replica ``r`` at tick ``t`` (float32)."""
    tkey = tick_key(key, t, r, b)
    out = np.empty(n, dtype=np.float32)
    for q in range(n):
        out[q] = uniform(tkey, q)
    return out


@nb.njit(cache=True, inline="always")
def exp32(x: np.float32) -> np.float32:
    """``e^x`` for ``|x| <= 39`` in float32 without a libm call (relative error below 2e-6):
    ``e^k P_6(x - k - 1/2)`` with ``k = floor(x)`` from a table, ``P_6`` the Taylor polynomial of
    ``e^{1/2 + g}``."""
    k = math.floor(x)
    g = x - np.float32(k) - np.float32(0.5)
    p = _EXP_POLY[6]
    p = p * g + _EXP_POLY[5]
    p = p * g + _EXP_POLY[4]
    p = p * g + _EXP_POLY[3]
    p = p * g + _EXP_POLY[2]
    p = p * g + _EXP_POLY[1]
    p = p * g + _EXP_POLY[0]
    return _EXP_INT[np.int64(k) + EXP_RANGE] * p


# Taylor coefficients of e^y, |y| <= 39/64 (truncation error below 3e-8)
_EXP_SQ_POLY = tuple(np.float32(1.0 / math.factorial(m)) for m in range(10))


@nb.njit(cache=True, inline="always")
def exp32_vec(x: np.float32) -> np.float32:
    """``e^x`` for ``|x| <= 39`` in float32, vectorisable: ``P_9(x / 64)^{64}`` by six squarings
    (``P_9`` the Taylor polynomial of ``e^y``; relative error below 1.2e-5, the squarings'
    roundings dominating)."""
    y = x * np.float32(1.0 / 64.0)
    p = _EXP_SQ_POLY[9]
    p = p * y + _EXP_SQ_POLY[8]
    p = p * y + _EXP_SQ_POLY[7]
    p = p * y + _EXP_SQ_POLY[6]
    p = p * y + _EXP_SQ_POLY[5]
    p = p * y + _EXP_SQ_POLY[4]
    p = p * y + _EXP_SQ_POLY[3]
    p = p * y + _EXP_SQ_POLY[2]
    p = p * y + _EXP_SQ_POLY[1]
    p = p * y + _EXP_SQ_POLY[0]
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p * p
