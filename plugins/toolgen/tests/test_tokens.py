"""Tool tokens: added once each, seeded with the mean of the name's subword embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from papercraft.errors import PapercraftError
from papercraft_toolgen.tokens import (
    META_FILE,
    add_tool_tokens,
    load_toolgen,
    name_words,
    tool_token,
)

NAMES = ["math.gcd", "str.upper", "statistics.median_low"]


def _load(base: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(base), AutoTokenizer.from_pretrained(base)


def test_token_and_words() -> None:
    assert tool_token("math.gcd") == "<<math.gcd>>"
    assert name_words("statistics.median_low") == "statistics median low"


def test_tokens_added_once_each(tiny_base: Path) -> None:
    model, tokenizer = _load(tiny_base)
    before = len(tokenizer)
    ids = add_tool_tokens(model, tokenizer, NAMES)
    assert len(tokenizer) == before + len(NAMES)
    assert sorted(ids.values()) == list(range(before, before + len(NAMES)))
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)
    for name, token_id in ids.items():
        assert tokenizer(tool_token(name), add_special_tokens=False)["input_ids"] == [token_id]
    again = add_tool_tokens(model, tokenizer, NAMES + NAMES[:1])
    assert again == ids and len(tokenizer) == before + len(NAMES)


def test_embedding_is_mean_of_name_pieces(tiny_base: Path) -> None:
    model, tokenizer = _load(tiny_base)
    original = model.get_input_embeddings().weight.detach().clone()
    original_out = model.get_output_embeddings().weight.detach().clone()
    ids = add_tool_tokens(model, tokenizer, NAMES)
    weight = model.get_input_embeddings().weight
    for name in NAMES:
        pieces = tokenizer(name_words(name), add_special_tokens=False)["input_ids"]
        assert len(pieces) > 1
        torch.testing.assert_close(weight[ids[name]], original[pieces].mean(dim=0))
    untied = model.get_output_embeddings().weight
    assert untied.data_ptr() != weight.data_ptr()  # the tiny Llama does not tie them
    pieces = tokenizer(name_words("math.gcd"), add_special_tokens=False)["input_ids"]
    torch.testing.assert_close(untied[ids["math.gcd"]], original_out[pieces].mean(dim=0))


def test_ids_round_trip_through_load_toolgen(tiny_base: Path, tmp_path: Path) -> None:
    model, tokenizer = _load(tiny_base)
    ids = add_tool_tokens(model, tokenizer, NAMES)
    model.save_pretrained(tmp_path / "memorize" / "model")
    tokenizer.save_pretrained(tmp_path / "memorize" / "model")
    (tmp_path / META_FILE).write_text(json.dumps(
        {"tools": NAMES, "model": "memorize/model", "stages": ["memorize"]}))
    loaded, loaded_tokenizer, loaded_ids = load_toolgen(tmp_path)
    assert loaded_ids == ids
    torch.testing.assert_close(loaded.get_input_embeddings().weight,
                               model.get_input_embeddings().weight)
    assert loaded_tokenizer.convert_ids_to_tokens(ids["str.upper"]) == "<<str.upper>>"


def test_load_toolgen_without_meta_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(PapercraftError, match="not a ToolGen training folder") as info:
        load_toolgen(tmp_path)
    assert info.value.exit_code == 2
