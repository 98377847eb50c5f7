"""``MultiheadDiffAttn(kv_layout=...)``: the two official pairings of query and key heads under
grouped-query attention, against a float64 reference that spells each pairing out per head.

- flash (``multihead_flashdiff_1.py``, "Recommended"): kv head g owns key heads 2g (K1) and
  2g + 1 (K2); differential head i reads K1, K2 and V of kv head i // n_rep.
- naive (``multihead_diffattn.py``): the 2·H_kv key heads are repeated in place; query head j
  (Q1 of differential head i is j = 2i, Q2 is j = 2i + 1) reads key head j // n_rep; V of kv
  head i // n_rep.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from papercraft_diffattn.layer import MultiheadDiffAttn, pair_keys
from papercraft_diffattn.rotary import rotary_cos_sin


def _rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Interleaved rotary embedding of one head x [N, D]: pairs (2p, 2p + 1) turned."""
    out = x.copy()
    half = cos.shape[1]
    a, b = x[:, 0 : 2 * half : 2], x[:, 1 : 2 * half : 2]
    out[:, 0 : 2 * half : 2] = a * cos[: len(x)] - b * sin[: len(x)]
    out[:, 1 : 2 * half : 2] = a * sin[: len(x)] + b * cos[: len(x)]
    return out


def _causal_softmax(scores: np.ndarray) -> np.ndarray:
    n = scores.shape[0]
    scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, -np.inf)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def key_heads_read(layout: str, head: int, n_rep: int) -> tuple[int, int]:
    """(K1, K2): the key heads (of the 2·H_kv) differential head ``head`` reads."""
    if layout == "flash":
        group = head // n_rep
        return 2 * group, 2 * group + 1
    return (2 * head) // n_rep, (2 * head + 1) // n_rep


def reference_layer(x: np.ndarray, params: dict[str, np.ndarray], heads: int, kv_heads: int,
                    depth: int, layout: str, rel_pos: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The layer in float64, one differential head at a time, causal, rotary on q and k."""
    p = {k: v.astype(np.float64) for k, v in params.items()}
    bsz, n, e = x.shape
    d = e // heads // 2
    n_rep = heads // kv_heads
    lambda_init = 0.8 - 0.6 * math.exp(-0.3 * depth)
    lam = (math.exp(p["lambda_q1"] @ p["lambda_k1"]) - math.exp(p["lambda_q2"] @ p["lambda_k2"])
           + lambda_init)
    cos, sin = (np.asarray(t, np.float64) for t in rel_pos)
    out = np.zeros((bsz, n, e))
    for b in range(bsz):
        xb = x[b].astype(np.float64)
        q_all = xb @ p["q_proj.weight"].T  # [N, 2H·d]: query head j is columns j·d .. (j+1)·d
        k_all = xb @ p["k_proj.weight"].T  # [N, 2H_kv·d]
        v_all = xb @ p["v_proj.weight"].T  # [N, H_kv·2d]
        q_head = [_rotate(q_all[:, j * d : (j + 1) * d], cos, sin) for j in range(2 * heads)]
        k_head = [_rotate(k_all[:, j * d : (j + 1) * d], cos, sin) for j in range(2 * kv_heads)]
        v_head = [v_all[:, g * 2 * d : (g + 1) * 2 * d] for g in range(kv_heads)]
        outputs = []
        for i in range(heads):
            j1, j2 = key_heads_read(layout, i, n_rep)
            a1 = _causal_softmax(q_head[2 * i] @ k_head[j1].T / math.sqrt(d))
            a2 = _causal_softmax(q_head[2 * i + 1] @ k_head[j2].T / math.sqrt(d))
            attn = (a1 - lam * a2) @ v_head[i // n_rep]
            rms = np.sqrt((attn**2).mean(-1, keepdims=True) + 1e-5)
            outputs.append(attn / rms * p["subln.weight"] * (1 - lambda_init))
        out[b] = np.concatenate(outputs, axis=-1) @ p["out_proj.weight"].T
    return out


def test_the_pairings_read_different_keys_only_under_gqa() -> None:
    for heads in (1, 2, 4, 8):
        assert all(key_heads_read("flash", i, 1) == key_heads_read("naive", i, 1) == (2 * i,
                                                                                   2 * i + 1)
                   for i in range(heads))
    # n_rep = 2: flash gives head i both halves of kv head i // 2; naive reads key head i twice
    assert [key_heads_read("flash", i, 2) for i in range(4)] == [(0, 1), (0, 1), (2, 3), (2, 3)]
    assert [key_heads_read("naive", i, 2) for i in range(4)] == [(0, 0), (1, 1), (2, 2), (3, 3)]


@pytest.mark.parametrize("layout", ["flash", "naive"])
@pytest.mark.parametrize(("heads", "kv"), [(4, 4), (4, 2), (4, 1), (6, 2)])
@pytest.mark.parametrize("impl", ["sdpa", "explicit"])
def test_layer_matches_the_float64_reference(layout: str, heads: int, kv: int,
                                             impl: str) -> None:
    torch.manual_seed(heads * 10 + kv)
    e = 8 * heads
    layer = MultiheadDiffAttn(e, 2, heads, kv, impl=impl, kv_layout=layout)
    x = torch.randn(2, 9, e)
    rel = rotary_cos_sin(9, layer.head_dim)
    params = {k: v.numpy() for k, v in layer.state_dict().items()}
    want = reference_layer(x.numpy(), params, heads, kv, 2, layout,
                           tuple(t.numpy() for t in rel))
    with torch.no_grad():
        got = layer(x, rel)
        details_out, _ = layer(x, rel, return_details=True)
    torch.testing.assert_close(got.double(), torch.from_numpy(want), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(details_out.double(), torch.from_numpy(want), atol=1e-5,
                               rtol=1e-5)


def test_pair_keys_layouts() -> None:
    k = torch.arange(4.0).view(1, 4, 1, 1)  # 2 kv heads: key heads 0, 1 (kv 0) and 2, 3 (kv 1)
    assert pair_keys(k, 1, "flash") is k and pair_keys(k, 1, "naive") is k
    assert pair_keys(k, 2, "flash").flatten().tolist() == [0, 1, 0, 1, 2, 3, 2, 3]
    assert pair_keys(k, 2, "naive").flatten().tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert pair_keys(k[:, :2], 4, "flash").flatten().tolist() == [0, 1] * 4


def test_same_state_dict_loads_in_both_layouts() -> None:
    torch.manual_seed(5)
    flash = MultiheadDiffAttn(64, 1, 4, 2)
    assert flash.kv_layout == "flash"  # the recommended official implementation is the default
    naive = MultiheadDiffAttn(64, 1, 4, 2, kv_layout="naive")
    naive.load_state_dict(flash.state_dict())  # strict: same names and shapes
    assert flash.state_dict().keys() == naive.state_dict().keys()
    x = torch.randn(1, 10, 64)
    rel = rotary_cos_sin(10, flash.head_dim)
    with torch.no_grad():
        assert (flash(x, rel) - naive(x, rel)).abs().max() > 0.1
        # without GQA the layouts are the same computation
        one = MultiheadDiffAttn(64, 1, 4, kv_layout="naive")
        one.load_state_dict(MultiheadDiffAttn(64, 1, 4).state_dict())
        other = MultiheadDiffAttn(64, 1, 4)
        other.load_state_dict(one.state_dict())
        torch.testing.assert_close(one(x, rel), other(x, rel), atol=0, rtol=0)


def layout_difference(kv_heads: int) -> tuple[float, float]:
    """README's measurement: max |flash - naive| and max |flash| over the outputs of the
    layer ``MultiheadDiffAttn(512, depth=3, num_heads=4, num_kv_heads)`` at seed 0 on
    x ~ N(0, 1) [2, 128, 512] with rotary."""
    torch.manual_seed(0)
    flash = MultiheadDiffAttn(512, 3, 4, kv_heads)
    naive = MultiheadDiffAttn(512, 3, 4, kv_heads, kv_layout="naive")
    naive.load_state_dict(flash.state_dict())
    x = torch.randn(2, 128, 512)
    rel = rotary_cos_sin(128, flash.head_dim)
    with torch.no_grad():
        a, b = flash(x, rel), naive(x, rel)
    return float((a - b).abs().max()), float(a.abs().max())


@pytest.mark.parametrize(("kv", "diff", "scale"), [(4, 0.0, 1.10), (2, 0.76, 1.23),
                                                   (1, 0.98, 1.11)])
def test_readme_layout_figures(kv: int, diff: float, scale: float) -> None:
    got_diff, got_scale = layout_difference(kv)
    assert got_diff == pytest.approx(diff, abs=0.01)
    assert got_scale == pytest.approx(scale, abs=0.01)
