"""The C kernel's backward pass (``kernel_c.diff_attention_c_autograd``) against torch autograd
of the formula in float64.

Tolerances: the kernel computes in float32; on these inputs (unit normal q, k, v and upstream
gradient) its gradients are within ~2e-6 of the float64 ones, so the tests allow
atol = 2e-5 (rtol = 1e-5) on every gradient and 1e-5 relative on dλ (a sum over every output).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from papercraft_diffattn import reference
from papercraft_diffattn.kernel_c import diff_attention_c_autograd

pn = pytest.importorskip("papercraft_native")
pytestmark = pytest.mark.skipif(not pn.available(), reason="papercraft_native not built")

ATOL, RTOL = 2e-5, 1e-5


def torch_reference(q1, k1, q2, k2, v, lam, causal: bool) -> torch.Tensor:
    """(softmax(q1 k1^T / sqrt(d)) - lam softmax(q2 k2^T / sqrt(d))) v with explicit softmax."""
    n, d = q1.shape[-2:]

    def probs(q, k):
        s = q @ k.transpose(-1, -2) / math.sqrt(d)
        if causal:
            s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), -math.inf)
        return s.softmax(-1)

    return (probs(q1, k1) - lam * probs(q2, k2)) @ v


def make(shape: tuple[int, ...], seed: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    """float64 q1, k1, q2, k2 [shape], v [..., 2d] and an upstream gradient [..., 2d]."""
    g = torch.Generator().manual_seed(seed)
    *lead, n, d = shape
    qk = [torch.randn(*shape, generator=g, dtype=torch.float64) for _ in range(4)]
    v = torch.randn(*lead, n, 2 * d, generator=g, dtype=torch.float64)
    return [*qk, v], torch.randn(*lead, n, 2 * d, generator=g, dtype=torch.float64)


def grads_both(shape, causal: bool, lam: float, seed: int, threads: int = 2):
    """(C output, C gradients) and (float64 output, float64 gradients); last gradient: dλ."""
    inputs, upstream = make(shape, seed)
    want_in = [t.clone().requires_grad_() for t in inputs]
    want_lam = torch.tensor(lam, dtype=torch.float64, requires_grad=True)
    want = torch_reference(*want_in, want_lam, causal)
    want_grads = torch.autograd.grad(want, [*want_in, want_lam], upstream)
    got_in = [t.float().requires_grad_() for t in inputs]
    got_lam = torch.tensor(lam, dtype=torch.float32, requires_grad=True)
    got = diff_attention_c_autograd(*got_in, got_lam, causal, threads=threads)
    got_grads = torch.autograd.grad(got, [*got_in, got_lam], upstream.float())
    return (got, got_grads), (want, want_grads)


SHAPES = [(1, 1, 1, 1), (1, 2, 7, 3), (2, 1, 33, 5), (1, 3, 65, 16), (1, 2, 130, 9),
          (2, 2, 97, 64), (1, 1, 200, 31)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
def test_gradients_match_float64_autograd(shape: tuple, causal: bool) -> None:
    lam = 0.8 - 0.6 * math.exp(-0.3 * (shape[-2] % 4))
    (got, got_grads), (want, want_grads) = grads_both(shape, causal, lam, seed=shape[-2])
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=1e-5, rtol=0)
    names = ["dq1", "dk1", "dq2", "dk2", "dv"]
    for name, g, w in zip(names, got_grads[:5], want_grads[:5], strict=True):
        assert g.dtype == torch.float32 and g.shape == w.shape, name
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=ATOL, rtol=RTOL, err_msg=name)
    assert float(got_grads[5]) == pytest.approx(float(want_grads[5]), rel=1e-5, abs=1e-5)


def test_dlambda_is_minus_dout_dot_softmax2_v() -> None:
    inputs, upstream = make((1, 2, 40, 8), seed=4)
    lam = torch.tensor(0.37, requires_grad=True)
    out = diff_attention_c_autograd(*(t.float() for t in inputs), lam, True)
    out.backward(upstream.float())
    q1, k1, q2, k2, v = inputs
    o2 = torch_reference(q1, k1, q2, k2, v, 0.0, True) - torch_reference(q1, k1, q2, k2, v,
                                                                         1.0, True)
    assert float(lam.grad) == pytest.approx(float(-(upstream * o2).sum()), rel=1e-5)


def test_forward_is_the_inference_kernel_bit_for_bit_and_the_numpy_reference() -> None:
    inputs, _ = make((2, 1, 70, 12), seed=1)
    arrays = [t.float().numpy() for t in inputs]
    got = diff_attention_c_autograd(*(t.float() for t in inputs), 0.5, True, threads=1)
    assert np.array_equal(got.numpy(), pn.diffattn(*arrays, 0.5, True, threads=1))
    np.testing.assert_allclose(got.numpy(), reference.diff_attention(*arrays, 0.5, True),
                               atol=1e-5)


def test_threads_do_not_change_gradients() -> None:
    one = grads_both((2, 3, 150, 24), True, 0.3, seed=5, threads=1)[0][1]
    for threads in (2, 7):
        many = grads_both((2, 3, 150, 24), True, 0.3, seed=5, threads=threads)[0][1]
        for a, b in zip(one, many, strict=True):
            assert torch.equal(a, b)


class TinyDiffLayer(torch.nn.Module):
    """Projections to q1, k1, q2, k2, v and a learnt λ, as the layer has them."""

    def __init__(self, embed: int, heads: int) -> None:
        super().__init__()
        self.heads, self.d = heads, embed // heads // 2
        self.qk = torch.nn.Linear(embed, 4 * heads * self.d, bias=False)
        self.v = torch.nn.Linear(embed, heads * 2 * self.d, bias=False)
        self.lambda_q = torch.nn.Parameter(torch.randn(self.d) * 0.1)
        self.lambda_k = torch.nn.Parameter(torch.randn(self.d) * 0.1)

    def forward(self, x: torch.Tensor, use_c: bool) -> torch.Tensor:
        b, n, _ = x.shape
        qk = self.qk(x).view(b, n, 4, self.heads, self.d).permute(2, 0, 3, 1, 4)
        v = self.v(x).view(b, n, self.heads, 2 * self.d).transpose(1, 2)
        lam = torch.exp(self.lambda_q @ self.lambda_k) + 0.2
        if use_c:
            out = diff_attention_c_autograd(*qk, v, lam, True)
        else:
            out = torch_reference(*qk, v, lam, True)
        return out.transpose(1, 2).reshape(b, n, -1)


def test_a_layer_trains_through_the_c_kernel() -> None:
    torch.manual_seed(0)
    layer = TinyDiffLayer(embed=32, heads=2)
    x = torch.randn(2, 19, 32)
    target = torch.randn(2, 19, 32)
    loss_c = ((layer(x, use_c=True) - target) ** 2).mean()
    grads_c = torch.autograd.grad(loss_c, list(layer.parameters()))
    layer64 = TinyDiffLayer(embed=32, heads=2).double()
    layer64.load_state_dict(layer.state_dict())
    loss_t = ((layer64(x.double(), use_c=False) - target.double()) ** 2).mean()
    grads_t = torch.autograd.grad(loss_t, list(layer64.parameters()))
    for (name, _), g, w in zip(layer.named_parameters(), grads_c, grads_t, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-6, rtol=1e-4, err_msg=name)
    # a few optimiser steps through the C kernel lower the loss
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = ((layer(x, use_c=True) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]


def test_float_lambda_gets_no_gradient_and_inputs_without_grad_work() -> None:
    inputs, upstream = make((1, 1, 9, 4), seed=2)
    q1 = inputs[0].float().requires_grad_()
    out = diff_attention_c_autograd(q1, *(t.float() for t in inputs[1:]), 0.5, False)
    (dq1,) = torch.autograd.grad(out, [q1], upstream.float())
    assert dq1.shape == q1.shape
    with torch.no_grad():
        assert diff_attention_c_autograd(*(t.float() for t in inputs), 0.5).shape == (1, 1, 9, 8)


def test_input_changed_in_place_before_backward_is_refused() -> None:
    inputs, upstream = make((1, 1, 9, 4), seed=3)
    q1 = inputs[0].float().requires_grad_()
    k1 = inputs[1].float()
    out = diff_attention_c_autograd(q1, k1, *(t.float() for t in inputs[2:]), 0.5)
    k1.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward(upstream.float())


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("float64", lambda a: [a[0].double(), *a[1:]]),
        ("v width", lambda a: [*a[:4], a[4][..., :4]]),
        ("k1 shape", lambda a: [a[0], a[1][:, :, :5], *a[2:]]),
        ("list", lambda a: [a[0].tolist(), *a[1:]]),
    ],
)
def test_bad_inputs_raise_value_error(what: str, change) -> None:
    inputs, _ = make((1, 1, 6, 4), seed=0)
    with pytest.raises(ValueError):
        diff_attention_c_autograd(*change([t.float() for t in inputs]), 0.5)


@pytest.mark.parametrize("lam", [float("nan"), torch.tensor([0.1, 0.2]), torch.tensor(math.inf)])
def test_bad_lambda_raises_value_error(lam) -> None:
    inputs, _ = make((1, 1, 6, 4), seed=0)
    with pytest.raises(ValueError):
        diff_attention_c_autograd(*(t.float() for t in inputs), lam)
