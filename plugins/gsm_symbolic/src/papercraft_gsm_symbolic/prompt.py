"""The 8-shot chain-of-thought prompt (exemplars written for papercraft, not from GSM8K).

Format of the paper's evaluation (the template in apple/ml-gsm-symbolic's README): the line
``As an expert problem solver, solve step by step the following mathematical questions.``,
then the shots ``Q: ...`` / ``A: Let's think step by step. ... The final answer is N.``,
separated by blank lines, the question last. Other exemplars (the standard GSM8K 8-shot
chain of thought) come from a JSONL file of question/answer, see :mod:`.shots`.
"""

from __future__ import annotations

from collections.abc import Sequence

INTRO = "As an expert problem solver, solve step by step the following mathematical questions."
"""The opening line of the paper's prompt."""
LEAD = "Let's think step by step."

EXEMPLARS: tuple[tuple[str, str], ...] = (
    (
        "A baker fills 6 trays with 14 rolls each. She sells 59 rolls in the morning. "
        "How many rolls are left?",
        "The trays hold 6 * 14 = 84 rolls. After selling 59 of them, 84 - 59 = 25 rolls are "
        "left. The final answer is 25.",
    ),
    (
        "Tomas reads 18 pages on Monday and twice as many pages on Tuesday. His book has 120 "
        "pages. How many pages does he still have to read?",
        "On Tuesday he reads 2 * 18 = 36 pages. Over both days he reads 18 + 36 = 54 pages. "
        "He still has 120 - 54 = 66 pages to read. The final answer is 66.",
    ),
    (
        "A bike rental costs $7 per hour plus a $5 helmet fee. Amara rents a bike for 4 hours. "
        "How much does she pay?",
        "Four hours cost 4 * 7 = 28 dollars. With the helmet fee she pays 28 + 5 = 33 "
        "dollars. The final answer is 33.",
    ),
    (
        "A school has 250 pencils and gives the same number to each of 8 classes, as many as "
        "it can. The pencils left over stay in the office. How many pencils stay in the "
        "office?",
        "Each class gets 31 pencils, because 8 * 31 = 248 and 8 * 32 = 256 is too many. The "
        "office keeps 250 - 248 = 2 pencils. The final answer is 2.",
    ),
    (
        "A garden has 3 rows of 12 tulips. A quarter of the tulips are red and the rest are "
        "yellow. How many yellow tulips are there?",
        "There are 3 * 12 = 36 tulips. A quarter of them, 36 / 4 = 9, are red. So "
        "36 - 9 = 27 are yellow. The final answer is 27.",
    ),
    (
        "Kofi saves $15 every week. He already has $40. How many weeks does he need to save "
        "to have $130?",
        "He needs 130 - 40 = 90 more dollars. At 15 dollars a week that takes 90 / 15 = 6 "
        "weeks. The final answer is 6.",
    ),
    (
        "A jacket costs $80. It is on sale for 25% off. How much does the jacket cost on sale?",
        "The discount is 80 * 25 / 100 = 20 dollars. The sale price is 80 - 20 = 60 dollars. "
        "The final answer is 60.",
    ),
    (
        "A train leaves at 9:15 in the morning and the trip takes 2 hours and 50 minutes. How "
        "many minutes after noon does the train arrive?",
        "The trip takes 2 * 60 + 50 = 170 minutes. From 9:15 to noon is 2 * 60 + 45 = 165 "
        "minutes. The train arrives 170 - 165 = 5 minutes after noon. The final answer is 5.",
    ),
)
"""(question, worked answer) pairs; every answer ends with 'The final answer is N.'"""


def build_prompt(question: str, shots: int = 8,
                 exemplars: Sequence[tuple[str, str]] | None = None) -> str:
    """The opening line, ``shots`` exemplars (ours by default), then ``Q: question`` and
    ``A: Let's think step by step.``"""
    pool = EXEMPLARS if exemplars is None else tuple(exemplars)
    if not 0 <= shots <= len(pool):
        raise ValueError(f"shots must be between 0 and {len(pool)}")
    blocks = [INTRO]
    blocks.extend(f"Q: {q}\nA: {LEAD} {a}" for q, a in pool[:shots])
    blocks.append(f"Q: {question.strip()}\nA: {LEAD}")
    return "\n\n".join(blocks)
