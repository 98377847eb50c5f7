"""papercraft_native.diffattn (the fused differential-attention kernel) against a float64
numpy reference, on every instruction set and thread count; argument checks and error codes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import papercraft_native as pn

pytestmark = pytest.mark.skipif(not pn.available(), reason="extension not built")



ISAS = pn.supported_isas() if pn.available() else []


@pytest.fixture(params=ISAS)
def isa(request):
    pn.set_isa(request.param)
    yield request.param
    pn.set_isa("auto")


def reference(q1, k1, q2, k2, v, lam: float, causal: bool) -> np.ndarray:
    """float64: (softmax(q1 k1^T / sqrt(d)) - lam softmax(q2 k2^T / sqrt(d))) v."""
    n, d = q1.shape[-2:]

    def probs(q, k):
        s = q.astype(np.float64) @ np.swapaxes(k, -1, -2).astype(np.float64) / math.sqrt(d)
        if causal:
            s = np.where(np.triu(np.ones((n, n), bool), 1), -np.inf, s)
        e = np.exp(s - s.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    return (probs(q1, k1) - lam * probs(q2, k2)) @ v.astype(np.float64)


def inputs(shape: tuple[int, ...], seed: int = 0, scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    *lead, n, d = shape
    qk = [(rng.standard_normal(shape) * scale).astype(np.float32) for _ in range(4)]
    return [*qk, rng.standard_normal((*lead, n, 2 * d)).astype(np.float32)]


SHAPES = [(1, 1, 1), (1, 3, 2), (2, 17, 5), (3, 64, 64), (1, 65, 64), (2, 130, 16),
          (1, 200, 7), (2, 2, 33, 12), (1, 129, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("causal", [True, False])
def test_matches_reference(isa: str, shape: tuple, causal: bool) -> None:
    args = inputs(shape, seed=len(shape) + shape[-2])
    got = pn.diffattn(*args, 0.4, causal, threads=2)
    assert got.shape == args[4].shape and got.dtype == np.float32
    np.testing.assert_allclose(got, reference(*args, 0.4, causal), atol=1e-5, rtol=0)


def test_large_scores_and_negative_lambda(isa: str) -> None:
    # scores of tens: the online softmax must rescale, not overflow. float32 rounding of such
    # scores alone gives errors ~2e-5 here (torch's SDPA in float32 too), hence the tolerance.
    args = inputs((2, 150, 32), seed=9, scale=4.0)
    for lam in (-0.7, 0.0, 2.5):
        got = pn.diffattn(*args, lam, True, threads=3)
        want = reference(*args, lam, True)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


def test_threads_do_not_change_results() -> None:
    args = inputs((5, 150, 24), seed=3)
    one = pn.diffattn(*args, 0.3, True, threads=1)
    for threads in (2, 3, 16, pn.MAX_THREADS):
        assert np.array_equal(pn.diffattn(*args, 0.3, True, threads=threads), one)


def test_empty_and_read_only_inputs() -> None:
    empty = inputs((2, 0, 4))
    assert pn.diffattn(*empty, 0.5).shape == (2, 0, 8)
    args = inputs((1, 9, 4))
    for a in args:
        a.setflags(write=False)
    np.testing.assert_allclose(pn.diffattn(*args, 0.5), reference(*args, 0.5, True), atol=1e-5)


def test_scratch_does_not_grow_with_n() -> None:
    small = pn.diffattn_scratch_bytes(8, 1024, 64, threads=2)
    assert small > 0
    assert pn.diffattn_scratch_bytes(8, 8192, 64, threads=2) == small
    assert pn.diffattn_scratch_bytes(8, 8192, 64, threads=2) < 8192 * 8192 * 4 / 100
    assert pn.diffattn_scratch_bytes(8, 8192, 128, threads=2) > small  # grows with d
    assert pn.diffattn_scratch_bytes(1, 10, 0, threads=1) == 0


def _bad() -> list:
    good = inputs((1, 4, 2))
    q1, k1, q2, k2, v = good
    return [
        ("float64", [q1.astype(np.float64), k1, q2, k2, v], {}),
        ("non-contiguous", [np.asfortranarray(np.ones((2, 4, 2), np.float32))[:1], k1, q2, k2,
                            v], {}),
        ("strided", [np.ones((1, 4, 4), np.float32)[:, :, ::2], k1, q2, k2, v], {}),
        ("shape mismatch", [q1, np.ones((1, 5, 2), np.float32), q2, k2, v], {}),
        ("v width", [q1, k1, q2, k2, np.ones((1, 4, 2), np.float32)], {}),
        ("1-D", [np.ones(4, np.float32)] * 4 + [np.ones(8, np.float32)], {}),
        ("list", [q1.tolist(), k1, q2, k2, v], {}),
        ("lam nan", good, {"lam": float("nan")}),
        ("lam inf", good, {"lam": float("-inf")}),
        ("lam too big for float32", good, {"lam": 1e300}),
        ("lam str", good, {"lam": "1"}),
        ("lam bool", good, {"lam": True}),
        ("causal int", good, {"causal": 1}),
        ("threads 0", good, {"threads": 0}),
        ("threads big", good, {"threads": pn.MAX_THREADS + 1}),
        ("d = 0", [np.ones((1, 4, 0), np.float32)] * 4 + [np.ones((1, 4, 0), np.float32)], {}),
    ]


@pytest.mark.parametrize(("what", "args", "kw"), _bad(), ids=[b[0] for b in _bad()])
def test_bad_arguments(what: str, args: list, kw: dict) -> None:
    kw = {"lam": 0.5, **kw}
    with pytest.raises(ValueError):
        pn.diffattn(*args, **kw)


def test_c_error_codes_become_exceptions() -> None:
    from papercraft_native.lmul import _check_error, ffi, lib

    x = np.ones(8, np.float32)
    p = ffi.from_buffer("float[]", x)
    out = np.zeros(16, np.float32)
    o = ffi.from_buffer("float[]", out)
    assert lib.pc_diffattn(p, p, p, p, o, o, 1, 4, 0, 0.5, 1, 1) == lib.PC_ERR_ARG
    assert lib.pc_diffattn(p, p, p, p, o, o, 1, 4, 2, math.nan, 1, 1) == lib.PC_ERR_ARG
    assert lib.pc_diffattn(p, p, p, p, o, o, 1, 4, 2, 0.5, 2, 1) == lib.PC_ERR_ARG
    assert lib.pc_diffattn(p, p, p, p, o, o, 1, 4, 2, 0.5, 1, 0) == lib.PC_ERR_THREADS
    assert lib.pc_diffattn(ffi.NULL, p, p, p, o, o, 1, 4, 2, 0.5, 1, 1) == lib.PC_ERR_NULL
    assert lib.pc_diffattn(p, p, p, p, o, o, 2**62, 2**62, 2, 0.5, 1, 1) == lib.PC_ERR_SIZE
    assert lib.pc_diffattn(ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, 0, 5, 2,
                           0.5, 1, 1) == lib.PC_OK
    assert np.all(out == 0)  # nothing written on error
    with pytest.raises(ValueError, match="invalid argument"):
        _check_error("diffattn", lib.PC_ERR_ARG)
    with pytest.raises(MemoryError):
        _check_error("diffattn", lib.PC_ERR_NOMEM)
