"""The ``lmul`` attention kernel against torch's SDPA."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from papercraft_lmul.attention import lmul_attention  # noqa: E402


def qkv(b=1, h=2, n=6, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, h, n, d, generator=g) for _ in range(3)]


@pytest.mark.parametrize("causal", [False, True])
def test_full_mantissa_is_close_to_sdpa(causal: bool) -> None:
    q, k, v = qkv()
    want = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    got = lmul_attention(q, k, v, is_causal=causal, mantissa_bits=23)
    # L-Mul's relative error per product is a few percent at most
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=0.15)
    assert not torch.equal(got, want)


def test_bool_padding_mask_is_honoured() -> None:
    q, k, v = qkv(n=5)
    mask = torch.ones(1, 1, 5, 5, dtype=torch.bool)
    mask[..., 3:] = False  # the last two keys are padding
    got = lmul_attention(q, k, v, attn_mask=mask, mantissa_bits=23)
    v2 = v.clone()
    v2[..., 3:, :] = 1e3  # changing padded values must not change the output
    again = lmul_attention(q, k, v2, attn_mask=mask, mantissa_bits=23)
    assert torch.equal(got, again)


def test_causal_mask_hides_the_future() -> None:
    q, k, v = qkv(n=4)
    got = lmul_attention(q, k, v, is_causal=True, mantissa_bits=3)
    v2 = v.clone()
    v2[..., 3, :] = 100.0
    assert torch.equal(got[..., :3, :], lmul_attention(q, k, v2, is_causal=True,
                                                        mantissa_bits=3)[..., :3, :])


def test_bfloat16_in_bfloat16_out_and_bad_shapes() -> None:
    q, k, v = (t.bfloat16() for t in qkv())
    assert lmul_attention(q, k, v).dtype == torch.bfloat16
    with pytest.raises(ValueError, match=r"\[B, H, N, d\]"):
        lmul_attention(q[0], k, v)
    with pytest.raises(ValueError, match="incompatible"):
        lmul_attention(q, k[..., :4], v)
