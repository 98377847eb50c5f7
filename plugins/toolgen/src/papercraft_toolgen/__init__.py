"""ToolGen (Wang et al., 2024) for papercraft: tools as vocabulary tokens, trained and decoded.

``papercraft_toolgen.ndcg(predicted, relevant, k)`` is the standard NDCG@k and
``papercraft_toolgen.ndcg_official`` the official evaluation code's variant (both pure Python,
from :mod:`papercraft_toolgen.ranking`).
"""

from papercraft_toolgen.ranking import ndcg, ndcg_official

__all__ = ["ndcg", "ndcg_official"]
__version__ = "0.1.0"
