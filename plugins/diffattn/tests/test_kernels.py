"""``diff_attention`` on every backend against the float64 loops of ``reference.py``, the
argument checks (ValueError before any native call), the CUDA backend under the simulator
(subprocess) and on a real GPU when there is one."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import papercraft_diffattn
from papercraft import cuda_checks
from papercraft_diffattn import kernels, reference
from papercraft_diffattn.kernels import bench_inputs, diff_attention

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

try:
    import papercraft_native

    HAVE_C = papercraft_native.available()
except ImportError:
    HAVE_C = False

CPU_BACKENDS = ["torch", pytest.param("c", marks=pytest.mark.skipif(
    not HAVE_C, reason="papercraft-native extension not built")), "numba"]

SHAPES = [  # B, H, N, d: tails of every block size, odd d, one row
    (1, 1, 1, 1), (2, 3, 37, 5), (1, 2, 65, 16), (1, 1, 130, 64), (1, 1, 70, 7),
]


def _inputs(b: int, h: int, n: int, d: int, seed: int = 0) -> dict:
    return bench_inputs(b, h, n, d, True, seed)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("causal", [True, False])
def test_backends_match_the_reference(backend: str, shape: tuple, causal: bool) -> None:
    kw = _inputs(*shape)
    kw["causal"] = causal
    got = diff_attention(**kw, backend=backend)
    assert got.shape == (*shape[:3], 2 * shape[3]) and got.dtype == torch.float32
    args = [kw[k].numpy() for k in ("q1", "k1", "q2", "k2", "v")]
    want = reference.diff_attention(*args, kw["lam"], causal)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", CPU_BACKENDS[1:])
def test_backends_match_torch_on_a_larger_input(backend: str) -> None:
    kw = _inputs(2, 3, 300, 64, seed=5)
    want = diff_attention(**kw, backend="torch")
    for causal in (True, False):
        kw["causal"] = causal
        want = diff_attention(**kw, backend="torch")
        got = diff_attention(**kw, backend=backend)
        assert (got - want).abs().max().item() <= 1e-5


@pytest.mark.skipif(not HAVE_C, reason="papercraft-native extension not built")
def test_c_results_do_not_depend_on_threads_or_call() -> None:
    kw = _inputs(2, 3, 129, 32, seed=3)
    one = diff_attention(**kw, backend="c", threads=1)
    for threads in (2, 3, 7):
        assert torch.equal(diff_attention(**kw, backend="c", threads=threads), one)


@pytest.mark.skipif(not HAVE_C, reason="papercraft-native extension not built")
def test_c_every_instruction_set() -> None:
    kw = _inputs(1, 2, 99, 24, seed=4)
    want = diff_attention(**kw, backend="torch")
    tried = []
    try:
        for isa in ("baseline", "avx2", "avx512"):
            try:
                papercraft_native.set_isa(isa)
            except ValueError:
                continue
            tried.append(isa)
            assert (diff_attention(**kw, backend="c") - want).abs().max().item() <= 1e-5, isa
    finally:
        papercraft_native.set_isa("auto")
    assert "baseline" in tried


def test_non_contiguous_inputs_and_lambda_forms() -> None:
    kw = _inputs(1, 2, 20, 8)
    want = diff_attention(**kw, backend="torch")
    # a transposed view holding the same values
    kw_t = dict(kw, q1=kw["q1"].transpose(1, 2).contiguous().transpose(1, 2))
    assert not kw_t["q1"].is_contiguous()
    backends = ["numba"] + (["c"] if HAVE_C else [])
    for backend in backends:
        torch.testing.assert_close(diff_attention(**kw_t, backend=backend), want, atol=1e-5,
                                   rtol=0)
        lam_t = dict(kw, lam=torch.tensor(kw["lam"]))
        torch.testing.assert_close(diff_attention(**lam_t, backend=backend), want, atol=1e-5,
                                   rtol=0)


def test_torch_backend_autograd_and_dtypes() -> None:
    kw = _inputs(1, 2, 9, 4)
    for name in ("q1", "k1", "q2", "k2", "v"):
        kw[name].requires_grad_(True)
    diff_attention(**kw).sum().backward()
    assert all(kw[n].grad is not None for n in ("q1", "k1", "q2", "k2", "v"))
    low = {k: (v.detach().bfloat16() if isinstance(v, torch.Tensor) else v)
           for k, v in kw.items()}
    assert diff_attention(**low).dtype == torch.bfloat16


@pytest.mark.parametrize("backend", ["c", "numba"])
def test_empty_inputs(backend: str) -> None:
    kw = _inputs(1, 2, 0, 4)
    assert diff_attention(**kw, backend=backend).shape == (1, 2, 0, 8)


def _bad_calls() -> list:
    def base(**over):
        kw = _inputs(1, 2, 6, 4)
        kw.update(over)
        return kw

    t = torch.randn
    return [
        ("3-D q1", base(q1=t(2, 6, 4)), "c"),
        ("k1 shape", base(k1=t(1, 2, 7, 4)), "c"),
        ("v width", base(v=t(1, 2, 6, 4)), "numba"),
        ("float64 for c", {k: (v.double() if isinstance(v, torch.Tensor) else v)
                           for k, v in base().items()}, "c"),
        ("float16 for numba", {k: (v.half() if isinstance(v, torch.Tensor) else v)
                               for k, v in base().items()}, "numba"),
        ("float64 for cuda", {k: (v.double() if isinstance(v, torch.Tensor) else v)
                              for k, v in base().items()}, "cuda"),
        ("mixed dtypes", base(v=t(1, 2, 6, 8).double()), "torch"),
        ("lam nan", base(lam=float("nan")), "c"),
        ("lam inf", base(lam=math.inf), "numba"),
        ("lam string", base(lam="0.5"), "c"),
        ("lam vector", base(lam=torch.ones(2)), "c"),
        ("causal int", base(causal=1), "c"),
        ("numpy input", base(q1=np.zeros((1, 2, 6, 4), np.float32)), "c"),
        ("unknown backend", base(), "fortran"),
        ("d = 0", {**base(), **{k: t(1, 2, 6, 0) for k in ("q1", "k1", "q2", "k2")},
                   "v": t(1, 2, 6, 0)}, "c"),
        ("integer inputs", {k: (v.long() if isinstance(v, torch.Tensor) else v)
                            for k, v in base().items()}, "torch"),
    ]


@pytest.mark.parametrize(("what", "kw", "backend"), _bad_calls(),
                         ids=[c[0] for c in _bad_calls()])
def test_bad_arguments_raise_before_any_native_call(what: str, kw: dict, backend: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("a native kernel was called")

    from papercraft_diffattn import kernel_c, kernel_numba

    monkeypatch.setattr(kernel_c, "diff_attention_c", fail)
    monkeypatch.setattr(kernel_numba, "diff_attention_numba", fail)
    with pytest.raises(ValueError):
        diff_attention(**kw, backend=backend)


@pytest.mark.skipif(not HAVE_C, reason="papercraft-native extension not built")
def test_c_refuses_inputs_that_need_grad() -> None:
    kw = _inputs(1, 1, 4, 2)
    kw["q1"].requires_grad_(True)
    with pytest.raises(ValueError, match="autograd"):
        diff_attention(**kw, backend="c")
    with torch.no_grad():
        diff_attention(**kw, backend="c")


def test_registered_kernel_functions_take_keywords() -> None:
    kw = bench_inputs(1, 2, 33, 8, True, 0)
    assert set(kw) == {"q1", "k1", "q2", "k2", "v", "lam", "causal"}
    assert kw["v"].shape == (1, 2, 33, 16)
    want = kernels.diff_kernel_torch(**kw)
    for fn in (kernels.diff_kernel_numba,) + ((kernels.diff_kernel,) if HAVE_C else ()):
        assert (fn(**kw) - want).abs().max().item() <= 1e-5
    assert papercraft_diffattn.diff_attention is diff_attention
    assert papercraft_diffattn.BACKENDS == kernels.BACKENDS


def test_cuda_backend_under_the_simulator() -> None:
    env = cuda_checks.simulator_env(SRC)
    result = cuda_checks.run_python([str(HERE / "diffattn_cuda_checks.py"), "--sim"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed (simulator)" in result.stdout
    # the torch wrapper under the simulator too (CPU tensors in and out)
    code = (
        "import torch; from papercraft_diffattn import diff_attention, kernel_cuda;"
        "from papercraft_diffattn.kernels import bench_inputs;"
        "kernel_cuda.THREADS = 4; kw = bench_inputs(2, 1, 7, 3, True, 0);"
        "err = (diff_attention(**kw, backend='cuda') - diff_attention(**kw)).abs().max();"
        "assert err <= 1e-5, err; print('ok')"
    )
    result = cuda_checks.run_python(["-c", code], env)
    assert result.returncode == 0 and "ok" in result.stdout, result.stdout + result.stderr


@pytest.mark.skipif(not cuda_checks.real_gpu(), reason="needs a CUDA GPU")
def test_cuda_backend_on_the_gpu() -> None:
    sys.path.insert(0, str(HERE))
    try:
        import diffattn_cuda_checks
    finally:
        sys.path.remove(str(HERE))
    assert diffattn_cuda_checks.run_checks()["checks"]
