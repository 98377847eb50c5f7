"""ToolGen (Wang et al., 2024) for papercraft: tools as vocabulary tokens, trained and decoded.

``papercraft_toolgen.ndcg(predicted, relevant, k)`` is the standard NDCG@k and
``papercraft_toolgen.ndcg_official`` the official evaluation code's variant (both pure Python,
from :mod:`papercraft_toolgen.ranking`, imported on first use so that registering the plugin
stays cheap).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ndcg", "ndcg_official"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in __all__:
        from papercraft_toolgen import ranking

        return getattr(ranking, name)
    raise AttributeError(f"module 'papercraft_toolgen' has no attribute {name!r}")
