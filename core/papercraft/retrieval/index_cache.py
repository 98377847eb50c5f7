"""Indexes cached under ``PAPERCRAFT_HOME/indexes``, keyed by corpus content and retriever.

An entry is the folder ``<retriever name>-<key>``, where the key is the first 16 hex digits
of the SHA-256 of the corpus digest, the retriever's name, version and options. It is built
in a temporary folder beside it and renamed into place once complete (with
``MANIFEST`` written last), so a reader never sees half an index; two processes indexing
the same corpus at once both succeed and one of the two folders is kept. An entry that
cannot be read (files deleted or truncated, another retriever's files) is rebuilt with one
warning line on stderr.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from papercraft.fileio import write_json_atomic
from papercraft.retrieval.base import Retriever
from papercraft.retrieval.corpus import Corpus

FORMAT = 1
MANIFEST = "papercraft-index.json"
"""Written last into a complete entry: what the index was built from."""


@dataclass(frozen=True)
class IndexInfo:
    """Where a retriever's index for a corpus lives and how it was obtained."""

    path: Path
    reused: bool
    """True when the index was loaded from the cache, False when it was built now."""
    seconds: float
    """Time spent loading or building (and saving) it."""
    rebuilt: str | None = None
    """Why a damaged cache entry was rebuilt (None when there was none)."""


def describe(retriever: Retriever, corpus: Corpus) -> dict[str, Any]:
    """What the cache key hashes, stored as the entry's manifest."""
    return {
        "format": FORMAT,
        "corpus": corpus.digest,
        "passages": len(corpus),
        "retriever": retriever.name,
        "version": str(retriever.version),
        "options": json.loads(json.dumps(retriever.options(), sort_keys=True, default=str)),
    }


def cache_key(retriever: Retriever, corpus: Corpus) -> str:
    """16 hex digits naming the index of ``corpus`` by ``retriever`` (its name and options)."""
    text = json.dumps(describe(retriever, corpus), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_path(retriever: Retriever, corpus: Corpus) -> Path:
    """The cache folder of this retriever's index of ``corpus`` (it may not exist yet)."""
    from papercraft.paths import subdir

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", retriever.name).strip("._") or "retriever"
    return subdir("indexes") / f"{safe}-{cache_key(retriever, corpus)}"


def _damage(folder: Path, retriever: Retriever, corpus: Corpus) -> str | None:
    """Load the entry into ``retriever``; why it cannot be used, or None when it loaded."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "its manifest is missing"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"its manifest cannot be read: {exc}"
    if manifest != describe(retriever, corpus):
        return "its manifest names another corpus or retriever"
    try:
        retriever.load(folder, corpus)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # any reading failure means: rebuild
        return f"{type(exc).__name__}: {exc}".rstrip(": ")
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove_leftovers(folder: Path) -> None:
    """Delete temporary build folders of this entry whose process is gone (a killed build)."""
    for temp in folder.parent.glob(f".{folder.name}.*.tmp"):
        parts = temp.name.rsplit(".", 3)
        pid = int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else None
        if pid is not None and pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(temp, ignore_errors=True)


def _save(retriever: Retriever, corpus: Corpus, folder: Path) -> None:
    """Write the index into a temporary folder, then rename it to ``folder``."""
    temp = folder.with_name(f".{folder.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        temp.mkdir(parents=True)
        retriever.save(temp)
        write_json_atomic(temp / MANIFEST, describe(retriever, corpus))
        try:
            os.rename(temp, folder)
        except OSError:
            if not (folder / MANIFEST).is_file():  # not another process's finished entry
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def open_index(retriever: Retriever, corpus: Corpus) -> IndexInfo:
    """Load ``retriever``'s cached index of ``corpus``, or build and cache it."""
    started = time.perf_counter()
    folder = cache_path(retriever, corpus)
    rebuilt = None
    if folder.is_file() or folder.is_symlink():
        folder.unlink()  # not an entry this cache wrote
    if folder.exists():
        rebuilt = _damage(folder, retriever, corpus)
        if rebuilt is None:
            return IndexInfo(folder, True, time.perf_counter() - started)
        print(f"Warning: the cached index {folder} is damaged ({rebuilt}); rebuilding it.",
              file=sys.stderr, flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    _remove_leftovers(folder)
    retriever.index(corpus)
    try:
        _save(retriever, corpus, folder)
    except OSError as exc:
        print(f"Warning: cannot cache the index in {folder} ({exc.strerror or exc}); "
              "going on without it.", file=sys.stderr, flush=True)
    return IndexInfo(folder, False, time.perf_counter() - started, rebuilt)


def indexed(retriever: Retriever, corpus: Corpus) -> Retriever:
    """``retriever`` with its index of ``corpus``, reused from the cache when present."""
    open_index(retriever, corpus)
    return retriever
