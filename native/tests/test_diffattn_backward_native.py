"""papercraft_native.diffattn_fwd / diffattn_bwd (the training pair) against float64 numpy
gradients written out from the formula, on every instruction set; argument checks."""

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


def _probs(q, k, causal):
    n, d = q.shape[-2:]
    s = q.astype(np.float64) @ np.swapaxes(k, -1, -2).astype(np.float64) / math.sqrt(d)
    if causal:
        s = np.where(np.triu(np.ones((n, n), bool), 1), -np.inf, s)
    m = s.max(-1, keepdims=True)
    lse = m + np.log(np.exp(s - m).sum(-1, keepdims=True))
    return np.exp(s - lse), lse[..., 0]


def reference(q1, k1, q2, k2, v, g, lam, causal):
    """float64: o2, lse1, lse2 and (dq1, dk1, dq2, dk2, dv, dlam) of sum(g * out)."""
    d = q1.shape[-1]
    q1, k1, q2, k2, v, g = (x.astype(np.float64) for x in (q1, k1, q2, k2, v, g))
    p1, lse1 = _probs(q1, k1, causal)
    p2, lse2 = _probs(q2, k2, causal)
    o1, o2 = p1 @ v, p2 @ v
    dp = g @ np.swapaxes(v, -1, -2)
    ds1 = p1 * (dp - (g * o1).sum(-1, keepdims=True)) / math.sqrt(d)
    ds2 = -lam * p2 * (dp - (g * o2).sum(-1, keepdims=True)) / math.sqrt(d)
    t = lambda x: np.swapaxes(x, -1, -2)  # noqa: E731
    grads = (ds1 @ k1, t(ds1) @ q1, ds2 @ k2, t(ds2) @ q2, t(p1 - lam * p2) @ g,
             -float((g * o2).sum()))
    return o2, lse1, lse2, grads


def inputs(shape, seed=0):
    rng = np.random.default_rng(seed)
    *lead, n, d = shape
    qk = [rng.standard_normal(shape).astype(np.float32) for _ in range(4)]
    return qk + [rng.standard_normal((*lead, n, 2 * d)).astype(np.float32) for _ in range(2)]


SHAPES = [(1, 1, 1), (2, 7, 3), (1, 65, 64), (2, 130, 16), (2, 2, 33, 12), (1, 129, 5)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("causal", [True, False])
def test_matches_reference(isa: str, shape: tuple, causal: bool) -> None:
    *args, g = inputs(shape, seed=shape[-2])
    out, o2, lse1, lse2 = pn.diffattn_fwd(*args, 0.4, causal, threads=2)
    assert np.array_equal(out, pn.diffattn(*args, 0.4, causal, threads=2))
    want_o2, want_lse1, want_lse2, want = reference(*args, g, 0.4, causal)
    np.testing.assert_allclose(o2, want_o2, atol=1e-5, rtol=0)
    np.testing.assert_allclose(lse1, want_lse1, atol=1e-5, rtol=1e-6)
    np.testing.assert_allclose(lse2, want_lse2, atol=1e-5, rtol=1e-6)
    got = pn.diffattn_bwd(*args, out, o2, lse1, lse2, g, 0.4, causal, threads=2)
    for name, a, b in zip(["dq1", "dk1", "dq2", "dk2", "dv"], got[:5], want[:5], strict=True):
        assert a.dtype == np.float32 and a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-5, err_msg=name)
    assert got[5] == pytest.approx(want[5], rel=1e-5, abs=1e-5)


def test_threads_do_not_change_gradients() -> None:
    *args, g = inputs((3, 150, 24), seed=3)
    saved = pn.diffattn_fwd(*args, 0.3, True, threads=1)
    one = pn.diffattn_bwd(*args, *saved, g, 0.3, True, threads=1)
    for threads in (2, 16):
        many = pn.diffattn_bwd(*args, *saved, g, 0.3, True, threads=threads)
        assert all(np.array_equal(a, b) for a, b in zip(one[:5], many[:5], strict=True))
        assert one[5] == many[5]


def test_empty_and_scratch() -> None:
    *args, g = inputs((2, 0, 4))
    out, o2, lse1, lse2 = pn.diffattn_fwd(*args, 0.5)
    assert out.shape == o2.shape == (2, 0, 8) and lse1.shape == lse2.shape == (2, 0)
    grads = pn.diffattn_bwd(*args, out, o2, lse1, lse2, g, 0.5)
    assert [x.shape for x in grads[:5]] == [(2, 0, 4)] * 4 + [(2, 0, 8)] and grads[5] == 0.0
    small = pn.diffattn_bwd_scratch_bytes(8, 1024, 64, threads=2)
    assert pn.diffattn_bwd_scratch_bytes(8, 2048, 64, threads=2) - small == 8 * 1024 * 8
    assert small < 1024 * 1024 * 4 / 8  # an eighth of one n x n float32 matrix of one head
    assert pn.diffattn_bwd_scratch_bytes(8, 1024, 0, threads=2) == 0


def _bwd_bad() -> list:
    *args, g = inputs((1, 4, 2))
    saved = list(pn.diffattn_fwd(*args, 0.5))
    out, o2, lse1, lse2 = saved
    return [
        ("o2 float64", [*args, out, o2.astype(np.float64), lse1, lse2, g], {}),
        ("lse shape", [*args, out, o2, lse1[:, :3].copy(), lse2, g], {}),
        ("dout shape", [*args, out, o2, lse1, lse2, g[:, :3].copy()], {}),
        ("dout strided", [*args, out, o2, lse1, lse2, np.ones((1, 4, 8), np.float32)[:, ::-1]],
         {}),
        ("q1 shape", [np.ones((1, 5, 2), np.float32), *args[1:], *saved, g], {}),
        ("lam nan", [*args, *saved, g], {"lam": math.nan}),
        ("causal int", [*args, *saved, g], {"causal": 1}),
        ("threads 0", [*args, *saved, g], {"threads": 0}),
    ]


@pytest.mark.parametrize(("what", "args", "kw"), _bwd_bad(), ids=[b[0] for b in _bwd_bad()])
def test_bwd_bad_arguments(what: str, args: list, kw: dict) -> None:
    kw = {"lam": 0.5, **kw}
    with pytest.raises(ValueError):
        pn.diffattn_bwd(*args, **kw)


def test_fwd_bad_arguments() -> None:
    *args, _ = inputs((1, 4, 2))
    with pytest.raises(ValueError):
        pn.diffattn_fwd(*args[:4], args[4][..., :2].copy(), 0.5)
    with pytest.raises(ValueError):
        pn.diffattn_fwd(*args, math.inf)
    with pytest.raises(ValueError):
        pn.diffattn_fwd(*args, 0.5, threads=pn.MAX_THREADS + 1)


def test_c_error_codes() -> None:
    from papercraft_native.lmul import ffi, lib

    x = np.ones(16, np.float32)
    p = ffi.from_buffer("float[]", x)
    o = np.zeros(16, np.float32)
    w = ffi.from_buffer("float[]", o)
    dl = ffi.new("float *", 7.0)

    def bwd(q1=p, dq1=w, n=4, d=2, lam=0.5, causal=1, threads=1):
        return lib.pc_diffattn_bwd(q1, p, p, p, p, p, p, p, p, p, dq1, w, w, w, w, dl, 1, n, d,
                                   lam, causal, threads)

    assert bwd(q1=ffi.NULL) == lib.PC_ERR_NULL
    assert bwd(dq1=ffi.NULL) == lib.PC_ERR_NULL
    assert bwd(d=0) == lib.PC_ERR_ARG
    assert bwd(lam=math.inf) == lib.PC_ERR_ARG
    assert bwd(causal=2) == lib.PC_ERR_ARG
    assert bwd(threads=0) == lib.PC_ERR_THREADS
    assert bwd(n=2**62, d=2**10) == lib.PC_ERR_SIZE
    assert np.all(o == 0) and dl[0] == 7.0  # nothing written on error
    assert lib.pc_diffattn_fwd(p, p, p, p, p, w, ffi.NULL, w, w, 1, 4, 2, 0.5, 1, 1) == \
        lib.PC_ERR_NULL
