"""Long-Context LLMs Meet RAG (Jin et al., 2024) for papercraft: retrieval reordering and studies.

``reorder(items)`` is the paper's order [d1, d3, d5, ..., d6, d4, d2]; the ``reorder`` RAG
strategy uses it, ``papercraft longctx-rag curve|negatives`` run the paper's two studies.
"""

from papercraft_longctx_rag.reorder import reorder

__all__ = ["__version__", "reorder"]

__version__ = "0.1.0"
