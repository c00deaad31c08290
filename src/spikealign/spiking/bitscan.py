"""Finding set bits in numba kernels: the spikes of a step, eight neurons (bytes) per 64-bit word."""

from __future__ import annotations

from llvmlite import ir
from numba.core import types as nbtypes
from numba.extending import intrinsic


@intrinsic
def trailing_zeros(typingctx, word):
    """The number of trailing zero bits of a uint64 word (LLVM's ``cttz``; 64 for 0)."""

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return nbtypes.uint64(nbtypes.uint64), codegen
