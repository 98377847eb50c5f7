"""The retrieval area: corpora, retrievers (with cached indexes) and RAG strategies."""
