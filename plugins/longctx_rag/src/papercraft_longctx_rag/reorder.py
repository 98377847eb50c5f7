"""The paper's retrieval reordering (Jin et al. 2024, section 4).

Passages ranked d1, d2, ..., dk (best first) go into the prompt as::

    [d1, d3, d5, ..., d6, d4, d2]

the odd ranks ascending at the front, the even ranks descending at the back: the best passage
is first, the second best last, and the weakest ones end up in the middle, where a long-context
model attends least ("lost in the middle"). For k = 5: [d1, d3, d5, d4, d2]; for k = 4:
[d1, d3, d4, d2]. Haystack's ``LostInTheMiddleRanker`` gives the same order.

LangChain's and LlamaIndex's ``LongContextReorder`` differ for even k. Both walk the list
from the weakest passage to the best (LangChain reverses it, LlamaIndex sorts by ascending
score) and put items 0, 2, 4, ... of that walk at the front and items 1, 3, 5, ... at the
back. For odd k that is the paper's order; for even k the best passage ends up *last* and the
second best *first*::

    k = 4   paper / Haystack: [d1, d3, d4, d2]   LangChain / LlamaIndex: [d2, d4, d3, d1]
    k = 5   paper / Haystack: [d1, d3, d5, d4, d2]   LangChain / LlamaIndex: the same

(their order for even k is the paper's order reversed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def reorder(items: Iterable[T]) -> list[T]:
    """Ranked items d1..dk as [d1, d3, d5, ..., d6, d4, d2] (d1 first, d2 last), any k."""
    ranked = list(items)
    return ranked[0::2] + ranked[1::2][::-1]


def prompt_position(rank: int, k: int) -> int:
    """Where :func:`reorder` puts the item of 0-based ``rank`` among ``k`` (0-based slot)."""
    if not 0 <= rank < k:
        raise ValueError(f"rank must be in [0, {k}), got {rank}")
    return rank // 2 if rank % 2 == 0 else k - 1 - rank // 2


def reordered_ranks(k: int) -> list[int]:
    """The 0-based rank of the item in each prompt slot (``reorder(range(k))``)."""
    if k < 0:
        raise ValueError(f"k must be at least 0, got {k}")
    return reorder(range(k))
