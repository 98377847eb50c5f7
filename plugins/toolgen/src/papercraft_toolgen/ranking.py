"""NDCG@k of a ranked tool list: the standard definition and the official ToolGen code's variant.

Standard (:func:`ndcg`): binary relevance (a predicted tool is relevant when it is a gold
tool), gain ``1 / log2(rank + 1)`` at 1-based ``rank``, DCG over the first ``k`` predictions,
divided by the ideal DCG of ``min(k, |relevant|)`` gold tools at the top. A query without
gold tools scores 0.0 (there is nothing to find; this keeps the mean over queries defined).

Official (:func:`ndcg_official`): ToolGen's evaluation scripts (``evaluation/retrieval/
eval_toolgen.py``, ``eval_bm25.py``) build ``true_relevance`` over the tool vocabulary by
marking only the *predicted* tools that are gold (the loop that would mark every gold tool is
commented out), then call ``sklearn.metrics.ndcg_score``. The ideal DCG is therefore taken
over ``min(k, |predicted ∩ relevant|)`` items: a gold tool the retriever never returned is not
missed, it is ignored. Its candidate list is whatever the script scores (5 beams for ToolGen,
the top 100 hits for BM25 and embeddings), so a gold tool found at rank 50 raises the ideal
DCG@5 while one beyond the list does not count at all. With no gold tool among the
predictions the score is 0.0 (sklearn's convention for an all-zero ``y_true``). Predictions
carry distinct, strictly decreasing scores here (rank order), as in ``eval_toolgen.py``.

Both functions count a repeated prediction once, at its first rank.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _distinct(predicted: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    ranked = []
    for name in predicted:
        if name not in seen:
            seen.add(name)
            ranked.append(name)
    return ranked


def _dcg(hits: Sequence[bool]) -> float:
    return sum(1.0 / math.log2(rank + 2) for rank, hit in enumerate(hits) if hit)


def _ideal(count: int) -> float:
    return sum(1.0 / math.log2(rank + 2) for rank in range(count))


def ndcg(predicted: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Standard NDCG@k: binary relevance, log2 discount, ideal over min(k, |relevant|) gold."""
    _check_k(k)
    gold = set(relevant)
    if not gold:
        return 0.0
    ranked = _distinct(predicted)[:k]
    return _dcg([name in gold for name in ranked]) / _ideal(min(k, len(gold)))


def ndcg_official(predicted: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """The official ToolGen code's NDCG@k: gold tools absent from ``predicted`` are ignored."""
    _check_k(k)
    gold = set(relevant)
    ranked = _distinct(predicted)
    found = sum(1 for name in ranked if name in gold)
    if found == 0:
        return 0.0
    return _dcg([name in gold for name in ranked[:k]]) / _ideal(min(k, found))


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean (0.0 for no values)."""
    return sum(values) / len(values) if values else 0.0
