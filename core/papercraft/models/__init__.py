"""The model layer every LLM-using plugin calls: records, resolution, caching, clients."""

from papercraft.models.base import (
    Completion,
    GenerationParams,
    Message,
    Model,
    PerplexityResult,
)

__all__ = ["Completion", "GenerationParams", "Message", "Model", "PerplexityResult"]
