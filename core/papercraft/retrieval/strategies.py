"""The core's RAG strategies: ``no-rag`` (the model alone) and ``vanilla`` (passages in the prompt).

Both make one model call and ask for the answer inside ``<ANSWER>`` tags; a response without
them falls back to its first line (``extra["fallback"]`` is then True). Subclass
:class:`VanillaRAG` and override :meth:`VanillaRAG.arrange` to change the order the passages
are shown in, or :meth:`VanillaRAG.prompt` to change the wording.
"""

from __future__ import annotations

from collections.abc import Sequence

from papercraft.models.base import GenerationParams, Message, Model
from papercraft.retrieval.base import Answer, Strategy
from papercraft.retrieval.corpus import Passage
from papercraft.retrieval.prompting import extract_answer, format_passages

ANSWER_FORMAT = (
    "Give only the short answer (a name, a number or a few words) between <ANSWER> and "
    "</ANSWER>."
)


def ask_once(
    model: Model, messages: list[Message], params: GenerationParams
) -> tuple[str, bool, str]:
    """One chat call: the extracted answer, whether it was tagged, and the raw response."""
    response = model.generate([messages], params)[0].text
    answer, tagged = extract_answer(response)
    return answer, tagged, response


class NoRAG(Strategy):
    """Answers from the model's own knowledge; the passages are ignored."""

    name = "no-rag"
    uses_retrieval = False

    def prompt(self, question: str) -> list[Message]:
        """The one user message: the question and the answer format."""
        return [{"role": "user", "content": (
            f"Answer the question from your own knowledge. {ANSWER_FORMAT}\n\n"
            f"Question: {question.strip()}"
        )}]

    def answer(self, question: str, passages: Sequence[Passage], model: Model,
               params: GenerationParams) -> Answer:
        """One model call on the question alone; no sources."""
        text, tagged, response = ask_once(model, self.prompt(question), params)
        return Answer(text, self.name, sources=[], calls=1,
                      extra={"fallback": not tagged, "response": response})


class VanillaRAG(Strategy):
    """The passages, numbered in rank order, then the question: one model call."""

    name = "vanilla"
    uses_retrieval = True

    def arrange(self, passages: Sequence[Passage]) -> list[Passage]:
        """The order the passages appear in the prompt (here: as ranked, best first)."""
        return list(passages)

    def prompt(self, question: str, passages: Sequence[Passage]) -> list[Message]:
        """The one user message: instructions, the numbered passages, the question."""
        return [{"role": "user", "content": (
            f"Answer the question using the passages. {ANSWER_FORMAT}\n\n"
            f"Passages:\n{format_passages(passages)}\n\n"
            f"Question: {question.strip()}"
        )}]

    def answer(self, question: str, passages: Sequence[Passage], model: Model,
               params: GenerationParams) -> Answer:
        """One model call on the arranged passages; sources are the passages given."""
        shown = self.arrange(passages)
        text, tagged, response = ask_once(model, self.prompt(question, shown), params)
        extra: dict[str, object] = {"fallback": not tagged, "response": response}
        order = [p.id for p in shown]
        if order != [p.id for p in passages]:
            extra["order"] = order
        return Answer(text, self.name, sources=[p.id for p in passages], calls=1, extra=extra)


def create_no_rag() -> NoRAG:
    """The factory of the ``no-rag`` record (it takes no options)."""
    return NoRAG()


def create_vanilla() -> VanillaRAG:
    """The factory of the ``vanilla`` record (it takes no options)."""
    return VanillaRAG()
