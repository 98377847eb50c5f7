"""A prefix tree over the token-id sequences of the tools: what constrained decoding may emit.

Every tool is a sequence of token ids (one token per tool in ToolGen, but any length works)
followed by the end-of-sequence id, so a tool whose sequence is a prefix of another's stays
distinct: decoding stops at the end-of-sequence id exactly where a tool ends. During beam
search :meth:`ToolTrie.allowed` gives, for the ids generated so far, the ids that continue a
path of the trie; every other logit is masked, so a finished beam is always a whole path and
so always an existing tool. Off the trie (a finished path, or a prefix the mask cannot have
produced) only the end-of-sequence id is allowed, which ends the beam (as the official
``AllowKeyWordsProcessor`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any


class ToolTrie:
    """Tool name -> token ids, stored as a trie of ``ids + [eos_id]`` paths."""

    def __init__(self, sequences: Mapping[str, Sequence[int]], eos_id: int) -> None:
        if not sequences:
            raise ValueError("a tool trie needs at least one tool")
        self.eos_id = int(eos_id)
        self._root: dict[int, Any] = {}
        self._names: dict[tuple[int, ...], str] = {}
        for name, ids in sequences.items():
            path = tuple(int(i) for i in ids)
            if not path:
                raise ValueError(f"tool {name!r} has no token ids")
            if self.eos_id in path:
                raise ValueError(f"tool {name!r}: its ids hold the end-of-sequence id")
            if path in self._names:
                raise ValueError(f"tools {self._names[path]!r} and {name!r} have the same ids")
            self._names[path] = name
            node = self._root
            for token in (*path, self.eos_id):
                node = node.setdefault(token, {})
        self.depth = max(len(path) for path in self._names) + 1
        """The longest path, end-of-sequence id included: the decoding length needed."""

    def __len__(self) -> int:
        return len(self._names)

    def names(self) -> list[str]:
        """The tool names, in insertion order."""
        return list(self._names.values())

    def allowed(self, prefix_ids: Sequence[int]) -> list[int]:
        """Ids that may follow ``prefix_ids`` (generated ids only); off the trie: [eos_id]."""
        node = self._root
        for token in prefix_ids:
            child = node.get(int(token))
            if child is None:
                return [self.eos_id]
            node = child
        return sorted(node) if node else [self.eos_id]

    def lookup(self, ids: Sequence[int]) -> str | None:
        """The tool whose path ``ids`` is (a trailing end-of-sequence id and padding allowed)."""
        path = [int(i) for i in ids]
        while path and path[-1] == self.eos_id:
            path.pop()
        return self._names.get(tuple(path))

    def is_path(self, ids: Sequence[int]) -> bool:
        """Whether ``ids`` walk the trie from the root (a prefix of some tool's path)."""
        node = self._root
        for token in ids:
            if int(token) not in node:
                return False
            node = node[int(token)]
        return True

    def prefix_allowed_tokens_fn(self, prompt_length: int) -> Callable[[int, Any], list[int]]:
        """transformers' ``prefix_allowed_tokens_fn`` for prompts of ``prompt_length`` ids."""

        def allowed(batch_id: int, input_ids: Any) -> list[int]:
            return self.allowed(input_ids[prompt_length:].tolist())

        return allowed
