"""The public ``lmul`` / ``lmatmul`` entry points: dispatch, broadcasting and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from papercraft_lmul import lmatmul, lmul
from papercraft_lmul.reference import lmatmul as ref_lmatmul
from papercraft_lmul.reference import lmul as ref_lmul

NUMPY_BACKENDS = ["c", "numba"]


@pytest.mark.parametrize("backend", NUMPY_BACKENDS)
def test_anchors(backend: str) -> None:
    a = np.array([1.0, 1.5, -2.0], np.float32)
    b = np.array([1.0, 1.5, 3.0], np.float32)
    assert lmul(a, b, backend=backend).tolist() == [1.0625, 2.125, -6.25]


def test_torch_anchors() -> None:
    torch = pytest.importorskip("torch")
    out = lmul(torch.tensor([1.0, 1.5, -2.0]), torch.tensor([1.0, 1.5, 3.0]), backend="torch")
    assert out.tolist() == [1.0625, 2.125, -6.25]


@pytest.mark.parametrize("backend", NUMPY_BACKENDS)
def test_broadcasting_matches_reference(backend: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 1, 5)).astype(np.float32)
    b = rng.standard_normal((4, 1)).astype(np.float32)
    got = lmul(a, b, 4, backend=backend)
    assert got.shape == (3, 4, 5)
    assert np.array_equal(got.view(np.uint32), ref_lmul(a, b, 4).view(np.uint32))


@pytest.mark.parametrize("backend", NUMPY_BACKENDS)
def test_non_contiguous_input_is_handled(backend: str) -> None:
    a = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]
    b = np.full((4, 3), 1.5, np.float32)
    assert np.array_equal(lmul(a, b, backend=backend), ref_lmul(a, b))


@pytest.mark.parametrize("backend", NUMPY_BACKENDS)
def test_lmatmul_matches_reference(backend: str) -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((9, 17)).astype(np.float32)
    b = rng.standard_normal((17, 5)).astype(np.float32)
    got = lmatmul(a, b, 3, backend=backend)
    want = ref_lmatmul(a, b, 3)
    scale = np.abs(a) @ np.abs(b)
    assert np.all(np.abs(got - want) <= 1e-5 * scale + 1e-30)


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "message"),
    [
        (np.ones(3, np.float64), np.ones(3, np.float32), {}, "float32"),
        (np.ones(3, np.float32), np.ones(4, np.float32), {}, "broadcast"),
        (np.ones(3, np.float32), np.ones(3, np.float32), {"mantissa_bits": 0}, "1..23"),
        (np.ones(3, np.float32), np.ones(3, np.float32), {"mantissa_bits": 24}, "1..23"),
        (np.ones(3, np.float32), np.ones(3, np.float32), {"backend": "gpu"}, "unknown backend"),
    ],
)
def test_bad_input_raises_value_error(a, b, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        lmul(a, b, **kwargs)


def test_lmatmul_shape_errors() -> None:
    with pytest.raises(ValueError, match=r"\[m, n\] @ \[n, p\]"):
        lmatmul(np.ones((2, 3), np.float32), np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"\[m, n\] @ \[n, p\]"):
        lmatmul(np.ones(3, np.float32), np.ones((3, 1), np.float32))


def test_torch_backend_refuses_numpy_and_numpy_backends_refuse_tensors() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="tensors"):
        lmul(np.ones(2, np.float32), np.ones(2, np.float32), backend="torch")
    with pytest.raises(ValueError, match="torch tensor"):
        lmul(torch.ones(2), torch.ones(2), backend="c")
