"""``lmul`` keeps the broadcast shape of its inputs on every backend: 0-d in, 0-d out (the C
and Numba backends used to return shape (1,)), empty shapes, scalars against arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from papercraft_lmul import numba_backend, reference
from papercraft_lmul.api import lmul

CPU_BACKENDS = ("c", "numba", "torch")

SHAPE_PAIRS = [
    ((), ()),
    ((), (3,)),
    ((2, 1), ()),
    ((0,), ()),
    ((0, 3), (1, 3)),
    ((2, 1, 3), (4, 1)),
    ((1,), ()),
]


def _call(backend: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if backend == "torch":
        return lmul(torch.from_numpy(a), torch.from_numpy(b), backend="torch").numpy()
    return lmul(a, b, backend=backend)


def _values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(rng.standard_normal(shape), np.float32)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize(("shape_a", "shape_b"), SHAPE_PAIRS)
def test_result_has_the_broadcast_shape(backend: str, shape_a: tuple, shape_b: tuple) -> None:
    a, b = _values(shape_a, 1), _values(shape_b, 2)
    want = reference.lmul(a, b, 7)
    if backend == "torch":
        got = lmul(torch.from_numpy(a), torch.from_numpy(b), 7, backend="torch").numpy()
    else:
        got = lmul(a, b, 7, backend=backend)
    assert got.shape == np.broadcast_shapes(shape_a, shape_b) == want.shape
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_zero_d_in_zero_d_out(backend: str) -> None:
    got = _call(backend, np.array(1.5, np.float32), np.array(1.5, np.float32))
    assert got.shape == ()
    assert float(got) == 2.125  # the paper's anchor at k = 23


@pytest.mark.parametrize("backend", ("c", "numba"))
def test_numpy_scalars_give_0d_arrays(backend: str) -> None:
    got = lmul(np.float32(-2.0), np.float32(3.0), backend=backend)
    assert isinstance(got, np.ndarray) and got.shape == () and float(got) == -6.25


def test_numba_backend_keeps_0d() -> None:
    got = numba_backend.lmul(np.array(1.0, np.float32), np.array(1.0, np.float32))
    assert got.shape == () and float(got) == 1.0625


@pytest.mark.parametrize("backend", ("c", "numba"))
def test_non_contiguous_broadcast_inputs(backend: str) -> None:
    a = _values((6, 8), 3)[:, ::2]  # strided
    b = _values((12, 1), 4)[::2]
    got = lmul(a, b, 5, backend=backend)
    np.testing.assert_array_equal(got.view(np.uint32), reference.lmul(a, b, 5).view(np.uint32))
    assert got.shape == (6, 4) and got.flags.c_contiguous
