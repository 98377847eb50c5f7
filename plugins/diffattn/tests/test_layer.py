"""MultiheadDiffAttn / MultiheadAttention / rotary against (a) re-implementations that
follow the official code's structure (microsoft/unilm Diff-Transformer: the naive file's view,
transpose, repeat_kv, triu mask, nan_to_num, subln; the recommended flash file's split of each
kv head into K1, K2 read by query head h // n_rep) — their state_dicts load into ours as is —
and (b) the float64 loops of ``papercraft_diffattn.reference`` (the naive pairing)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from papercraft_diffattn import reference
from papercraft_diffattn.layer import MultiheadDiffAttn, lambda_init_fn
from papercraft_diffattn.mha import MultiheadAttention
from papercraft_diffattn.rotary import apply_rotary_emb, rotary_cos_sin

# ----------------------------------------------------------- official-structure re-implementation


def _rotate_pairs_complex(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Interleaved RoPE as a complex product (another derivation than rotary.py's)."""
    rot = 2 * cos.shape[-1]
    pairs = torch.view_as_complex(x[..., :rot].float().reshape(*x.shape[:-1], rot // 2, 2)
                                  .contiguous())
    turn = torch.complex(cos[: x.shape[1]].float(), sin[: x.shape[1]].float())[None, :, None, :]
    out = torch.view_as_real(pairs * turn).flatten(-2).to(x.dtype)
    return torch.cat((out, x[..., rot:]), dim=-1)


def _repeat_heads(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    b, h, n, d = x.shape
    return x if n_rep == 1 else x[:, :, None].expand(b, h, n_rep, n, d).reshape(b, h * n_rep, n, d)


class _OfficialRMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        normed = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight


class OfficialStyleDiffAttn(nn.Module):
    """Same module tree, parameter shapes and forward steps as the official naive layer."""

    def __init__(self, embed_dim: int, depth: int, num_heads: int, num_kv_heads=None) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads or num_heads
        self.n_rep = num_heads // self.num_kv_heads
        self.head_dim = embed_dim // num_heads // 2
        self.scaling = self.head_dim**-0.5
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=False)
        self.k_proj = nn.Linear(embed_dim, embed_dim // self.n_rep, bias=False)
        self.v_proj = nn.Linear(embed_dim, embed_dim // self.n_rep, bias=False)
        self.out_proj = nn.Linear(num_heads * 2 * self.head_dim, embed_dim, bias=False)
        self.lambda_init = 0.8 - 0.6 * math.exp(-0.3 * depth)
        for name in ("lambda_q1", "lambda_k1", "lambda_q2", "lambda_k2"):
            setattr(self, name, nn.Parameter(torch.randn(self.head_dim) * 0.1))
        self.subln = _OfficialRMSNorm(2 * self.head_dim, eps=1e-5)

    def forward(self, x: torch.Tensor, rel_pos, attn_mask=None) -> torch.Tensor:
        bsz, tgt, _ = x.shape
        q = self.q_proj(x).view(bsz, tgt, 2 * self.num_heads, self.head_dim)
        k = self.k_proj(x).view(bsz, tgt, 2 * self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).view(bsz, tgt, self.num_kv_heads, 2 * self.head_dim)
        q = _rotate_pairs_complex(q, *rel_pos)
        k = _rotate_pairs_complex(k, *rel_pos)
        q = q.transpose(1, 2)
        k = _repeat_heads(k.transpose(1, 2), self.n_rep)
        v = _repeat_heads(v.transpose(1, 2), self.n_rep)
        q = q * self.scaling
        w = torch.matmul(q, k.transpose(-1, -2))
        if attn_mask is None:
            attn_mask = torch.triu(torch.full((tgt, tgt), float("-inf")).type_as(w), 1)
        w = torch.nan_to_num(w) + attn_mask
        w = F.softmax(w, dim=-1, dtype=torch.float32).type_as(w)
        lam1 = torch.exp(torch.sum(self.lambda_q1 * self.lambda_k1, dim=-1).float()).type_as(q)
        lam2 = torch.exp(torch.sum(self.lambda_q2 * self.lambda_k2, dim=-1).float()).type_as(q)
        lam = lam1 - lam2 + self.lambda_init
        w = w.view(bsz, self.num_heads, 2, tgt, tgt)
        w = w[:, :, 0] - lam * w[:, :, 1]
        attn = self.subln(torch.matmul(w, v)) * (1 - self.lambda_init)
        attn = attn.transpose(1, 2).reshape(bsz, tgt, self.num_heads * 2 * self.head_dim)
        return self.out_proj(attn)


def _causal_softmax_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                              scale: float) -> torch.Tensor:
    """[B, N, H, D] layout (flash_attn_func's), H_kv <= H: query head h reads kv head
    h // (H / H_kv); causal."""
    group = q.shape[2] // k.shape[2]
    k = k.repeat_interleave(group, dim=2)
    v = v.repeat_interleave(group, dim=2)
    scores = torch.einsum("bihd,bjhd->bhij", q.float(), k.float()) * scale
    n = q.shape[1]
    scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return torch.einsum("bhij,bjhd->bihd", scores.softmax(-1), v.float()).type_as(q)


class OfficialStyleFlashDiffAttn(OfficialStyleDiffAttn):
    """The recommended official layer's forward (multihead_flashdiff_1): the same parameters,
    each kv head's keys split into K1 and K2, GQA by kv head h // n_rep (flash_attn_func)."""

    def forward(self, x: torch.Tensor, rel_pos, attn_mask=None) -> torch.Tensor:
        assert attn_mask is None
        bsz, tgt, _ = x.shape
        q = self.q_proj(x).view(bsz, tgt, 2 * self.num_heads, self.head_dim)
        k = self.k_proj(x).view(bsz, tgt, 2 * self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).view(bsz, tgt, self.num_kv_heads, 2 * self.head_dim)
        q = _rotate_pairs_complex(q, *rel_pos).reshape(bsz, tgt, self.num_heads, 2,
                                                       self.head_dim)
        k = _rotate_pairs_complex(k, *rel_pos).reshape(bsz, tgt, self.num_kv_heads, 2,
                                                       self.head_dim)
        attn1 = _causal_softmax_attention(q[:, :, :, 0], k[:, :, :, 0], v, self.scaling)
        attn2 = _causal_softmax_attention(q[:, :, :, 1], k[:, :, :, 1], v, self.scaling)
        lam1 = torch.exp(torch.sum(self.lambda_q1 * self.lambda_k1, dim=-1).float())
        lam2 = torch.exp(torch.sum(self.lambda_q2 * self.lambda_k2, dim=-1).float())
        attn = attn1 - (lam1 - lam2 + self.lambda_init) * attn2
        attn = self.subln(attn) * (1 - self.lambda_init)
        return self.out_proj(attn.reshape(bsz, tgt, self.num_heads * 2 * self.head_dim))


OFFICIAL = {"naive": OfficialStyleDiffAttn, "flash": OfficialStyleFlashDiffAttn}


class OfficialStyleMHA(nn.Module):
    """The official baseline's structure."""

    def __init__(self, embed_dim: int, depth: int, num_heads: int, num_kv_heads=None) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads or num_heads
        self.n_rep = num_heads // self.num_kv_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=False)
        self.k_proj = nn.Linear(embed_dim, embed_dim // self.n_rep, bias=False)
        self.v_proj = nn.Linear(embed_dim, embed_dim // self.n_rep, bias=False)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=False)

    def forward(self, x: torch.Tensor, rel_pos, attn_mask=None) -> torch.Tensor:
        bsz, tgt, e = x.shape
        q = self.q_proj(x).view(bsz, tgt, self.num_heads, self.head_dim)
        k = self.k_proj(x).view(bsz, tgt, self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).view(bsz, tgt, self.num_kv_heads, self.head_dim)
        q = _rotate_pairs_complex(q, *rel_pos).transpose(1, 2) * self.head_dim**-0.5
        k = _repeat_heads(_rotate_pairs_complex(k, *rel_pos).transpose(1, 2), self.n_rep)
        v = _repeat_heads(v.transpose(1, 2), self.n_rep)
        w = torch.matmul(q, k.transpose(-1, -2))
        if attn_mask is None:
            attn_mask = torch.triu(torch.full((tgt, tgt), float("-inf")).type_as(w), 1)
        w = F.softmax(torch.nan_to_num(w) + attn_mask, dim=-1, dtype=torch.float32).type_as(w)
        return self.out_proj(torch.matmul(w, v).transpose(1, 2).reshape(bsz, tgt, e))


def _identity_rotary(n: int, half: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.ones(n, half), torch.zeros(n, half)


# ----------------------------------------------------------------------------------- tests

CONFIGS = [  # embed_dim, num_heads, num_kv_heads
    (32, 2, None),
    (64, 4, 2),
    (64, 4, 1),
    (48, 3, None),
]


@pytest.mark.parametrize(("embed_dim", "heads", "kv"), CONFIGS)
@pytest.mark.parametrize("impl", ["sdpa", "explicit"])
@pytest.mark.parametrize("rotary", [True, False])
@pytest.mark.parametrize("layout", ["flash", "naive"])
def test_loads_official_state_dict_and_matches(embed_dim: int, heads: int, kv: int | None,
                                               impl: str, rotary: bool, layout: str) -> None:
    torch.manual_seed(embed_dim + heads)
    official = OFFICIAL[layout](embed_dim, 3, heads, kv)
    ours = MultiheadDiffAttn(embed_dim, 3, heads, kv, impl=impl, kv_layout=layout)
    assert set(ours.state_dict()) == set(official.state_dict())
    ours.load_state_dict(official.state_dict())  # strict: same names and shapes
    x = torch.randn(2, 11, embed_dim)
    d = ours.head_dim
    rel = rotary_cos_sin(11, d) if rotary else None
    want = official(x, rel if rotary else _identity_rotary(11, d // 2))
    got = ours(x, rel)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_state_dict_names_are_the_official_ones() -> None:
    layer = MultiheadDiffAttn(64, 0, 4, 2)
    shapes = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    assert shapes == {
        "q_proj.weight": (64, 64), "k_proj.weight": (32, 64), "v_proj.weight": (32, 64),
        "out_proj.weight": (64, 64), "lambda_q1": (8,), "lambda_k1": (8,), "lambda_q2": (8,),
        "lambda_k2": (8,), "subln.weight": (16,),
    }
    assert all(p.dtype == torch.float32 for p in layer.parameters())
    assert isinstance(layer.lambda_init, float)
    assert layer.q_proj.bias is None and layer.out_proj.bias is None


@pytest.mark.parametrize("kv", [None, 1])
def test_matches_the_float64_reference_with_mask(kv: int | None) -> None:
    torch.manual_seed(7)
    layer = MultiheadDiffAttn(32, 1, 2, kv, kv_layout="naive")  # reference.py pairs naively
    x = torch.randn(1, 6, 32)
    rel = rotary_cos_sin(6, layer.head_dim)
    params = {k: v.numpy() for k, v in layer.state_dict().items()}
    want = reference.diff_layer(x.numpy(), params, 2, kv, 1, tuple(t.numpy() for t in rel))
    torch.testing.assert_close(layer(x, rel).double(), torch.from_numpy(want), atol=1e-5,
                               rtol=1e-5)
    mask = torch.zeros(6, 6)
    mask[:, 0] = float("-inf")  # a non-causal mask: nobody sees key 0
    want = reference.diff_layer(x.numpy(), params, 2, kv, 1, None, mask.numpy())
    for impl in ("sdpa", "explicit"):
        layer.impl = impl
        torch.testing.assert_close(layer(x, None, mask).double(), torch.from_numpy(want),
                                   atol=1e-5, rtol=1e-5)


def test_mha_loads_official_state_dict_and_matches_reference() -> None:
    torch.manual_seed(3)
    official = OfficialStyleMHA(32, 0, 4, 2)
    ours = MultiheadAttention(32, 0, 4, 2)
    ours.load_state_dict(official.state_dict())
    x = torch.randn(2, 9, 32)
    rel = rotary_cos_sin(9, 8)
    torch.testing.assert_close(ours(x, rel), official(x, rel), atol=1e-5, rtol=1e-5)
    params = {k: v.numpy() for k, v in ours.state_dict().items()}
    want = reference.mha_layer(x.numpy(), params, 4, 2, tuple(t.numpy() for t in rel))
    torch.testing.assert_close(ours(x, rel).double(), torch.from_numpy(want), atol=1e-5,
                               rtol=1e-5)
    out, details = ours(x, rel, return_details=True)
    torch.testing.assert_close(out, ours(x, rel), atol=1e-5, rtol=1e-5)
    assert details["weights"].shape == (2, 4, 9, 9) and details["logits"].shape == (2, 4, 9, 9)
    torch.testing.assert_close(details["weights"].sum(-1), torch.ones(2, 4, 9))


@pytest.mark.parametrize(("depth", "want"), [
    (0, 0.2), (1, 0.8 - 0.6 * math.exp(-0.3)), (2, 0.8 - 0.6 * math.exp(-0.6)),
    (11, 0.8 - 0.6 * math.exp(-3.3)),
])
def test_lambda_init_per_depth(depth: int, want: float) -> None:
    assert lambda_init_fn(depth) == pytest.approx(want, abs=1e-12)
    assert MultiheadDiffAttn(16, depth, 2).lambda_init == pytest.approx(want, abs=1e-12)
    assert reference.lambda_init(depth) == pytest.approx(want, abs=1e-12)


def test_details_weights_logits_lambda() -> None:
    torch.manual_seed(1)
    layer = MultiheadDiffAttn(32, 2, 2)
    x = torch.randn(2, 7, 32)
    out, det = layer(x, rotary_cos_sin(7, 8), return_details=True)
    with torch.no_grad():
        lam = (math.exp(float(layer.lambda_q1 @ layer.lambda_k1))
               - math.exp(float(layer.lambda_q2 @ layer.lambda_k2)) + layer.lambda_init)
    assert det["lambda"] == pytest.approx(lam, rel=1e-6)
    assert det["weights"].shape == (2, 2, 7, 7) and det["logits"].shape == (2, 4, 7, 7)
    # each softmax sums to 1, so every row of the differential map sums to 1 - lambda
    torch.testing.assert_close(det["weights"].sum(-1), torch.full((2, 2, 7), 1 - lam),
                               atol=1e-5, rtol=0)
    upper = torch.triu(torch.ones(7, 7, dtype=torch.bool), 1)
    assert (det["weights"][..., upper] == 0).all()
    assert torch.isinf(det["logits"][..., upper]).all()
    assert torch.isfinite(det["logits"][..., ~upper]).all()
    torch.testing.assert_close(out, layer(x, rotary_cos_sin(7, 8)), atol=1e-5, rtol=1e-5)


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    layer = MultiheadDiffAttn(32, 1, 2, 1)
    x = torch.randn(2, 5, 32, requires_grad=True)
    layer(x, rotary_cos_sin(5, 8)).square().sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert x.grad is not None


def test_bfloat16_forward() -> None:
    torch.manual_seed(0)
    layer = MultiheadDiffAttn(64, 1, 4, 2)
    x = torch.randn(2, 12, 64)
    want = layer(x, rotary_cos_sin(12, 8))
    low = MultiheadDiffAttn(64, 1, 4, 2)
    low.load_state_dict(layer.state_dict())
    low = low.to(torch.bfloat16)
    for impl in ("sdpa", "explicit"):
        low.impl = impl
        got = low(x.bfloat16(), rotary_cos_sin(12, 8))
        assert got.dtype == torch.bfloat16
        assert (got.float() - want).abs().max() < 0.05 * want.abs().max()
    out, det = low(x.bfloat16(), rotary_cos_sin(12, 8), return_details=True)
    assert det["weights"].dtype == torch.bfloat16 and math.isfinite(det["lambda"])


@pytest.mark.parametrize("make", [
    lambda: MultiheadDiffAttn(30, 0, 4),  # embed_dim not divisible by 2 * num_heads
    lambda: MultiheadDiffAttn(32, 0, 4, 3),  # num_kv_heads does not divide num_heads
    lambda: MultiheadDiffAttn(32, -1, 4),  # depth < 0
    lambda: MultiheadDiffAttn(32, 0, 0),
    lambda: MultiheadDiffAttn(32, 0, 2, impl="fast"),
    lambda: MultiheadDiffAttn(32, 0, 2, kv_layout="flash2"),
    lambda: MultiheadDiffAttn(32, 0, 2, kernel="sdpa"),
    lambda: MultiheadAttention(30, 0, 4),
    lambda: MultiheadAttention(32, 0, 4, 8),
])
def test_bad_configuration(make) -> None:
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("call", [
    lambda m: m(torch.randn(5, 32)),  # not [B, N, E]
    lambda m: m(torch.randn(1, 5, 16)),  # wrong embed dim
    lambda m: m(torch.ones(1, 5, 32, dtype=torch.long)),
    lambda m: m(torch.randn(1, 5, 32), attn_mask=torch.zeros(4, 4)),
    lambda m: m(torch.randn(1, 5, 32), attn_mask=torch.zeros(5, 5, dtype=torch.bool)),
    lambda m: m(torch.randn(1, 5, 32), rel_pos=torch.ones(5, 4)),
    lambda m: m(torch.randn(1, 5, 32), rel_pos=rotary_cos_sin(5, 16)),  # rot dim > head dim
    lambda m: m(torch.randn(1, 5, 32), rel_pos=rotary_cos_sin(3, 8)),  # too few positions
])
def test_bad_forward_arguments(call) -> None:
    with pytest.raises(ValueError):
        call(MultiheadDiffAttn(32, 0, 2))


def test_rotary_tables_and_layouts() -> None:
    cos, sin = rotary_cos_sin(5, 8)
    assert cos.shape == sin.shape == (5, 4) and cos.dtype == torch.float32
    torch.testing.assert_close(cos[0], torch.ones(4))
    assert cos[3, 1].item() == pytest.approx(math.cos(3 * 10000 ** (-2 / 8)), rel=1e-6)
    x = torch.randn(2, 5, 3, 10)
    got = apply_rotary_emb(x, cos, sin)  # rotates the first 8 features, keeps the last 2
    torch.testing.assert_close(got, _rotate_pairs_complex(x, cos, sin))
    torch.testing.assert_close(got[..., 8:], x[..., 8:])
    want = np.stack([np.stack([reference.rotary(x[b, :, h].numpy(), cos.numpy(), sin.numpy())
                               for h in range(3)], 1) for b in range(2)])
    torch.testing.assert_close(got.double(), torch.from_numpy(want), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(got.norm(dim=-1), x.norm(dim=-1))  # rotations keep the norm
    half = apply_rotary_emb(x[..., :8], cos, sin, interleaved=False)
    x1, x2 = x[..., :4], x[..., 4:8]
    c, s = cos[None, :, None], sin[None, :, None]
    torch.testing.assert_close(half, torch.cat((x1 * c - x2 * s, x1 * s + x2 * c), -1))
    with pytest.raises(ValueError):
        rotary_cos_sin(4, 7)
    with pytest.raises(ValueError):
        apply_rotary_emb(torch.randn(5, 3, 8), cos, sin)
