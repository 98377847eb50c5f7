"""What the paper reports, to print beside our figures (only what we could check in its text).

Jin, Yoon, Han, Arik: "Long-Context LLMs Meet RAG: Overcoming Challenges for Long Inputs in
RAG", arXiv 2410.05983 (2024). Checked against the abstract and the caption of Fig. 1; the
other findings are given qualitatively, as the issue and the paper's summary state them.
"""

from __future__ import annotations

from typing import Any

CITATION = "Jin et al. 2024, arXiv 2410.05983"

PAPER: dict[str, dict[str, Any]] = {
    "curve": {
        "source": CITATION,
        "findings": [
            "For many long-context LLMs, output quality first improves, then declines as the "
            "number of retrieved passages grows (an inverted U; abstract, Fig. 1: 4 LLMs on NQ).",
            "The decline is steeper with the retriever of higher recall: e5 (Recall@40 0.90) "
            "against BM25 (Recall@40 0.73) (Fig. 1 caption).",
            "Retrieval reordering, a training-free fix, helps; its gain grows with the number "
            "of retrieved passages (qualitative; no numbers quoted here).",
        ],
    },
    "negatives": {
        "source": CITATION,
        "findings": [
            "The paper traces the decline to retrieved 'hard negatives': passages that look "
            "relevant but do not hold the answer mislead the model (abstract).",
            "Negatives from a stronger retriever hurt more than those of a weaker retriever or "
            "random passages (qualitative; no numbers quoted here).",
        ],
    },
}


def footnote(study: str) -> str:
    """The paper's findings for ``study`` as a few ``Paper:`` lines."""
    entry = PAPER[study]
    lines = [f"Paper ({entry['source']}):"]
    lines += [f"  - {finding}" for finding in entry["findings"]]
    return "\n".join(lines)
