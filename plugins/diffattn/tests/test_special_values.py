"""What each ``diff_attention`` backend returns for NaN, Inf and subnormal inputs (the table in
the README's "Special values" section): the C and Numba kernels agree with each other always,
and with the float64 reference of ``reference.py`` except where the README says why not;
torch's SDPA turns a NaN key into NaN rows."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from papercraft_diffattn import reference
from papercraft_diffattn.kernels import bench_inputs, diff_attention

try:
    import papercraft_native

    HAVE_C = papercraft_native.available()
except ImportError:
    HAVE_C = False

pytestmark = pytest.mark.skipif(not HAVE_C, reason="papercraft-native extension not built")

N = 70  # two blocks of 64 query rows / keys in the C and Numba kernels
NAN, INF = float("nan"), float("inf")


def _put(name: str, index: tuple, value: float):
    def mutate(kw: dict) -> None:
        kw[name][index] = value

    return mutate


def _scale(names: tuple[str, ...], factor: float):
    def mutate(kw: dict) -> None:
        for name in names:
            kw[name].mul_(factor)

    return mutate


def _run(mutate, causal: bool) -> tuple[dict, dict[str, np.ndarray], np.ndarray]:
    kw = bench_inputs(1, 2, N, 8, causal, 1)
    mutate(kw)
    outs = {b: diff_attention(**kw, backend=b).numpy() for b in ("torch", "c", "numba")}
    args = [kw[k].numpy() for k in ("q1", "k1", "q2", "k2", "v")]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = reference.diff_attention(*args, kw["lam"], causal)
    return kw, outs, want


def _assert_same(got: np.ndarray, want: np.ndarray, atol: float = 1e-5) -> None:
    """Same NaN and Inf entries, finite entries within atol."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], atol=atol, rtol=0)


AGREE_WITH_REFERENCE = {  # C and Numba == the float64 reference
    "nan in a query": _put("q1", (0, 0, 5, 0), NAN),
    "inf in a query": _put("q2", (0, 1, 66, 3), -INF),
    "nan in a key of map 1": _put("k1", (0, 0, 5, 0), NAN),
    "nan in a key of map 2, second block": _put("k2", (0, 1, 66, 2), NAN),
    "nan in v, first block": _put("v", (0, 0, 5, 0), NAN),
    "subnormal q and k": _scale(("q1", "k1", "q2", "k2"), 1e-40),
    "subnormal everything": _scale(("q1", "k1", "q2", "k2", "v"), 1e-40),
    "subnormal v": _scale(("v",), 1e-40),
    "large finite q (1e18)": _scale(("q1",), 1e18),
}

DIVERGE = {  # C and Numba still agree with each other
    "+inf in a key": _put("k1", (0, 0, 5, 0), INF),
    "inf in v": _put("v", (0, 0, 5, 0), INF),
    "nan in v, second block": _put("v", (0, 0, 66, 0), NAN),
}


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("case", sorted(AGREE_WITH_REFERENCE))
def test_c_and_numba_match_the_float64_reference(case: str, causal: bool) -> None:
    _, outs, want = _run(AGREE_WITH_REFERENCE[case], causal)
    for backend in ("c", "numba"):
        _assert_same(outs[backend], want)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("case", sorted({**AGREE_WITH_REFERENCE, **DIVERGE}))
def test_c_and_numba_agree_on_every_special_input(case: str, causal: bool) -> None:
    _, outs, _ = _run({**AGREE_WITH_REFERENCE, **DIVERGE}[case], causal)
    _assert_same(outs["numba"], outs["c"])


def test_nan_query_row_is_nan_everywhere_and_nothing_else() -> None:
    _, outs, want = _run(AGREE_WITH_REFERENCE["nan in a query"], True)
    for got in (*outs.values(), want):
        assert np.isnan(got[0, 0, 5]).all()
        rest = np.delete(got[0, 0], 5, axis=0)
        assert np.isfinite(rest).all() and np.isfinite(got[0, 1]).all()


@pytest.mark.parametrize("causal", [True, False])
def test_nan_key_is_skipped_by_c_and_numba_but_poisons_torch(causal: bool) -> None:
    _, outs, want = _run(AGREE_WITH_REFERENCE["nan in a key of map 1"], causal)
    assert np.isfinite(want).all()
    assert np.isfinite(outs["c"]).all() and np.isfinite(outs["numba"]).all()
    seeing = slice(5, None) if causal else slice(None)  # rows whose softmax includes key 5
    assert np.isnan(outs["torch"][0, 0, seeing]).all()
    assert np.isfinite(outs["torch"][0, 1]).all()  # the other head is untouched


def test_inf_key_gives_nan_where_its_score_is_plus_inf() -> None:
    kw, outs, want = _run(DIVERGE["+inf in a key"], False)
    assert np.isfinite(want).all()  # the reference drops non-finite scores like masked ones
    scores = kw["q1"][0, 0, :, 0].numpy()  # q1 . k1[5] is +-Inf with the sign of q1[:, 0]
    plus = scores > 0
    for backend in ("c", "numba", "torch"):
        rows_nan = np.isnan(outs[backend][0, 0]).all(axis=1)
        np.testing.assert_array_equal(rows_nan, plus, err_msg=backend)
        assert np.isfinite(outs[backend][0, 0, ~plus]).all()


def test_inf_in_v_is_nan_on_the_kernels_and_inf_in_the_reference() -> None:
    _, outs, want = _run(DIVERGE["inf in v"], False)
    assert np.isinf(want[0, 0, :, 0]).all()  # (w1 - lam w2) * Inf in float64
    for backend in ("c", "numba", "torch"):  # w1 Inf - lam w2 Inf = NaN
        assert np.isnan(outs[backend][0, 0, :, 0]).all(), backend
        assert np.isfinite(outs[backend][0, 0, :, 1:]).all(), backend


def test_nan_in_v_reaches_only_the_query_blocks_that_read_it() -> None:
    _, outs, want = _run(DIVERGE["nan in v, second block"], True)
    assert np.isnan(want[0, 0, :, 0]).all()  # 0 * NaN for the masked rows of the dense product
    for backend in ("c", "numba"):  # causal: rows 0..63 never read key 66
        assert np.isfinite(outs[backend][0, 0, :64]).all(), backend
        assert np.isnan(outs[backend][0, 0, 64:, 0]).all(), backend


def test_special_values_keep_shape_and_dtype() -> None:
    kw = bench_inputs(1, 1, 3, 4, True, 0)
    for name in ("q1", "k1", "q2", "k2", "v"):
        kw[name].fill_(NAN)
    for backend in ("torch", "c", "numba"):
        got = diff_attention(**kw, backend=backend)
        assert got.shape == (1, 1, 3, 8) and got.dtype == torch.float32
        assert torch.isnan(got).all()
