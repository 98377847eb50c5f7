"""The registered fused kernels inside ``MultiheadDiffAttn``: ``kernel=`` and ``use_kernel``
give the torch path's outputs within 1e-5 in both GQA layouts, fall back to the torch path
under autograd, and refuse what the kernels cannot do (custom masks, non-float32)."""

from __future__ import annotations

import pytest
import torch

from papercraft.plugins import PluginManager
from papercraft_diffattn import kernels, plugin
from papercraft_diffattn.kernels import LAYER_KERNELS, current_kernel, use_kernel
from papercraft_diffattn.layer import MultiheadDiffAttn
from papercraft_diffattn.lm import LMConfig, build_model
from papercraft_diffattn.rotary import rotary_cos_sin

TOL = {"atol": 1e-5, "rtol": 1e-5}


def _layer(heads: int, kv: int, layout: str, **kw) -> MultiheadDiffAttn:
    torch.manual_seed(heads * 7 + kv)
    return MultiheadDiffAttn(16 * heads, 1, heads, kv, kv_layout=layout, **kw)


@pytest.mark.parametrize("kernel", LAYER_KERNELS)
@pytest.mark.parametrize("layout", ["flash", "naive"])
@pytest.mark.parametrize(("heads", "kv"), [(4, 4), (4, 2), (4, 1), (3, 1)])
def test_kernel_equals_the_torch_path(kernel: str, layout: str, heads: int, kv: int) -> None:
    layer = _layer(heads, kv, layout)
    x = torch.randn(2, 67, 16 * heads)  # 67 rows: a full and a partial block of the C kernel
    rel = rotary_cos_sin(67, layer.head_dim)
    with torch.no_grad():
        want = layer(x, rel)
        explicit, _ = layer(x, rel, return_details=True)
        layer.kernel = kernel
        got = layer(x, rel)
    assert got.shape == want.shape and got.dtype == torch.float32
    torch.testing.assert_close(got, want, **TOL)
    torch.testing.assert_close(got, explicit, **TOL)


def test_the_kernel_really_runs() -> None:
    # the fused kernels compute in float32 only: a float64 layer shows which path ran
    layer = MultiheadDiffAttn(32, 0, 2).double()
    x = torch.randn(1, 5, 32, dtype=torch.float64)
    with torch.no_grad():
        layer(x)  # the torch path takes float64
        for kernel in ("diff", "diff-numba"):
            with use_kernel(kernel), pytest.raises(ValueError, match="float32 only"):
                layer(x)
            layer.kernel = kernel
            with pytest.raises(ValueError, match="float32 only"):
                layer(x)
            layer.kernel = None
        with use_kernel("diff-torch"):
            assert layer(x).dtype == torch.float64


def test_use_kernel_sets_and_restores_the_context() -> None:
    assert current_kernel() == (None, False)
    with use_kernel("diff"):
        assert current_kernel() == ("diff", False)
        with use_kernel("diff-numba", training=True):
            assert current_kernel() == ("diff-numba", True)
        with use_kernel(None):
            assert current_kernel() == (None, False)
        assert current_kernel() == ("diff", False)
    with pytest.raises(RuntimeError), use_kernel("diff"):
        raise RuntimeError
    assert current_kernel() == (None, False)
    for bad in ("c", "diff-cuda", "", 3):
        with pytest.raises(ValueError, match="unknown kernel"), use_kernel(bad):
            pass
        with pytest.raises(ValueError, match="unknown kernel"):
            MultiheadDiffAttn(32, 0, 2, kernel=bad)
    with pytest.raises(ValueError, match="training"), use_kernel("diff", training=1):
        pass


def test_layer_kernel_beats_the_context() -> None:
    layer = MultiheadDiffAttn(32, 0, 2, kernel="diff-torch").double()
    x = torch.randn(1, 5, 32, dtype=torch.float64)
    with torch.no_grad(), use_kernel("diff"):
        assert layer(x).dtype == torch.float64  # its own kernel (torch), not the context's C


@pytest.mark.parametrize("kernel", LAYER_KERNELS)
def test_autograd_falls_back_to_the_torch_path(kernel: str) -> None:
    layer = _layer(4, 2, "flash")
    x = torch.randn(2, 9, 64)
    rel = rotary_cos_sin(9, layer.head_dim)
    want = layer(x, rel)
    want.square().sum().backward()
    grads = {n: p.grad.clone() for n, p in layer.named_parameters()}
    layer.zero_grad()
    with use_kernel(kernel):  # inference only: training steps keep the torch path
        got = layer(x, rel)
    assert got.grad_fn is not None
    torch.testing.assert_close(got, want, atol=0, rtol=0)
    got.square().sum().backward()
    for name, p in layer.named_parameters():
        torch.testing.assert_close(p.grad, grads[name], atol=0, rtol=0, msg=name)


def test_a_kernel_without_backward_trains_through_the_torch_path() -> None:
    layer = _layer(4, 1, "naive", kernel="diff-numba")
    x = torch.randn(1, 6, 64, requires_grad=True)
    layer(x, rotary_cos_sin(6, layer.head_dim)).sum().backward()
    assert x.grad is not None and layer.lambda_q1.grad is not None
    assert layer.lambda_q1.grad.abs().sum() > 0


def _graph_nodes(out: torch.Tensor) -> set[str]:
    """Class names of every node of ``out``'s autograd graph."""
    seen, stack, names = set(), [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(parent for parent, _ in node.next_functions)
    return names


@pytest.mark.parametrize("layout", ["flash", "naive"])
@pytest.mark.parametrize("how", ["layer", "context"])
def test_c_kernel_backward_when_the_native_library_has_one(layout: str, how: str) -> None:
    layer = _layer(4, 2, layout)
    x = torch.randn(2, 21, 64)
    rel = rotary_cos_sin(21, layer.head_dim)
    want = layer(x, rel)
    want.square().sum().backward()
    grads = {n: p.grad.clone() for n, p in layer.named_parameters()}
    layer.zero_grad()
    if how == "layer":
        layer.kernel = "diff"
        got = layer(x, rel)
    else:
        with use_kernel("diff", training=True):
            got = layer(x, rel)
    assert any("DiffAttnC" in name for name in _graph_nodes(got))  # trained through C
    assert not any("DiffAttnC" in name for name in _graph_nodes(want))
    torch.testing.assert_close(got, want, **TOL)
    got.square().sum().backward()
    for name, p in layer.named_parameters():  # |grad| up to ~100 here: 1e-5 relative
        torch.testing.assert_close(p.grad, grads[name], atol=1e-4, rtol=1e-5, msg=name)


def test_what_the_kernels_cannot_do_is_refused() -> None:
    layer = MultiheadDiffAttn(32, 0, 2, kernel="diff")
    x = torch.randn(1, 5, 32)
    with torch.no_grad():
        with pytest.raises(ValueError, match="causal attention only"):
            layer(x, attn_mask=torch.zeros(5, 5))
        with pytest.raises(ValueError, match="float32 only"):
            layer.bfloat16()(x.bfloat16())
        layer.float()
        # details need the N x N maps: the explicit path runs, the kernel is not asked
        out, det = layer(x, return_details=True)
        torch.testing.assert_close(out, layer(x), **TOL)
        assert det["weights"].shape == (1, 2, 5, 5)


def test_the_layer_names_are_the_registered_kernels() -> None:
    manager = PluginManager(only=[])
    manager.add_module(plugin, name="papercraft-diffattn")
    registered = {r.name for r in manager.records("attention").values()
                  if r.kind == "kernel" and r.signature == "diff"}
    assert set(LAYER_KERNELS) == registered
    for name in LAYER_KERNELS:
        assert manager.record("attention", name).load() is kernels.layer_kernel(name)


def test_language_model_and_its_evaluation_under_a_kernel() -> None:
    from papercraft_diffattn.train import evaluate

    config = LMConfig(arch="diff", d_model=64, layers=2, heads=4, seq_len=48)
    model = build_model(config, seed=0).eval()
    ids = torch.randint(0, config.vocab_size, (3, 48), generator=torch.Generator().manual_seed(1))
    batches = [(ids[:, :-1], ids[:, 1:])]
    with torch.no_grad():
        want = model(ids)
        want_loss = evaluate(model, batches)
        for kernel in LAYER_KERNELS:
            with use_kernel(kernel):
                torch.testing.assert_close(model(ids), want, **TOL)
                assert evaluate(model, batches) == pytest.approx(want_loss, abs=1e-6)
