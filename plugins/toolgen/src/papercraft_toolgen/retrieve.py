"""Tool retrieval by generation: beam search over the tool trie returns the top-k tools.

The query goes into the prompt training used (:func:`papercraft_toolgen.data.prompt_messages`);
beam search with ``num_beams = num_return_sequences = k`` under the trie's
``prefix_allowed_tokens_fn`` then yields k distinct trie paths, each an existing tool, ranked
by the sum of their token log-probabilities (``length_penalty=0``: tools of different token
lengths compete on probability alone; with one token per tool it changes nothing).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft.retrieval.base import check_k
from papercraft_toolgen.trie import ToolTrie


@dataclass(frozen=True)
class RankedTool:
    """One retrieved tool and its beam score (log-probability of its token path)."""

    name: str
    score: float


def prompt_ids(tokenizer: Any, text: str) -> list[int]:
    """Token ids of the prompt for ``text``, ending where the assistant's turn starts."""
    from papercraft_toolgen.data import prompt_messages

    rendered = tokenizer.apply_chat_template(prompt_messages(text), tokenize=False,
                                             add_generation_prompt=True)
    return tokenizer(rendered, add_special_tokens=False)["input_ids"]


def constrained_search(model: Any, input_ids: list[int], trie: ToolTrie, k: int,
                       pad_id: int | None = None) -> list[RankedTool]:
    """The top ``min(k, len(trie))`` tools after ``input_ids`` by beam search under ``trie``."""
    import torch
    from transformers import GenerationConfig

    check_k(k)
    beams = min(k, len(trie))
    prompt = torch.tensor([input_ids], dtype=torch.long, device=model.device)
    config = GenerationConfig(
        do_sample=False, num_beams=beams, num_return_sequences=beams,
        max_new_tokens=trie.depth, length_penalty=0.0, early_stopping=True,
        eos_token_id=trie.eos_id, pad_token_id=trie.eos_id if pad_id is None else pad_id,
        output_scores=True, return_dict_in_generate=True,
    )
    with torch.no_grad():
        out = model.generate(
            input_ids=prompt, attention_mask=torch.ones_like(prompt), generation_config=config,
            prefix_allowed_tokens_fn=trie.prefix_allowed_tokens_fn(prompt.shape[1]),
        )
    generated = out.sequences[:, prompt.shape[1]:].tolist()
    scores = (out.sequences_scores.tolist() if getattr(out, "sequences_scores", None) is not None
              else [0.0] * len(generated))
    ranked: list[RankedTool] = []
    seen: set[str] = set()
    for ids, score in zip(generated, scores, strict=True):
        name = trie.lookup(ids)
        if name is not None and name not in seen and score != float("-inf"):
            seen.add(name)
            ranked.append(RankedTool(name, float(score)))
    return ranked


class ToolGenRetriever:
    """A loaded ToolGen model with its trie: ``search(query, k)`` for many queries."""

    def __init__(self, model: Any, tokenizer: Any, token_ids: dict[str, int]) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.token_ids = dict(token_ids)
        eos = tokenizer.eos_token_id
        if eos is None:
            raise PapercraftError("the ToolGen tokenizer has no end-of-sequence token", 2)
        self.trie = ToolTrie({name: [i] for name, i in self.token_ids.items()}, eos)

    def search(self, query: str, k: int) -> list[RankedTool]:
        """The top-k tools for ``query``, best first, each an existing tool."""
        return constrained_search(self.model, prompt_ids(self.tokenizer, query), self.trie, k,
                                  pad_id=self.tokenizer.pad_token_id)


def check_model_dir(model_dir: Path | str) -> Path:
    """``model_dir`` as an existing folder (exit 2 naming it otherwise)."""
    from papercraft.cli.validate import input_dir

    return input_dir(model_dir, option="--model")


@functools.lru_cache(maxsize=2)
def _load(folder: str) -> ToolGenRetriever:
    from papercraft_toolgen.tokens import load_toolgen

    return ToolGenRetriever(*load_toolgen(folder))


def open_retriever(model_dir: Path | str) -> ToolGenRetriever:
    """The ToolGen retriever of a training folder, loaded once per process."""
    return _load(str(check_model_dir(model_dir).resolve()))


def check_query(query: str) -> str:
    """``query`` stripped; an empty one is exit 2."""
    if not isinstance(query, str) or not query.strip():
        raise PapercraftError("the query is empty: give the text of a request", 2)
    return query.strip()


def retrieve_tools(model_dir: Path | str, query: str, k: int = 5) -> list[str]:
    """The names of the top-k tools ToolGen generates for ``query`` (trie-constrained)."""
    query = check_query(query)
    check_k(k)
    return [hit.name for hit in open_retriever(model_dir).search(query, k)]
