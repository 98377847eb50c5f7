"""Astute RAG (Wang et al., 2024) for papercraft: the `astute` strategy and its table."""

__version__ = "0.1.0"
