"""papercraft_native against the readable reference (plugins/lmul/src/papercraft_lmul/reference.py).

Elementwise results must agree with ``lmul_bits`` bit for bit; ``ldot`` / ``lgemm`` sum in
float32 in index order, so they must equal the in-order float32 sum of the reference products
bit for bit, and lie within 1e-5 (relative to the sum of |terms|) of the float64-accumulated
``lmatmul``. Every check runs on every instruction set the CPU offers.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import papercraft_native as pn

ROOT = Path(__file__).resolve().parents[2]

try:
    from papercraft_lmul import reference as ref
except ImportError:  # the lmul plugin is not installed: load its reference module by path
    _spec = importlib.util.spec_from_file_location(
        "_papercraft_lmul_reference", ROOT / "plugins/lmul/src/papercraft_lmul/reference.py"
    )
    ref = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(ref)

ALL_ISAS = ("baseline", "avx2", "avx512")



ISAS = pn.supported_isas()


@pytest.fixture(params=ISAS)
def isa(request):
    pn.set_isa(request.param)
    yield request.param
    pn.set_isa("auto")


def _bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, np.float32).view(np.uint32)


def _floats(bits) -> np.ndarray:
    return np.asarray(bits, np.uint32).view(np.float32)


SPECIALS = np.array(
    [
        0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00400000,  # zeros, subnormals
        0x00800000, 0x80800000, 0x00800001, 0x7F7FFFFF, 0xFF7FFFFF,  # min normal, max finite
        0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFFC00001,  # Inf, NaN
        0x7FBFFFFF, 0x3F800000, 0xBF800000, 0x3FC00000, 0x40400000,  # sNaN, 1, -1, 1.5, 3
        0x3FFFFFFF, 0x3F7FFFFF, 0x3F800001, 0x3F880000, 0x3F900000,  # rounds up / ties
        0x3F840000, 0x3F8C0000, 0x3F802000, 0x3F801000, 0x3F800800,
        0x7F000000, 0x7E800000, 0x5F800000, 0x60000000, 0x1F800000,  # overflow / underflow
        0x20000000, 0x1F000000, 0x00FFFFFF, 0x01000000, 0x3FF80000,
        0xC0490FDB, 0x3EAAAAAB, 0x7F7FF000, 0x7F7FFF00, 0x42F6E979,
    ],
    np.uint32,
)  # fmt: skip


def _random_bits(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random patterns: half uniform bits (NaN, Inf, subnormals included), half ordinary."""
    raw = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    normal = _bits(rng.standard_normal(n).astype(np.float32) * np.float32(4))
    return np.where(np.arange(n) % 2 == 0, raw, normal).astype(np.uint32)


def _ordered_matmul(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Reference products summed in float32 in index order from +0 (lgemm's definition)."""
    acc = np.zeros((a.shape[0], b.shape[1]), np.float32)
    with np.errstate(all="ignore"):  # Inf - Inf and overflow are part of the test data
        for j in range(a.shape[1]):
            acc = acc + ref.lmul(a[:, j : j + 1], b[j : j + 1, :], k)
    return acc


def _ordered_sum(terms: np.ndarray) -> np.float32:
    """float32 sum in index order from +0 (ldot's definition)."""
    acc = np.float32(0.0)
    with np.errstate(all="ignore"):
        for t in terms:
            acc = np.float32(acc + t)
    return acc


def _assert_same(got: np.ndarray, want: np.ndarray) -> None:
    """Bit-identical, except that any NaN matches any NaN."""
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    np.testing.assert_array_equal(nan_got, nan_want)
    np.testing.assert_array_equal(_bits(got)[~nan_got], _bits(want)[~nan_want])


# ---------------------------------------------------------------- elementwise


def test_available_and_isa():
    assert pn.available()
    assert pn.isa() in ALL_ISAS
    assert "baseline" in ISAS


def test_anchors(isa):
    out = pn.lmul(np.float32([1.0, 1.5, -2.0]), np.float32([1.0, 1.5, 3.0]), 23)
    assert out.tolist() == [1.0625, 2.125, -6.25]
    assert pn.ldot(np.float32([1.0, 1.5]), np.float32([1.0, 1.5])) == 1.0625 + 2.125
    c = pn.lgemm(np.float32([[1.0, 1.5]]), np.float32([[1.0], [1.5]]))
    assert c.tolist() == [[1.0625 + 2.125]]


@pytest.mark.parametrize("k", range(1, 24))
def test_specials_all_pairs_bit_exact(isa, k):
    a = np.repeat(SPECIALS, SPECIALS.size)
    b = np.tile(SPECIALS, SPECIALS.size)
    want = ref.lmul_bits(a, b, k)
    for start in (0, 1, 5):  # different alignments and vector tails
        got = _bits(pn.lmul(_floats(a[start:]).copy(), _floats(b[start:]).copy(), k))
        np.testing.assert_array_equal(got, want[start:])
    assert ref.lmul_bits(np.uint32([0x7F800000]), np.uint32([0]), k)[0] == 0x7FC00000


@pytest.mark.parametrize("k", range(1, 24))
def test_random_bits_bit_exact(isa, k):
    rng = np.random.default_rng(1000 + k)
    a, b = _random_bits(rng, 20_011), _random_bits(rng, 20_011)
    got = _bits(pn.lmul(_floats(a), _floats(b), k))
    np.testing.assert_array_equal(got, ref.lmul_bits(a, b, k))


def test_rounding_carries_into_exponent_and_inf(isa):
    # 1.99999988 rounds to 2.0 for k < 23; the largest finite value rounds to Inf.
    a = _floats([0x3FFFFFFF, 0x7F7FFFFF, 0x7F7FFFFF, 0xFF7FFFFF])
    b = _floats([0x3F800000, 0x3F800000, 0x00000000, 0x3F800000])
    for k in (1, 4, 10, 22):
        got = _bits(pn.lmul(a, b, k))
        np.testing.assert_array_equal(got, ref.lmul_bits(_bits(a), _bits(b), k))
        assert got[1] == 0x7F800000 and got[2] == 0x7FC00000 and got[3] == 0xFF800000


def test_large_arrays_streaming_path(isa):
    rng = np.random.default_rng(7)
    n = (1 << 19) + 21
    a, b = _random_bits(rng, n), _random_bits(rng, n)
    for k in (23, 5):
        got = _bits(pn.lmul(_floats(a), _floats(b), k))
        np.testing.assert_array_equal(got, ref.lmul_bits(a, b, k))


def test_unaligned_output_pointer(isa):
    """The C entry point with an output that starts at an odd 4-byte offset."""
    from papercraft_native.lmul import ffi, lib

    rng = np.random.default_rng(8)
    n = (1 << 19) + 3
    a, b = _floats(_random_bits(rng, n)), _floats(_random_bits(rng, n))
    out = np.zeros(n + 1, np.float32)
    rc = lib.pc_lmul(
        ffi.from_buffer("float[]", a), ffi.from_buffer("float[]", b),
        ffi.from_buffer("float[]", out[1:]), n, 23,
    )  # fmt: skip
    assert rc == 0
    np.testing.assert_array_equal(_bits(out[1:]), ref.lmul_bits(_bits(a), _bits(b), 23))
    assert out[0] == 0


def test_shapes_empty_and_0d():
    out = pn.lmul(np.ones((2, 3, 5), np.float32), np.full((2, 3, 5), 2.0, np.float32))
    assert out.shape == (2, 3, 5) and out.dtype == np.float32
    assert np.all(out == ref.lmul(np.ones(1, np.float32), np.float32([2.0]))[0])
    assert pn.lmul(np.ones(0, np.float32), np.ones(0, np.float32)).shape == (0,)
    assert pn.lmul(np.ones((3, 0), np.float32), np.ones((3, 0), np.float32)).shape == (3, 0)
    zero_d = pn.lmul(np.array(1.5, np.float32), np.array(1.5, np.float32))
    assert zero_d.shape == () and zero_d == 2.125
    assert pn.lmul(np.float32(-2.0), np.float32(3.0)) == -6.25
    a = np.ones(4, np.float32)
    a.flags.writeable = False  # read-only inputs are fine
    assert pn.lmul(a, a).tolist() == [1.0625] * 4


# ---------------------------------------------------------------- ldot


@pytest.mark.parametrize("n", [0, 1, 7, 33, 1000, 4099])
def test_ldot(isa, n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    for k in (23, 3):
        got = pn.ldot(a, b, k)
        assert isinstance(got, float)
        terms = ref.lmul(a, b, k).astype(np.float64)
        assert abs(got - terms.sum()) <= 1e-5 * np.abs(terms).sum() + 1e-30
        want = _ordered_sum(ref.lmul(a, b, k))
        assert np.float32(got).view(np.uint32) == want.view(np.uint32)
        if n:
            assert got == pn.lgemm(a[None, :], b[:, None], k)[0, 0]


def test_ldot_specials(isa):
    a = _floats(SPECIALS)
    b = _floats(np.roll(SPECIALS, 3))
    for k in (23, 2):
        want = _ordered_sum(ref.lmul(a, b, k))
        got = pn.ldot(a, b, k)
        assert (np.isnan(got) and np.isnan(want)) or got == want


# ---------------------------------------------------------------- lgemm

SHAPES = [
    (1, 1, 1), (1, 7, 1), (7, 7, 7), (33, 33, 33), (1, 40, 33), (33, 5, 1),
    (1000, 30, 17), (9, 1000, 33), (5, 20, 1000), (70, 257, 31),
]  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_lgemm_matches_reference(isa, shape):
    m, n, p = shape
    rng = np.random.default_rng(m * 1_000_003 + n * 1009 + p)
    a = rng.standard_normal((m, n)).astype(np.float32)
    b = rng.standard_normal((n, p)).astype(np.float32)
    k = 23 if (m + n + p) % 2 else 4
    got = pn.lgemm(a, b, k)
    _assert_same(got, _ordered_matmul(a, b, k))
    want64 = ref.lmatmul(a, b, k).astype(np.float64)
    scale = ref.lmatmul(np.abs(a), np.abs(b), k).astype(np.float64)
    assert np.all(np.abs(got - want64) <= 1e-5 * scale + 1e-30)


@pytest.mark.parametrize("k", [1, 3, 8, 23])
def test_lgemm_special_values(isa, k):
    rng = np.random.default_rng(k)
    m, n, p = 19, 45, 37
    a = rng.standard_normal((m, n)).astype(np.float32)
    b = rng.standard_normal((n, p)).astype(np.float32)
    flat_a, flat_b = a.reshape(-1).view(np.uint32), b.reshape(-1).view(np.uint32)
    flat_a[rng.choice(m * n, 40, replace=False)] = rng.choice(SPECIALS, 40)
    flat_b[rng.choice(n * p, 40, replace=False)] = rng.choice(SPECIALS, 40)
    a[3, :] = 0.0  # a zero row, a zero column
    b[:, 5] = -0.0
    _assert_same(pn.lgemm(a, b, k), _ordered_matmul(a, b, k))


@pytest.mark.parametrize("bad_cols", [1, 3, 20])
def test_lgemm_few_and_many_nonfinite_columns(isa, bad_cols):
    """Columns of b with NaN/Inf are recomputed one by one (few) or with whole rows (many)."""
    rng = np.random.default_rng(bad_cols)
    a = rng.standard_normal((21, 30)).astype(np.float32)
    b = rng.standard_normal((30, 40)).astype(np.float32)
    cols = rng.choice(40, bad_cols, replace=False)
    b[rng.integers(0, 30, bad_cols), cols] = np.where(np.arange(bad_cols) % 2, np.inf, np.nan)
    a[4, 7] = 0.0
    _assert_same(pn.lgemm(a, b, 23, threads=2), _ordered_matmul(a, b, 23))


def test_lgemm_overflow_underflow_products(isa):
    a = np.float32([[3e38, 1e-30, -3e38], [1e-20, 1e-20, 2.0]])
    b = np.float32([[2.0, 1e-20], [3e-30, 1e-25], [1.0, 5.0]])
    for k in (23, 2):
        _assert_same(pn.lgemm(a, b, k), _ordered_matmul(a, b, k))


@pytest.mark.parametrize("threads", [2, 3, 5])
def test_lgemm_threads_identical(isa, threads):
    rng = np.random.default_rng(threads)
    a = rng.standard_normal((131, 77)).astype(np.float32)
    b = rng.standard_normal((77, 45)).astype(np.float32)
    a[7, 3] = np.inf
    b[2, 9] = np.nan
    one = pn.lgemm(a, b, 23, threads=1)
    _assert_same(pn.lgemm(a, b, 23, threads=threads), one)
    _assert_same(pn.lgemm(a[:3], b, 23, threads=threads), one[:3])  # more threads than rows


def test_lgemm_same_on_every_isa():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((50, 300)).astype(np.float32)
    b = rng.standard_normal((300, 70)).astype(np.float32)
    results = []
    for name in ISAS:
        pn.set_isa(name)
        results.append(pn.lgemm(a, b, 5))
    pn.set_isa("auto")
    for r in results[1:]:
        _assert_same(r, results[0])


def test_lgemm_empty():
    z = np.zeros
    assert pn.lgemm(z((0, 5), np.float32), z((5, 3), np.float32)).shape == (0, 3)
    assert pn.lgemm(z((2, 5), np.float32), z((5, 0), np.float32)).shape == (2, 0)
    out = pn.lgemm(z((4, 0), np.float32), z((0, 3), np.float32))
    assert out.shape == (4, 3) and np.all(out == 0) and not np.signbit(out).any()


# ---------------------------------------------------------------- argument checks

F32 = np.ones(4, np.float32)
M32 = np.ones((3, 4), np.float32)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: pn.lmul(F32.astype(np.float64), F32), "float32"),
        (lambda: pn.lmul(F32, F32.astype(np.float16)), "float32"),
        (lambda: pn.lmul(F32.astype(">f4"), F32), "float32"),
        (lambda: pn.lmul([1.0, 2.0], F32[:2]), "numpy.ndarray"),
        (lambda: pn.lmul(np.ones(8, np.float32)[::2], F32), "C-contiguous"),
        (lambda: pn.lmul(F32, np.ones(5, np.float32)), "same shape"),
        (lambda: pn.lmul(F32, F32, 0), "1..23"),
        (lambda: pn.lmul(F32, F32, 24), "1..23"),
        (lambda: pn.lmul(F32, F32, True), "1..23"),
        (lambda: pn.lmul(F32, F32, 2.0), "1..23"),
        (lambda: pn.ldot(M32, M32), "1-D"),
        (lambda: pn.ldot(F32, np.ones(3, np.float32)), "same length"),
        (lambda: pn.ldot(F32, F32, 24), "1..23"),
        (lambda: pn.lgemm(F32, M32), "2-D"),
        (lambda: pn.lgemm(M32, M32), r"\[m, n\] @ \[n, p\]"),
        (lambda: pn.lgemm(M32, np.asfortranarray(np.ones((4, 2), np.float32))), "C-contiguous"),
        (lambda: pn.lgemm(M32, M32.T.astype(np.float64)), "float32"),
        (lambda: pn.lgemm(M32, M32.T.copy(), 0), "1..23"),
        (lambda: pn.lgemm(M32, M32.T.copy(), 23, threads=0), "threads"),
        (lambda: pn.lgemm(M32, M32.T.copy(), 23, threads=-2), "threads"),
        (lambda: pn.lgemm(M32, M32.T.copy(), 23, threads=pn.MAX_THREADS + 1), "threads"),
        (lambda: pn.lgemm(M32, M32.T.copy(), 23, threads=1.5), "threads"),
        (lambda: pn.lgemm(M32, M32.T.copy(), 23, threads=True), "threads"),
        (lambda: pn.set_isa("sse9"), "instruction set"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_unaligned_array_rejected():
    raw = np.zeros(4 * 8 + 1, np.uint8)
    a = raw[1:].view(np.float32)
    assert not a.flags.aligned
    with pytest.raises(ValueError, match="aligned"):
        pn.lmul(a, a)


def test_c_error_codes():
    from papercraft_native.lmul import ffi, lib

    x = np.ones(4, np.float32)
    px = ffi.from_buffer("float[]", x)
    assert lib.pc_lmul(ffi.NULL, px, px, 4, 23) == lib.PC_ERR_NULL
    assert lib.pc_lmul(px, px, px, 4, 0) == lib.PC_ERR_BITS
    assert lib.pc_lgemm(px, px, px, 2, 2, 2, 23, 0) == lib.PC_ERR_THREADS
    assert lib.pc_lgemm(px, px, px, 2**62, 4, 1, 23, 1) == lib.PC_ERR_SIZE
    assert ffi.string(lib.pc_strerror(lib.PC_ERR_BITS)) == b"mantissa bits k must be in 1..23"
    assert ffi.string(lib.pc_strerror(-999)) == b"unknown error code"
    assert lib.PC_MAX_THREADS == pn.MAX_THREADS


# ---------------------------------------------------------------- import behaviour


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


def test_import_is_light():
    out = _run(
        "import sys, papercraft_native\n"
        "heavy = {'torch', 'numba', 'scipy', 'pandas', 'papercraft_lmul', 'cffi.recompiler'}\n"
        "print(sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy))"
    )
    assert out == "[]"


def test_missing_extension_gives_clear_import_error():
    out = _run(
        "import sys\n"
        "sys.modules['papercraft_native._native'] = None  # as if it had not been built\n"
        "import numpy as np, papercraft_native as pn\n"
        "print(pn.available())\n"
        "try:\n"
        "    pn.lmul(np.ones(2, np.float32), np.ones(2, np.float32))\n"
        "except ImportError as exc:\n"
        "    print('ImportError', 'not built' in str(exc), 'pip install' in str(exc))\n"
    )
    assert out.splitlines() == ["False", "ImportError True True"]
