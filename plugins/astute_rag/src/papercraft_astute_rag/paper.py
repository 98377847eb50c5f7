"""The Astute RAG paper's headline figures, set beside ours by ``astute-rag table``.

Wang et al. (2024), arXiv 2410.07176: Claude 3.5 Sonnet and Gemini 1.5 Pro on NQ, TriviaQA,
BioASQ and PopQA with 10 passages per question from Google Search. The relative improvements
and the conflict figure are as reported for the paper (abstract and its summaries); the
worst-case statement is the abstract's.
"""

from __future__ import annotations

from typing import Any

RELATIVE_IMPROVEMENT = {"Claude 3.5 Sonnet": 6.85, "Gemini 1.5 Pro": 4.13}
"""Astute RAG's overall accuracy over the best baseline, relative, in percent."""
WORST_CASE = ("Astute RAG is the only RAG method at or above No RAG when no retrieved "
              "passage is useful")
CONFLICTS_RESOLVED = 0.80
"""Share of internal/external knowledge conflicts Astute RAG answers correctly (about)."""


def figures() -> dict[str, Any]:
    """The paper's figures as table.json stores them."""
    return {
        "relative_improvement_percent": dict(RELATIVE_IMPROVEMENT),
        "worst_case": WORST_CASE,
        "conflicts_resolved": CONFLICTS_RESOLVED,
        "source": "Wang et al. 2024, Astute RAG, arXiv 2410.07176",
    }
