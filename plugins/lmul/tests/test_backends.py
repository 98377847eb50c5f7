"""Every CPU backend (Numba, torch, C) bit for bit against ``reference.lmul_bits``, and
their matmuls against ``reference.lmatmul``. The CUDA backend: see test_cuda_sim.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papercraft_lmul import numba_backend, reference

ALL_K = list(range(1, 24))


def _native():
    native = pytest.importorskip("papercraft_native")
    if not native.available():
        pytest.skip("papercraft_native is installed but its compiled extension is not built")
    return native


def _torch_lmul(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    torch = pytest.importorskip("torch")
    from papercraft_lmul import torch_backend

    out = torch_backend.lmul(torch.from_numpy(a), torch.from_numpy(b), k)
    return out.detach().numpy()


def _torch_lmatmul(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    torch = pytest.importorskip("torch")
    from papercraft_lmul import torch_backend

    return torch_backend.lmatmul(torch.from_numpy(a), torch.from_numpy(b), k).detach().numpy()


def _elementwise(name: str):
    if name == "numba":
        return numba_backend.lmul
    if name == "torch":
        return _torch_lmul
    return _native().lmul


def _matmul(name: str):
    if name == "numba":
        return numba_backend.lmatmul
    if name == "torch":
        return _torch_lmatmul
    native = _native()
    return lambda a, b, k: native.lgemm(a, b, k, threads=2)


BACKENDS = ["numba", "torch", "c"]


# ------------------------------------------------------------------------------ elementwise


@pytest.mark.parametrize("backend", BACKENDS)
def test_anchor_values(backend: str) -> None:
    lmul = _elementwise(backend)
    a = np.array([1.0, 1.5, -2.0], np.float32)
    b = np.array([1.0, 1.5, 3.0], np.float32)
    np.testing.assert_array_equal(lmul(a, b, 23), np.array([1.0625, 2.125, -6.25], np.float32))


def test_reference_anchor_values() -> None:
    a = np.array([1.0, 1.5, -2.0], np.float32)
    b = np.array([1.0, 1.5, 3.0], np.float32)
    np.testing.assert_array_equal(reference.lmul(a, b, 23), [1.0625, 2.125, -6.25])
    assert reference.lmul_constant(23) == 0x3F780000


@pytest.mark.parametrize("backend", BACKENDS)
def test_special_values_every_k(backend: str, lm) -> None:
    lmul = _elementwise(backend)
    a_bits, b_bits = lm.special_pairs()
    for k in ALL_K:
        got = lm.as_bits(lmul(lm.as_f32(a_bits), lm.as_f32(b_bits), k))
        lm.assert_bits_equal(got, reference.lmul_bits(a_bits, b_bits, k), a_bits, b_bits, k)


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_patterns(backend: str, lm) -> None:
    lmul = _elementwise(backend)
    rng = np.random.default_rng(1234)
    for k in (1, 2, 3, 4, 5, 7, 10, 16, 22, 23):
        a_bits = rng.integers(0, 2**32, 20_000, dtype=np.uint64).astype(np.uint32)
        b_bits = rng.integers(0, 2**32, 20_000, dtype=np.uint64).astype(np.uint32)
        got = lm.as_bits(lmul(lm.as_f32(a_bits), lm.as_f32(b_bits), k))
        lm.assert_bits_equal(got, reference.lmul_bits(a_bits, b_bits, k), a_bits, b_bits, k)


@pytest.mark.parametrize("backend", BACKENDS)
def test_keeps_shape_and_dtype(backend: str) -> None:
    lmul = _elementwise(backend)
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 7.5
    out = lmul(a, a[::-1].copy(), 5)
    assert out.shape == (2, 3, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out, reference.lmul(a, a[::-1], 5))
    empty = lmul(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), 23)
    assert empty.shape == (0, 3) and empty.dtype == np.float32


_patterns = st.one_of(
    st.integers(0, 2**32 - 1),
    st.sampled_from([int(x) for x in np.array(
        [0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x00000001, 0x807FFFFF,
         0x00800000, 0x7F7FFFFF, 0x3F800000, 0x3F780000, 0x3FC00000, 0x3F880000],
        dtype=np.uint64,
    )]),
    # mantissas ending in a tie (...1000...) for some k
    st.builds(lambda s, e, t: (s << 31) | (e << 23) | (1 << t), st.integers(0, 1),
              st.integers(0, 255), st.integers(0, 22)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pairs=st.lists(st.tuples(_patterns, _patterns), min_size=1, max_size=64),
    k=st.integers(1, 23),
)
def test_property_backends_agree_bit_for_bit(pairs: list[tuple[int, int]], k: int) -> None:
    import torch

    from papercraft_lmul import torch_backend

    a_bits = np.array([p[0] for p in pairs], np.uint32)
    b_bits = np.array([p[1] for p in pairs], np.uint32)
    want = reference.lmul_bits(a_bits, b_bits, k)
    a, b = a_bits.view(np.float32), b_bits.view(np.float32)
    np.testing.assert_array_equal(numba_backend.lmul(a, b, k).view(np.uint32), want)
    got_torch = torch_backend.lmul(torch.from_numpy(a), torch.from_numpy(b), k)
    np.testing.assert_array_equal(got_torch.numpy().view(np.uint32), want)
    try:
        import papercraft_native
    except ImportError:
        return
    if papercraft_native.available():
        np.testing.assert_array_equal(papercraft_native.lmul(a, b, k).view(np.uint32), want)


# ---------------------------------------------------------------------------------- matmul


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "shape", [(1, 1, 1), (7, 33, 5), (64, 64, 64), (37, 129, 70), (18, 3, 1100), (2, 0, 3)]
)
@pytest.mark.parametrize("k", [1, 4, 23])
def test_lmatmul_matches_reference(backend: str, shape: tuple[int, int, int], k: int,
                                   lm) -> None:
    m, n, p = shape
    rng = np.random.default_rng(m * 10007 + n * 101 + p + k)
    a = rng.standard_normal((m, n)).astype(np.float32)
    b = (rng.standard_normal((n, p)) * 3).astype(np.float32)
    if a.size:
        a.flat[:: max(1, a.size // 7)] = 0.0  # zeros in A and B
        b.flat[1 :: max(1, b.size // 5)] = -0.0
    lm.assert_matmul_close(_matmul(backend)(a, b, k), a, b, k)


def _matrices_with_special_values() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    a = rng.standard_normal((9, 11)).astype(np.float32)
    b = rng.standard_normal((11, 13)).astype(np.float32)
    a[1, 3] = np.inf  # a row of A with Inf
    a[2, 0] = np.nan  # a row of A with NaN
    a[3, :] = 0.0  # a zero row
    a[4, 5] = 1e30  # overflows against b's large values
    a[5, 2] = 1e-30  # underflows against b's small values
    a[6, 7] = np.float32(1e-40)  # subnormal: flushed
    a[7, 1] = -3.0e38  # near the largest finite value
    b[3, 4] = 0.0  # Inf x 0 -> NaN in (1, 4)
    b[8, 6] = -np.inf  # a column of B with -Inf
    b[9, 9] = np.nan  # a column of B with NaN
    b[5, 10] = 1e30
    b[2, 11] = 1e-30
    b[1, 12] = -0.0
    return a, b


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [2, 23])
def test_lmatmul_special_values(backend: str, k: int, lm) -> None:
    a, b = _matrices_with_special_values()
    lm.assert_matmul_close(_matmul(backend)(a, b, k), a, b, k)


@pytest.mark.parametrize("k", [3, 23])
def test_numba_lmatmul_equals_c_bit_for_bit(k: int) -> None:
    native = _native()
    rng = np.random.default_rng(k)
    a = rng.standard_normal((45, 77)).astype(np.float32)
    b = rng.standard_normal((77, 51)).astype(np.float32)
    # both accumulate in float32 in index order from +0
    np.testing.assert_array_equal(numba_backend.lmatmul(a, b, k), native.lgemm(a, b, k))
    a2, b2 = _matrices_with_special_values()  # NaN in the same places (any payload)
    np.testing.assert_array_equal(numba_backend.lmatmul(a2, b2, k), native.lgemm(a2, b2, k))


def test_numba_lmatmul_does_not_depend_on_threads() -> None:
    import numba

    rng = np.random.default_rng(3)
    a = rng.standard_normal((70, 90)).astype(np.float32)
    b = rng.standard_normal((90, 33)).astype(np.float32)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = numba_backend.lmatmul(a, b, 23)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = numba_backend.lmatmul(a, b, 23)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)


def test_numba_lmatmul_1x1_is_the_sum_of_lmuls() -> None:
    rng = np.random.default_rng(11)
    a = rng.standard_normal((1, 50)).astype(np.float32)
    b = rng.standard_normal((50, 1)).astype(np.float32)
    terms = reference.lmul(a[0], b[:, 0], 23)
    total = np.float32(0.0)
    for t in terms:
        total = np.float32(total + t)
    assert numba_backend.lmatmul(a, b, 23)[0, 0] == total


# ---------------------------------------------------------------------------------- errors


def test_numba_errors() -> None:
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="one shape"):
        numba_backend.lmul(x, np.ones((3, 2), np.float32), 23)
    with pytest.raises(ValueError, match="mantissa_bits"):
        numba_backend.lmul(x, x, 0)
    with pytest.raises(ValueError, match="mantissa_bits"):
        numba_backend.lmatmul(x, x.T.copy(), 24)
    with pytest.raises(ValueError, match=r"\[m, n\] @ \[n, p\]"):
        numba_backend.lmatmul(x, x, 23)
    with pytest.raises(ValueError, match=r"\[m, n\] @ \[n, p\]"):
        numba_backend.lmatmul(np.ones(3, np.float32), x, 23)
