"""Test multipliers for the generic arith commands: exact and a 1-bit truncation."""

from __future__ import annotations

import numpy as np

from papercraft import hookimpl
from papercraft.registry import MultiplierRecord


def exact_mul(a, b):
    return (np.asarray(a, np.float32) * np.asarray(b, np.float32)).astype(np.float32)


def exact_matmul(a, b):
    return (np.asarray(a, np.float32) @ np.asarray(b, np.float32)).astype(np.float32)


def truncate_1_mul(a, b):
    bits = np.asarray(a, np.float32).view(np.uint32) & np.uint32(0xFFC00000)
    return exact_mul(bits.view(np.float32), b)


@hookimpl
def register_arithmetic(register):
    register(MultiplierRecord(name="t-exact", summary="exact", mul="arith_test_plugin:exact_mul",
                              matmul="arith_test_plugin:exact_matmul", mantissa_bits=23,
                              family="float"))
    register(MultiplierRecord(name="t-trunc-1", summary="a truncated to 1 bit",
                              mul="arith_test_plugin:truncate_1_mul", mantissa_bits=1,
                              family="trunc"))
