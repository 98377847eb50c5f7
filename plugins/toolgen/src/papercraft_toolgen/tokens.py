"""Tool virtualisation: one added vocabulary token per tool, and loading a trained ToolGen model.

A tool ``math.gcd`` becomes the single token ``<<math.gcd>>``. Its input embedding (and its
output row when the model does not tie them) starts as the mean of the embeddings of the
subword tokens of the tool's name read as words (``"math gcd"``), as in ToolGen's atomic
indexing. ``toolgen.json`` in a trained folder lists the tools in token order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError

META_FILE = "toolgen.json"
"""The file a training run writes (atomically, after each stage) into its output folder."""


def tool_token(name: str) -> str:
    """The vocabulary token of tool ``name``: ``<<name>>``."""
    return f"<<{name}>>"


def name_words(name: str) -> str:
    """The tool name read as words, the text whose subword embeddings seed its token."""
    return " ".join(part for part in re.split(r"[._\-\s/]+", name) if part)


def _names(tools: Iterable[Any]) -> list[str]:
    return [tool if isinstance(tool, str) else tool.name for tool in tools]


def add_tool_tokens(model: Any, tokenizer: Any, tools: Iterable[Any]) -> dict[str, int]:
    """Add one special token per tool (once), resize the embeddings and seed the new rows.

    ``tools`` are Tool objects or names. Returns ``{tool name: token id}`` for every tool,
    including tokens the tokenizer already had (those keep their trained embeddings).
    """
    import torch

    names = list(dict.fromkeys(_names(tools)))
    vocab = tokenizer.get_vocab()
    new = [name for name in names if tool_token(name) not in vocab]
    words = {name: tokenizer(name_words(name), add_special_tokens=False)["input_ids"]
             for name in new}
    if new:
        tokenizer.add_tokens([tool_token(name) for name in new], special_tokens=True)
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    ids = {name: tokenizer.convert_tokens_to_ids(tool_token(name)) for name in names}
    inputs = model.get_input_embeddings().weight
    outputs = model.get_output_embeddings()
    untied = outputs is not None and outputs.weight.data_ptr() != inputs.data_ptr()
    with torch.no_grad():
        for name in new:
            pieces = torch.tensor(words[name] or [tokenizer.unk_token_id or 0])
            inputs[ids[name]] = inputs[pieces].mean(dim=0)
            if untied:
                outputs.weight[ids[name]] = outputs.weight[pieces].mean(dim=0)
    return ids


def read_meta(folder: Path | str) -> dict[str, Any]:
    """The ``toolgen.json`` of a training folder; a missing or damaged file is exit 2."""
    path = Path(folder) / META_FILE
    if not path.is_file():
        raise PapercraftError(f"{folder}: no {META_FILE}; not a ToolGen training folder", 2)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PapercraftError(f"{path}: unreadable ({exc})", 2) from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("tools"), list):
        raise PapercraftError(f"{path}: not a ToolGen description (no tool list)", 2)
    return meta


def model_path(folder: Path | str, meta: dict[str, Any] | None = None) -> Path:
    """The weights folder of the last finished stage of a training folder."""
    meta = read_meta(folder) if meta is None else meta
    if not meta.get("model"):
        raise PapercraftError(f"{folder}: no stage has finished yet; nothing to load", 2)
    return Path(folder) / meta["model"]


def load_toolgen(model_dir: Path | str) -> tuple[Any, Any, dict[str, int]]:
    """``(model, tokenizer, {tool name: token id})`` of a ToolGen training folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    meta = read_meta(model_dir)
    weights = model_path(model_dir, meta)
    tokenizer = AutoTokenizer.from_pretrained(weights)
    model = AutoModelForCausalLM.from_pretrained(weights, dtype="float32")
    model.eval()
    ids = {name: tokenizer.convert_tokens_to_ids(tool_token(name)) for name in meta["tools"]}
    missing = [name for name, i in ids.items() if i is None or i == tokenizer.unk_token_id]
    if missing:
        raise PapercraftError(f"{model_dir}: tokenizer lacks tool tokens, e.g. {missing[0]!r}", 2)
    return model, tokenizer, ids
