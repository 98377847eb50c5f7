"""Byte-level tokenizer: the 256 byte values plus an end-of-document token.

No vocabulary file and no training: ``encode`` is UTF-8, ``decode`` its inverse (special
tokens dropped, invalid byte sequences replaced).
"""

from __future__ import annotations

from collections.abc import Iterable

EOS = 256
"""Token that ends a document (corpus docstrings are joined with it)."""

VOCAB_SIZE = 257
"""256 byte values + EOS."""


def encode(text: str, add_eos: bool = False) -> list[int]:
    """UTF-8 bytes of ``text`` as token ids, with EOS appended when ``add_eos``."""
    ids = list(text.encode("utf-8"))
    if add_eos:
        ids.append(EOS)
    return ids


def decode(ids: Iterable[int]) -> str:
    """Text from token ids; special tokens are dropped, invalid UTF-8 is replaced."""
    data = bytes(int(i) for i in ids if 0 <= int(i) < 256)
    return data.decode("utf-8", errors="replace")


def encode_documents(docs: Iterable[str]) -> list[int]:
    """All documents as one token stream, each followed by EOS."""
    ids: list[int] = []
    for doc in docs:
        ids.extend(doc.encode("utf-8"))
        ids.append(EOS)
    return ids
