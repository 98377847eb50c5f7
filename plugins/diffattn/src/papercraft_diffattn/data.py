"""The offline training corpus: docstrings of the installed Python standard library.

Every machine that runs papercraft has one, so nothing is downloaded. ``gather_corpus``
walks the stdlib folder (``sysconfig``) in sorted order, parses each ``.py`` file with
``ast`` and keeps module, class and function docstrings (cleaned by ``inspect.cleandoc``,
exact duplicates dropped), skipping test folders and site-packages, up to ``max_bytes``.
Whole modules go to the validation split when ``crc32(module) % VAL_EVERY == 0``, so the
split is deterministic and no module is in both. ``load_corpus`` caches the result under
``PAPERCRAFT_HOME/diffattn/corpus`` keyed by the Python version.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import sysconfig
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS_VERSION = 1
"""Bump when the gathering rules change (invalidates caches)."""

DEFAULT_MAX_BYTES = 4_000_000
"""Cap on the corpus size (UTF-8 bytes of docstrings); the 3.11 stdlib gives about 1.8 MB."""

VAL_EVERY = 10
"""About one module in VAL_EVERY goes to the validation split."""

SKIP_DIRS = frozenset(
    {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}
)
MIN_DOC_CHARS = 16
"""Shorter docstrings ("Return x.") add little and are skipped."""


@dataclass
class Corpus:
    """Docstrings split into train and validation documents."""

    train: list[str]
    val: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def train_bytes(self) -> int:
        """UTF-8 size of the training documents."""
        return sum(len(d.encode("utf-8")) for d in self.train)

    def val_bytes(self) -> int:
        """UTF-8 size of the validation documents."""
        return sum(len(d.encode("utf-8")) for d in self.val)


def stdlib_root() -> Path:
    """The folder of the running interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path) -> list[Path]:
    """``.py`` files under ``root`` (relative paths, sorted), without test folders."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
        )
        rel = Path(dirpath).relative_to(root)
        found.extend(rel / f for f in filenames if f.endswith(".py"))
    return sorted(found, key=lambda p: p.as_posix())


def module_name(rel: Path) -> str:
    """``email/mime/text.py`` -> ``email.mime.text``; ``pkg/__init__.py`` -> ``pkg``."""
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or "__init__"


def docstrings(source: str) -> Iterator[str]:
    """Module, class and function docstrings of ``source`` in source order."""
    tree = ast.parse(source)
    defs = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)

    def visit(node: ast.AST) -> Iterator[str]:
        if isinstance(node, (ast.Module, *defs)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield doc
        for child in ast.iter_child_nodes(node):
            if isinstance(child, defs):
                yield from visit(child)
            elif not isinstance(child, (ast.expr, ast.expr_context)):  # defs under if/try
                yield from visit(child)

    yield from visit(tree)


def is_validation(module: str) -> bool:
    """Whether a module's docstrings belong to the validation split."""
    return zlib.crc32(module.encode("utf-8")) % VAL_EVERY == 0


def gather_corpus(max_bytes: int = DEFAULT_MAX_BYTES, root: Path | None = None) -> Corpus:
    """Walk the stdlib and collect docstrings (deterministic, at most ``max_bytes``)."""
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    root = stdlib_root() if root is None else Path(root)
    seen: set[str] = set()
    train: list[str] = []
    val: list[str] = []
    last_train_module: list[int] = []  # index in train where the last module started
    total = 0
    files = 0
    for rel in stdlib_files(root):
        if total >= max_bytes:
            break
        try:
            source = (root / rel).read_text(encoding="utf-8")
            docs = list(docstrings(source))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
            continue
        module = module_name(rel)
        target = val if is_validation(module) else train
        start = len(train)
        added = 0
        for doc in docs:
            if len(doc) < MIN_DOC_CHARS or doc in seen:
                continue
            size = len(doc.encode("utf-8"))
            if total + size > max_bytes:
                total = max_bytes
                break
            seen.add(doc)
            target.append(doc)
            total += size
            added += 1
        if added:
            files += 1
            if target is train:
                last_train_module[:] = [start]
    if not val and len(last_train_module) == 1 and last_train_module[0] > 0:
        # small caps can miss every validation module: hold out the last module instead
        cut = last_train_module[0]
        train, val = train[:cut], train[cut:]
    return Corpus(
        train=train,
        val=val,
        meta={
            "source": "docstrings of the Python standard library",
            "python": sys.version.split()[0],
            "stdlib": str(root),
            "max_bytes": max_bytes,
            "files": files,
            "documents": len(train) + len(val),
            "corpus_version": CORPUS_VERSION,
        },
    )


def cache_path(max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Where ``load_corpus`` keeps the gathered corpus for this Python version."""
    from papercraft.paths import subdir

    version = ".".join(str(v) for v in sys.version_info[:3])
    name = f"stdlib-docstrings-py{version}-{max_bytes}-v{CORPUS_VERSION}.json"
    return subdir("diffattn", "corpus") / name


def load_corpus(max_bytes: int = DEFAULT_MAX_BYTES, cache: bool = True) -> Corpus:
    """The stdlib-docstring corpus, gathered once and cached under PAPERCRAFT_HOME."""
    if not cache:
        return gather_corpus(max_bytes)
    path = cache_path(max_bytes)
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Corpus(train=data["train"], val=data["val"], meta=data["meta"])
        except (OSError, ValueError, KeyError):
            pass  # damaged cache: gather again
    from papercraft.fileio import write_json_atomic

    corpus = gather_corpus(max_bytes)
    write_json_atomic(path, {"meta": corpus.meta, "train": corpus.train, "val": corpus.val})
    return corpus
