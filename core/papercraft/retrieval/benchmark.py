"""The ``rag-qa`` benchmark: retrieve k passages per question, change them per setting, answer.

Per question the solve step retrieves with the chosen retriever (indexed once per task,
through the index cache), builds the passage list of the setting, hands it to the chosen RAG
strategy and scores the strategy's answer by alias matching. Settings:

- ``clean``: the k retrieved passages as ranked.
- ``worst``: no gold passage and no passage whose title or text holds an answer; the k best
  of the rest.
- ``conflict``: ``clean`` with its last non-gold passage replaced by the question's
  counterfactual passage (another entity's value in the gold passage's sentence), put at a
  seeded random rank.
- ``gold-hard``: the gold passage and the k-1 best retrieved non-gold passages.
- ``gold-random``: the gold passage and k-1 random non-gold passages of the corpus.

In the gold settings the gold passage sits at a seeded random rank. Seeds come from the run
seed and the question id, so a resumed run rebuilds the same lists. Questions a setting cannot
pose (no gold passage, no counterfactual) are left out and counted in the task config.
Parameters not listed in :func:`create_task` go to the strategy's factory; ``retriever_X``
parameters go to the retriever's as ``X``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from papercraft.errors import PapercraftError
from papercraft.evaluation.task import Sample, Task, stratified_subset
from papercraft.models.base import GenerationParams
from papercraft.retrieval.corpus import Corpus, Passage, load_corpus
from papercraft.retrieval.qa import (
    QAItem,
    answer_matches,
    check_gold_ids,
    load_ctxs_dataset,
    load_questions,
    shipped_corpus_path,
    shipped_questions_path,
)

if TYPE_CHECKING:
    from papercraft.evaluation.solve import Solution, SolveContext
    from papercraft.retrieval.base import Retriever, Strategy

SETTINGS = ("clean", "worst", "conflict", "gold-hard", "gold-random")
MAX_TOKENS = 48
"""Answer length unless the strategy has a ``max_tokens`` attribute of its own."""
RETRIEVER_PREFIX = "retriever_"
COUNTERFACTUAL_SUFFIX = "~counterfactual"


# ------------------------------------------------------------------ passage lists
def rng_for(seed: int, question_id: str, setting: str) -> random.Random:
    """The generator of one question's list: stable across runs and resumes."""
    return random.Random(f"{seed}:{setting}:{question_id}")


def answer_bearing(passage: Passage, item: QAItem) -> bool:
    """True when ``passage`` is gold for ``item`` or its title or text holds an answer."""
    return passage.id in item.gold_ids or answer_matches(passage.display(), item.answers)


def counterfactual_passage(item: QAItem, corpus: Corpus) -> Passage:
    """The question's counterfactual as a passage titled like its gold passage."""
    gold = corpus.get(item.gold_ids[0]) if item.gold_ids and item.gold_ids[0] in corpus else None
    base = gold.id if gold is not None else item.id
    return Passage(f"{base}{COUNTERFACTUAL_SUFFIX}", str(item.meta["counterfactual_text"]),
                   gold.title if gold is not None else "", {"counterfactual": True})


def _at_random_rank(passage: Passage, others: Sequence[Passage], rng: random.Random
                    ) -> list[Passage]:
    rank = rng.randrange(len(others) + 1)
    return [*others[:rank], passage, *others[rank:]]


def clean_list(ranked: Sequence[Passage], k: int) -> list[Passage]:
    """The k best retrieved passages."""
    return list(ranked[:k])


def worst_list(ranked: Sequence[Passage], item: QAItem, k: int) -> list[Passage]:
    """The k best passages that neither are gold nor hold an answer (``ranked`` runs deep)."""
    return [p for p in ranked if not answer_bearing(p, item)][:k]


def conflict_list(ranked: Sequence[Passage], item: QAItem, counterfactual: Passage, k: int,
                  rng: random.Random) -> list[Passage]:
    """The k best with the last non-gold one replaced by ``counterfactual`` at a random rank."""
    top = list(ranked[:k])
    if len(top) >= k:
        drop = next((i for i in range(len(top) - 1, -1, -1) if top[i].id not in item.gold_ids),
                    len(top) - 1)
        del top[drop]
    return _at_random_rank(counterfactual, top, rng)


def gold_hard_list(ranked: Sequence[Passage], item: QAItem, corpus: Corpus, k: int,
                   rng: random.Random) -> list[Passage]:
    """The gold passage and the k-1 best retrieved non-gold passages, gold at a random rank."""
    others = [p for p in ranked if p.id not in item.gold_ids][: k - 1]
    return _at_random_rank(corpus.get(item.gold_ids[0]), others, rng)


def gold_random_list(item: QAItem, corpus: Corpus, k: int, rng: random.Random
                     ) -> list[Passage]:
    """The gold passage and k-1 random non-gold passages, gold at a random rank."""
    pool = [p for p in corpus.passages if p.id not in item.gold_ids]
    others = rng.sample(pool, min(k - 1, len(pool)))
    return _at_random_rank(corpus.get(item.gold_ids[0]), others, rng)


# ------------------------------------------------------------------ parameters
def _parse_k(value: Any) -> int:
    try:
        k = int(str(value).strip())
    except ValueError:
        raise PapercraftError(f"rag-qa: k must be a whole number, got {value!r}", 2) from None
    if k < 1:
        raise PapercraftError(f"rag-qa: k must be at least 1, got {k}", 2)
    return k


def _path(value: str, what: str) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise PapercraftError(f"rag-qa: {what} file {value} does not exist"
                              if not path.exists() else f"rag-qa: {what} {value} is not a file", 2)
    return path


def _poseable(item: QAItem, setting: str, corpus: Corpus) -> bool:
    if setting.startswith("gold-"):
        return bool(item.gold_ids) and item.gold_ids[0] in corpus
    if setting == "conflict":
        return isinstance(item.meta.get("counterfactual_text"), str)
    return True


# ------------------------------------------------------------------ the task
class RagQATask(Task):
    """Open-domain QA through a retriever and a RAG strategy, in one of five settings."""

    name = "rag-qa"
    mode = "chat"
    metric = "accuracy"

    def __init__(self, strategy: str = "vanilla", retriever: str = "bm25", k: str | int = "5",
                 setting: str = "clean", corpus: str = "", questions: str = "",
                 dataset: str = "", *, manager: Any | None = None, **options: str) -> None:
        if setting not in SETTINGS:
            raise PapercraftError(f"rag-qa: unknown setting {setting!r}; "
                                  f"available: {', '.join(SETTINGS)}", 2)
        self.setting = setting
        self.k = _parse_k(k)
        self.strategy_name = strategy
        self.retriever_name = retriever
        self.retriever_options = {key[len(RETRIEVER_PREFIX):]: value
                                  for key, value in options.items()
                                  if key.startswith(RETRIEVER_PREFIX)}
        self.strategy_options = {key: value for key, value in options.items()
                                 if not key.startswith(RETRIEVER_PREFIX)}
        self.corpus, items, self.sources = self._load(corpus, questions, dataset)
        self.items = [item for item in items if _poseable(item, setting, self.corpus)]
        self.left_out = len(items) - len(self.items)
        if not self.items:
            need = "a counterfactual" if setting == "conflict" else "a gold passage"
            raise PapercraftError(f"rag-qa: none of the {len(items)} questions can be posed in "
                                  f"setting {setting!r} (it needs {need} per question)", 2)
        self._by_id = {item.id: item for item in self.items}
        self._manager = manager
        self._lock = threading.Lock()
        self._built: dict[int, tuple[Strategy, Retriever | None]] = {}
        self._indexed: set[int] = set()
        self._strategy, _ = self._resolve(manager)  # unknown names and options: exit 2 now

    @staticmethod
    def _load(corpus: str, questions: str, dataset: str
              ) -> tuple[Corpus, list[QAItem], dict[str, str]]:
        dataset_path = _path(dataset, "dataset")
        if dataset_path is not None:
            if corpus or questions:
                raise PapercraftError("rag-qa: give either dataset or corpus/questions", 2)
            loaded, items = load_ctxs_dataset(dataset_path)
            return loaded, items, {"dataset": str(dataset_path)}
        corpus_path = _path(corpus, "corpus") or shipped_corpus_path()
        questions_path = _path(questions, "questions") or shipped_questions_path()
        loaded = load_corpus(corpus_path)
        items = load_questions(questions_path)
        check_gold_ids(items, loaded)
        return loaded, items, {"corpus": corpus or "shipped", "questions": questions or "shipped"}

    def _resolve(self, manager: Any | None) -> tuple[Strategy, Retriever | None]:
        """The strategy and the unindexed retriever, built from ``manager`` (or the env's)."""
        from papercraft.retrieval.resolve import load_retriever, load_strategy

        if manager is None:
            if self._manager is None:
                from papercraft.plugins import PluginManager

                self._manager = PluginManager.from_env()
            manager = self._manager
        key = id(manager)
        with self._lock:
            if key not in self._built:
                strategy = load_strategy(manager, self.strategy_name, **self.strategy_options)
                retriever = (load_retriever(manager, self.retriever_name,
                                            **self.retriever_options)
                             if strategy.uses_retrieval else None)
                self._built[key] = (strategy, retriever)
            return self._built[key]

    def _ready(self, manager: Any | None) -> tuple[Strategy, Retriever | None]:
        """The strategy and the retriever with its index of the corpus (built once)."""
        from papercraft.retrieval.index_cache import indexed

        strategy, retriever = self._resolve(manager)
        if retriever is not None:
            with self._lock:
                if id(retriever) not in self._indexed:
                    indexed(retriever, self.corpus)
                    self._indexed.add(id(retriever))
        return strategy, retriever

    # -------------------------------------------------------------- samples
    def samples(self) -> list[Sample]:
        """One sample per question, in file order."""
        return [
            Sample(id=item.id, prompt=item.question, target=item.answers[0],
                   metadata={"category": str(item.meta.get("category", "all")),
                             "difficulty": item.meta.get("difficulty"),
                             "answers": list(item.answers), "gold_ids": list(item.gold_ids)})
            for item in self.items
        ]

    def subset(self, limit: int, seed: int = 0) -> list[Sample]:
        """``limit`` questions with every category represented."""
        return stratified_subset(self.samples(), limit, lambda s: s.metadata["category"], seed)

    def generation(self) -> GenerationParams:
        """Greedy, 48 tokens (or the strategy's own ``max_tokens``)."""
        return GenerationParams(max_tokens=int(getattr(self._strategy, "max_tokens", None)
                                               or MAX_TOKENS))

    def config(self) -> dict[str, Any]:
        """Every parameter, the corpus digest and how many questions the setting left out."""
        return {
            "strategy": self.strategy_name, "retriever": self.retriever_name, "k": self.k,
            "setting": self.setting, **self.sources, "corpus_digest": self.corpus.digest,
            "passages": len(self.corpus), "questions_total": len(self.items) + self.left_out,
            "left_out": self.left_out, "strategy_options": dict(self.strategy_options),
            "retriever_options": dict(self.retriever_options),
            "max_tokens": self.generation().max_tokens,
        }

    # -------------------------------------------------------------- one question
    def passages_for(self, item: QAItem, retriever: Retriever | None, seed: int
                     ) -> tuple[list[Passage], Passage | None]:
        """The setting's passage list for ``item`` and its counterfactual passage (or None)."""
        from papercraft.retrieval.search import retrieve

        rng = rng_for(seed, item.id, self.setting)
        if self.setting == "gold-random":
            return gold_random_list(item, self.corpus, self.k, rng), None
        if retriever is None:
            raise PapercraftError(f"rag-qa: setting {self.setting!r} needs a retriever")
        if self.setting == "worst":
            depth = min(len(self.corpus), 4 * self.k + 16)
            ranked = retrieve(retriever, self.corpus, item.question, depth)
            chosen = worst_list(ranked, item, self.k)
            if len(chosen) < self.k and depth < len(self.corpus):
                ranked = retrieve(retriever, self.corpus, item.question, len(self.corpus))
                chosen = worst_list(ranked, item, self.k)
            return chosen, None
        depth = self.k + len(item.gold_ids) if self.setting == "gold-hard" else self.k
        ranked = retrieve(retriever, self.corpus, item.question, depth)
        if self.setting == "gold-hard":
            return gold_hard_list(ranked, item, self.corpus, self.k, rng), None
        if self.setting == "conflict":
            counterfactual = counterfactual_passage(item, self.corpus)
            return conflict_list(ranked, item, counterfactual, self.k, rng), counterfactual
        return clean_list(ranked, self.k), None

    def solve(self, sample: Sample, ctx: SolveContext) -> Solution:
        """Retrieve, apply the setting, let the strategy answer; the lists go into ``extra``."""
        from papercraft.evaluation.solve import Solution

        item = self._by_id[sample.id]
        strategy, retriever = self._ready(ctx.manager)
        passages: list[Passage] = []
        counterfactual = None
        if strategy.uses_retrieval:
            passages, counterfactual = self.passages_for(item, retriever, ctx.seed)
        answer = strategy.answer(item.question, passages, ctx.model, ctx.params)
        extra: dict[str, Any] = {
            "passages": [p.id for p in passages],
            "gold_in_passages": any(p.id in item.gold_ids for p in passages),
            "sources": list(answer.sources),
            "confidence": answer.confidence,
            "strategy_calls": answer.calls,
            "fallback": bool(answer.extra.get("fallback", False)),
            "strategy_extra": answer.extra,
        }
        if self.setting == "conflict":
            wrong = list(item.meta.get("counterfactual_answers")
                         or [str(item.meta.get("counterfactual", ""))])
            right = answer_matches(answer.answer, item.answers)
            followed = answer_matches(answer.answer, [w for w in wrong if w])
            extra["counterfactual"] = {"id": counterfactual.id if counterfactual else None,
                                       "answers": wrong}
            extra["conflict_resolved"] = right and not followed
            extra["followed_counterfactual"] = followed and not right
        return Solution(answer.answer, extra=extra)

    # -------------------------------------------------------------- scoring
    def parse(self, response: str, sample: Sample) -> str | None:
        """The strategy's answer, stripped (None when empty)."""
        return response.strip() or None

    def score(self, parsed: str | None, sample: Sample) -> float:
        """1.0 when an answer alias occurs in the answer, else 0.0."""
        if parsed is None:
            return 0.0
        return 1.0 if answer_matches(parsed, sample.metadata["answers"]) else 0.0

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Accuracy per category and difficulty; retrieval, fallback and conflict rates."""
        metrics: dict[str, Any] = {
            "by_category": _mean_by(records, "category"),
        }
        by_difficulty = _mean_by([r for r in records if r["metadata"].get("difficulty")],
                                 "difficulty")
        if by_difficulty:
            metrics["by_difficulty"] = by_difficulty
        solved = [r.get("extra") for r in records if isinstance(r.get("extra"), dict)]
        if solved:
            metrics["gold_in_passages"] = _fraction(solved, "gold_in_passages")
            metrics["fallback"] = _fraction(solved, "fallback")
            metrics["strategy_calls"] = round(
                sum(float(e.get("strategy_calls") or 0) for e in solved) / len(solved), 4)
            if self.setting == "conflict":
                metrics["conflict_resolved"] = _fraction(solved, "conflict_resolved")
                metrics["followed_counterfactual"] = _fraction(solved, "followed_counterfactual")
        return metrics


def _mean_by(records: Sequence[dict[str, Any]], key: str) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for record in records:
        groups.setdefault(str(record["metadata"].get(key)), []).append(float(record["score"]))
    return {name: round(sum(scores) / len(scores), 4) for name, scores in sorted(groups.items())}


def _fraction(extras: Sequence[dict[str, Any]], key: str) -> float:
    return round(sum(1 for e in extras if e.get(key)) / len(extras), 4)


def create_task(strategy: str = "vanilla", retriever: str = "bm25", k: str = "5",
                setting: str = "clean", corpus: str = "", questions: str = "",
                dataset: str = "", **options: str) -> RagQATask:
    """The factory of the ``rag-qa`` record (every value a string from ``-p``)."""
    return RagQATask(strategy=strategy, retriever=retriever, k=k, setting=setting,
                     corpus=corpus, questions=questions, dataset=dataset, **options)
