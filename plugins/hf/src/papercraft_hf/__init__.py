"""papercraft-hf: local causal LMs with transformers on torch.

The registration lives in :mod:`papercraft_hf.plugin` (imports nothing heavy);
the model in :mod:`papercraft_hf.model`, loading and caching in
:mod:`papercraft_hf.loading`, swappable attention in :mod:`papercraft_hf.attention`.
"""

__version__ = "0.1.0"
