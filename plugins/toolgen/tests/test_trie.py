"""The tool trie and beam search under it: only existing tools come out, whatever the logits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from papercraft_toolgen.retrieve import constrained_search
from papercraft_toolgen.trie import ToolTrie

EOS = 99


def test_allowed_walks_the_paths() -> None:
    trie = ToolTrie({"a": [1, 2], "b": [1, 3], "c": [4]}, EOS)
    assert trie.allowed([]) == [1, 4]
    assert trie.allowed([1]) == [2, 3]
    assert trie.allowed([1, 2]) == [EOS]
    assert trie.allowed([4]) == [EOS]
    assert trie.allowed([5]) == [EOS]  # off the trie: end
    assert trie.depth == 3
    assert len(trie) == 3


def test_a_tool_that_prefixes_another_stays_distinct() -> None:
    trie = ToolTrie({"short": [1], "long": [1, 2]}, EOS)
    assert trie.allowed([1]) == [2, EOS]
    assert trie.lookup([1, EOS]) == "short"
    assert trie.lookup([1, 2, EOS, EOS]) == "long"
    assert trie.lookup([1, 3]) is None
    assert trie.is_path([1, 2]) and not trie.is_path([2])


@pytest.mark.parametrize("sequences", [{}, {"a": []}, {"a": [1], "b": [1]}, {"a": [EOS]}])
def test_bad_tries(sequences: dict[str, list[int]]) -> None:
    with pytest.raises(ValueError):
        ToolTrie(sequences, EOS)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A random tiny Llama with sharp logits and its tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from papercraft_hf.testing import save_tiny_llama

    folder = save_tiny_llama(Path(tmp_path_factory.mktemp("tiny")), initializer_range=0.5)
    model = AutoModelForCausalLM.from_pretrained(folder)
    model.eval()
    return model, AutoTokenizer.from_pretrained(folder)


def _prompt(tokenizer: Any) -> list[int]:
    return tokenizer("find me a tool", add_special_tokens=False)["input_ids"]


def _favourite(model: Any, ids: list[int]) -> int:
    import torch

    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, -1]
    return int(logits.argmax())


def test_beam_search_never_invents_a_tool(tiny: Any) -> None:
    model, tokenizer = tiny
    ids = _prompt(tokenizer)
    favourite = _favourite(model, ids)
    eos = tokenizer.eos_token_id
    tool_ids = [i for i in range(40, 60) if i not in (favourite, eos)]
    trie = ToolTrie({f"tool{i}": [i] for i in tool_ids}, eos)
    hits = constrained_search(model, ids, trie, 5)
    assert len(hits) == 5
    assert len({h.name for h in hits}) == 5
    assert all(h.name in trie.names() for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # the model itself prefers a token that is no tool
    assert favourite not in tool_ids


def test_multi_token_beams_are_trie_paths(tiny: Any) -> None:
    import torch

    model, tokenizer = tiny
    ids = _prompt(tokenizer)
    eos = tokenizer.eos_token_id
    sequences = {"a.x": [40, 41, 42], "a.y": [40, 41, 43], "a.z": [40, 44], "b": [45, 46],
                 "c": [47], "d.long": [48, 49, 50, 51]}
    trie = ToolTrie(sequences, eos)
    prompt = torch.tensor([ids])
    with torch.no_grad():
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                             num_beams=4, num_return_sequences=4, max_new_tokens=trie.depth,
                             eos_token_id=eos, pad_token_id=eos,
                             prefix_allowed_tokens_fn=trie.prefix_allowed_tokens_fn(len(ids)))
        free = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                              num_beams=4, num_return_sequences=4, max_new_tokens=trie.depth,
                              eos_token_id=eos, pad_token_id=eos)
    generated = out[:, len(ids):].tolist()
    assert all(trie.lookup(seq) is not None for seq in generated)
    assert len({trie.lookup(seq) for seq in generated}) == 4
    # without the trie the same search leaves it
    assert any(trie.lookup(seq) is None for seq in free[:, len(ids):].tolist())
    hits = constrained_search(model, ids, trie, 4)
    assert {h.name for h in hits} == {trie.lookup(seq) for seq in generated}


def test_k_above_the_number_of_tools(tiny: Any) -> None:
    model, tokenizer = tiny
    trie = ToolTrie({"p": [50], "q": [51]}, tokenizer.eos_token_id)
    hits = constrained_search(model, _prompt(tokenizer), trie, 5)
    assert sorted(h.name for h in hits) == ["p", "q"]
