"""The torch backend: broadcasting, batched lmatmul, chunking, devices, and autograd.

``torch.autograd.gradcheck`` does not apply: the forward is L-Mul, not the exact product,
while the backward is the gradient of the exact product (straight-through). So the tests
compare the gradients with those of ``a * b`` and ``a @ b``.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from papercraft_lmul import reference, torch_backend  # noqa: E402


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float32)


def test_lmul_broadcasts_like_the_reference() -> None:
    a = _rand(3, 1, 4, seed=1)
    b = _rand(5, 1, seed=2)
    out = torch_backend.lmul(a, b, 4)
    assert out.shape == (3, 5, 4) and out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), reference.lmul(a.numpy(), b.numpy(), 4))


def test_lmul_backward_is_the_exact_product_gradient() -> None:
    a = _rand(3, 1, 4, seed=3).requires_grad_()
    b = _rand(5, 1, seed=4).requires_grad_()
    g = _rand(3, 5, 4, seed=5)
    (torch_backend.lmul(a, b, 7) * g).sum().backward()
    a2 = a.detach().clone().requires_grad_()
    b2 = b.detach().clone().requires_grad_()
    (a2 * b2 * g).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    torch.testing.assert_close(a.grad, a2.grad, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(b.grad, b2.grad, rtol=1e-6, atol=1e-6)


def test_lmul_gradient_for_one_input_only() -> None:
    a = _rand(4, seed=6).requires_grad_()
    b = _rand(4, seed=7)
    torch_backend.lmul(a, b).sum().backward()
    torch.testing.assert_close(a.grad, b)


@pytest.mark.parametrize("k", [2, 23])
def test_lmatmul_2d_matches_reference(k: int, lm) -> None:
    a, b = _rand(13, 29, seed=8), _rand(29, 6, seed=9)
    lm.assert_matmul_close(torch_backend.lmatmul(a, b, k).numpy(), a.numpy(), b.numpy(), k)


def test_lmatmul_batched_broadcasts_batch_dimensions(lm) -> None:
    a = _rand(2, 1, 4, 7, seed=10)
    b = _rand(3, 7, 5, seed=11)
    out = torch_backend.lmatmul(a, b, 5)
    assert out.shape == (2, 3, 4, 5)
    for i in range(2):
        for j in range(3):
            lm.assert_matmul_close(out[i, j].numpy(), a[i, 0].numpy(), b[j].numpy(), 5)


def test_lmatmul_chunking_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _rand(6, 50, seed=12), _rand(50, 7, seed=13)
    whole = torch_backend.lmatmul(a, b, 23)
    monkeypatch.setattr(torch_backend, "BLOCK_BYTES", 8 * 6 * 7 * 3)  # chunks of 3 columns
    chunked = torch_backend.lmatmul(a, b, 23)
    torch.testing.assert_close(chunked, whole, rtol=1e-6, atol=1e-6)


def test_lmatmul_special_values_take_the_exact_path(lm) -> None:
    a, b = _rand(5, 6, seed=14), _rand(6, 4, seed=15)
    a[1, 2] = float("inf")
    a[2, 0] = float("nan")
    b[2, 3] = 0.0
    b[4, 1] = -float("inf")
    a[3, 3] = 1e-40  # subnormal
    lm.assert_matmul_close(torch_backend.lmatmul(a, b, 3).numpy(), a.numpy(), b.numpy(), 3)


def test_lmatmul_backward_is_the_exact_matmul_gradient() -> None:
    a = _rand(2, 1, 4, 7, seed=16).requires_grad_()
    b = _rand(3, 7, 5, seed=17).requires_grad_()
    g = _rand(2, 3, 4, 5, seed=18)
    (torch_backend.lmatmul(a, b, 23) * g).sum().backward()
    a2 = a.detach().clone().requires_grad_()
    b2 = b.detach().clone().requires_grad_()
    ((a2 @ b2) * g).sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    torch.testing.assert_close(a.grad, a2.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(b.grad, b2.grad, rtol=1e-5, atol=1e-5)


def test_lmatmul_trains_a_linear_layer() -> None:
    """Straight-through gradients are good enough to fit a least-squares problem."""
    x = _rand(64, 8, seed=19)
    w_true = _rand(8, 3, seed=20)
    y = x @ w_true
    w = torch.zeros(8, 3, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = ((torch_backend.lmatmul(x, w, 23) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.05 * first


def test_errors() -> None:
    a = torch.ones(2, 3)
    with pytest.raises(ValueError, match="float32"):
        torch_backend.lmul(a.double(), a, 23)
    with pytest.raises(ValueError, match="broadcast"):
        torch_backend.lmul(a, torch.ones(4), 23)
    with pytest.raises(ValueError, match="mantissa_bits"):
        torch_backend.lmul(a, a, 24)
    with pytest.raises(ValueError, match=r"\[\.\.\., m, n\]"):
        torch_backend.lmatmul(a, a, 23)
    with pytest.raises(ValueError, match=r"\[\.\.\., m, n\]"):
        torch_backend.lmatmul(torch.ones(3), a, 23)
    with pytest.raises(ValueError, match="batch shapes"):
        torch_backend.lmatmul(torch.ones(2, 2, 3), torch.ones(3, 3, 4), 23)
    with pytest.raises(ValueError, match="Tensor"):
        torch_backend.lmul(np.ones(3, np.float32), a, 23)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_tensors_bit_exact(lm) -> None:
    a_bits, b_bits = lm.special_pairs()
    a = torch.from_numpy(lm.as_f32(a_bits)).cuda()
    b = torch.from_numpy(lm.as_f32(b_bits)).cuda()
    for k in range(1, 24):
        got = lm.as_bits(torch_backend.lmul(a, b, k).cpu().numpy())
        lm.assert_bits_equal(got, reference.lmul_bits(a_bits, b_bits, k), a_bits, b_bits, k)
    x, y = _rand(33, 70, seed=21), _rand(70, 9, seed=22)
    out = torch_backend.lmatmul(x.cuda(), y.cuda(), 4)
    assert out.device.type == "cuda"
    lm.assert_matmul_close(out.cpu().numpy(), x.numpy(), y.numpy(), 4)
