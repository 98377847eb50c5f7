"""Stdlib tools over given lists: ``bisect``, ``heapq``, ``itertools``, ``collections`` and
``functools``.

The lists are arguments (at most 1000 items); the heap tools return the new list instead of
changing one in place. Combinatoric iterators are cut off at ``MAX_RESULTS`` results.
"""

from __future__ import annotations

import bisect
import collections
import functools
import heapq
import itertools
import operator
from collections.abc import Callable, Iterable
from typing import Literal

from papercraft.tools.stdlib.catalog import Catalog, ints, items

catalog = Catalog()

MAX_RESULTS = 1000
MAX_BITS = 4000
_K = ints(0, 1000)
_SHORT = items(20, items={"maxLength": 100})
_WORDS = items(items={"maxLength": 200})
_OPERATORS = {"add": operator.add, "mul": operator.mul, "max": max, "min": min}


def _checked(operation: str) -> Callable[[float, float], float]:
    apply = _OPERATORS[operation]

    def step(a: float, b: float) -> float:
        result = apply(a, b)
        if isinstance(result, int) and result.bit_length() > MAX_BITS:
            raise ValueError(f"an intermediate result passed {MAX_BITS} bits")
        return result

    return step


def _bounded(iterator: Iterable[object]) -> list[object]:
    results = list(itertools.islice(iterator, MAX_RESULTS + 1))
    if len(results) > MAX_RESULTS:
        raise ValueError(f"more than {MAX_RESULTS} results; ask for fewer")
    return [list(result) if isinstance(result, tuple) else result for result in results]


# bisect


@catalog.tool("bisect.bisect_left", {"a": [1, 2, 4, 4, 8], "x": 4})
def bisect_left(a: list[float], x: float) -> int:
    """The index where x would be inserted in the sorted list a, left of equal items."""
    return bisect.bisect_left(a, x)


@catalog.tool("bisect.bisect_right", {"a": [1, 2, 4, 4, 8], "x": 4})
def bisect_right(a: list[float], x: float) -> int:
    """The index where x would be inserted in the sorted list a, right of equal items."""
    return bisect.bisect_right(a, x)


@catalog.tool("bisect.insort", {"a": [1, 2, 4, 8], "x": 5})
def insort(a: list[float], x: float) -> list[float]:
    """The sorted list a with x inserted in order."""
    result = list(a)
    bisect.insort(result, x)
    return result


# heapq


@catalog.tool("heapq.nlargest", {"n": 2, "values": [5, 1, 9, 3, 7]}, n=_K)
def nlargest(n: int, values: list[float]) -> list[float]:
    """The n largest values, largest first."""
    return heapq.nlargest(n, values)


@catalog.tool("heapq.nsmallest", {"n": 2, "values": [5, 1, 9, 3, 7]}, n=_K)
def nsmallest(n: int, values: list[float]) -> list[float]:
    """The n smallest values, smallest first."""
    return heapq.nsmallest(n, values)


@catalog.tool("heapq.heapify", {"values": [5, 1, 9, 3, 7]})
def heapify(values: list[float]) -> list[float]:
    """The values rearranged into a min-heap (heap[k] <= heap[2k+1] and heap[2k+2])."""
    heap = list(values)
    heapq.heapify(heap)
    return heap


@catalog.tool("heapq.heappush", {"heap": [1, 3, 9, 5, 7], "item": 2})
def heappush(heap: list[float], item: float) -> list[float]:
    """The min-heap with item pushed onto it, keeping the heap invariant."""
    result = list(heap)
    heapq.heappush(result, item)
    return result


@catalog.tool("heapq.heappop", {"heap": [1, 3, 9, 5, 7]}, heap=items(min_items=1))
def heappop(heap: list[float]) -> dict[str, object]:
    """Pop the smallest item off the min-heap: the item and the heap that remains."""
    result = list(heap)
    smallest = heapq.heappop(result)
    return {"item": smallest, "heap": result}


@catalog.tool("heapq.merge", {"a": [1, 4, 7], "b": [2, 3, 9]})
def merge(a: list[float], b: list[float]) -> list[float]:
    """Merge two sorted lists into one sorted list."""
    return list(heapq.merge(a, b))


# itertools


@catalog.tool("itertools.combinations", {"items": ["a", "b", "c", "d"], "r": 2},
              items=_SHORT, r=ints(0, 20))
def combinations(items: list[str], r: int) -> list[object]:
    """The r-length combinations of the items, in order (at most 1000)."""
    return _bounded(itertools.combinations(items, r))


@catalog.tool("itertools.permutations", {"items": ["a", "b", "c"], "r": 2},
              items=_SHORT, r=ints(0, 20))
def permutations(items: list[str], r: int) -> list[object]:
    """The r-length permutations of the items (at most 1000)."""
    return _bounded(itertools.permutations(items, r))


@catalog.tool("itertools.combinations_with_replacement", {"items": ["a", "b", "c"], "r": 2},
              items=_SHORT, r=ints(0, 20))
def combinations_with_replacement(items: list[str], r: int) -> list[object]:
    """The r-length combinations of the items, items allowed to repeat (at most 1000)."""
    return _bounded(itertools.combinations_with_replacement(items, r))


@catalog.tool("itertools.product", {"a": ["x", "y"], "b": ["1", "2", "3"]},
              a=items(100, items={"maxLength": 100}), b=items(100, items={"maxLength": 100}))
def product(a: list[str], b: list[str]) -> list[object]:
    """The cartesian product of two lists as pairs (at most 1000)."""
    return _bounded(itertools.product(a, b))


@catalog.tool("itertools.accumulate", {"values": [1, 2, 3, 4], "operation": "add"})
def accumulate(values: list[float],
               operation: Literal["add", "mul", "max", "min"] = "add") -> list[float]:
    """Running totals (or running products, maxima, minima) of the values."""
    return list(itertools.accumulate(values, _checked(operation)))


@catalog.tool("itertools.pairwise", {"values": [1, 4, 9, 16]})
def pairwise(values: list[float]) -> list[object]:
    """Successive overlapping pairs taken from the values."""
    return _bounded(itertools.pairwise(values))


@catalog.tool("itertools.groupby", {"items": ["a", "a", "b", "b", "b", "a"]}, items=_WORDS)
def groupby(items: list[str]) -> list[list[object]]:
    """Runs of equal consecutive items as [item, run length] pairs (run-length encoding)."""
    return [[key, sum(1 for _ in group)] for key, group in itertools.groupby(items)]


@catalog.tool("itertools.zip_longest", {"a": ["x", "y", "z"], "b": ["1"], "fillvalue": "-"},
              a=_WORDS, b=_WORDS)
def zip_longest(a: list[str], b: list[str], fillvalue: str = "") -> list[object]:
    """Pairs of items from both lists, the shorter one padded with fillvalue."""
    return _bounded(itertools.zip_longest(a, b, fillvalue=fillvalue))


# collections and functools


@catalog.tool("collections.counter", {"items": ["a", "b", "a", "c", "a", "b"]}, items=_WORDS)
def counter(items: list[str]) -> dict[str, int]:
    """Count how many times each item occurs."""
    return dict(collections.Counter(items))


@catalog.tool("collections.most_common", {"text": "the cat and the hat and the bat", "n": 2},
              n=ints(1, 1000))
def most_common(text: str, n: int = 5) -> list[list[object]]:
    """The n most common whitespace-separated words of a text with their counts."""
    return [[word, times] for word, times in collections.Counter(text.split()).most_common(n)]


@catalog.tool("collections.rotate", {"items": ["a", "b", "c", "d"], "n": 1}, items=_WORDS,
              n=ints(-10**6, 10**6))
def rotate(items: list[str], n: int) -> list[str]:
    """Rotate the list n steps to the right (to the left when n is negative), like a deque."""
    ring = collections.deque(items)
    ring.rotate(n)
    return list(ring)


@catalog.tool("functools.reduce", {"values": [1, 2, 3, 4], "operation": "mul"},
              values=items(min_items=1))
def reduce(values: list[float], operation: Literal["add", "mul", "max", "min"]) -> float:
    """Apply the operation cumulatively to the values, from left to right, to one value."""
    return functools.reduce(_checked(operation), values)
