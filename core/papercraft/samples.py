"""Sample data shipped with the core, shared by every plugin that needs a text to score.

The files live in ``papercraft/data/`` (package data of the ``papercraft`` wheel).
"""

from __future__ import annotations

SAMPLE_TEXT_NAME = "sample.txt"
SAMPLE_TEXT_SOURCE = f"papercraft/data/{SAMPLE_TEXT_NAME}"
"""How reports name the sample text."""


def sample_text() -> str:
    """An original prose text on making paper by hand (873 words), for perplexity demos."""
    from importlib.resources import files

    return files("papercraft").joinpath("data", SAMPLE_TEXT_NAME).read_text(encoding="utf-8")
