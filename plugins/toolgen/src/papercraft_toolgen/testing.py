"""Test helpers of papercraft-toolgen: a tiny untrained ToolGen folder that loads in milliseconds.

Tests of retrieval, evaluation and the router use it where what they check (the trie, the
metric, the accounting) does not depend on trained weights.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

STAGE_MODEL = "retrieve/model"


def save_tiny_toolgen(folder: Path, tools: Sequence[str], *,
                      initializer_range: float | None = None) -> Path:
    """A ToolGen folder (``toolgen.json`` + weights) of papercraft-hf's tiny random Llama with
    one token per tool in ``tools``, as ``papercraft toolgen train`` lays it out."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from papercraft_hf.testing import save_tiny_llama
    from papercraft_toolgen.tokens import META_FILE, add_tool_tokens

    folder = Path(folder)
    base = save_tiny_llama(folder / "base", initializer_range=initializer_range)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    add_tool_tokens(model, tokenizer, list(tools))
    model.save_pretrained(folder / STAGE_MODEL)
    tokenizer.save_pretrained(folder / STAGE_MODEL)
    meta = {"format": 1, "base_model": str(base), "tools": list(tools),
            "stages": ["retrieve"], "model": STAGE_MODEL}
    (folder / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    return folder
