"""Query sets with gold tools over the core ``stdlib`` toolset, and their builder.

Splits (rows: ``id``, ``query``, ``tools`` (gold names), ``source``):

- ``train``: two templated queries per tool built from its description and parameter names,
  and a third of the team-written natural queries;
- ``test-seen``: the training templates with other wording, for every tool;
- ``test-heldout``: a template structure training never sees, for every tool; two-tool
  queries joining two descriptions; the other natural queries (single and two-tool).

Deterministic: ``python -m papercraft_toolgen.queries`` rewrites ``data/*.jsonl`` from the
installed toolset; a test checks the shipped files match and that no test text is a train text.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError

SPLITS = ("train", "test-seen", "test-heldout")
DATA = Path(__file__).resolve().parent / "data"
PAIRS = 60
"""Two-tool templated queries in test-heldout."""

TRAIN_TEMPLATES = {
    "find": "Find a tool for this: {d}",
    "which": "Which function handles the following? {d} Inputs: {p}.",
}
SEEN_TEMPLATES = {  # the same two structures, other wording
    "find": "Look up a function for this: {d}",
    "which": "What tool takes care of the following? {d} Arguments: {p}.",
}
HELDOUT_TEMPLATE = "I have {p} and my goal is this: {dl} What should I call?"
PAIR_TEMPLATE = "Two things, please. First: {d1} Then: {d2}"

NATURAL: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # (split, query, gold tools)
    ("train", "What is the biggest number that divides both 84 and 126?", ("math.gcd",)),
    ("train", "Make this title all capital letters: quarterly report", ("str.upper",)),
    ("train", "How long is the word 'antidisestablishmentarianism'?", ("str.len",)),
    ("train", "Give me the average of my test scores 71, 88 and 93.", ("statistics.mean",)),
    ("train", "How many ways can I arrange 6 books on a shelf?", ("math.factorial",)),
    ("train", "Turn 'Hello World' backwards.", ("str.reverse",)),
    ("train", "What's the square root of 2 to a few decimals?", ("math.sqrt",)),
    ("train", "Convert 255 to hexadecimal notation.", ("builtins.hex",)),
    ("train", "Swap every 'cat' for 'dog' in my sentence.", ("str.replace",)),
    ("train", "Is 'level' the same read forwards and backwards?", ("str.is_palindrome",)),
    ("train", "Pick a random whole number between 1 and 6 like a die.", ("random.randint",)),
    ("train", "What is 17 modulo 5?", ("operator.mod",)),
    ("train", "How spread out are these numbers around their mean: 2, 4, 4, 5?",
     ("statistics.stdev",)),
    ("train", "Split 'a,b,c' at the commas.", ("str.split",)),
    ("train", "Find every number written in 'order 12 costs 40 dollars'.", ("re.findall",)),
    ("train", "How similar are the strings 'kitten' and 'sitting' as a ratio?",
     ("difflib.ratio",)),
    ("train", "Convert 180 degrees to radians.", ("math.radians",)),
    ("train", "Tell me the Unicode name of the character é.", ("unicodedata.name",)),
    ("train", "Sort these numbers from small to large: 5, 3, 9, 1.", ("builtins.sorted",)),
    ("train", "What is the middle value of 3, 1, 7, 9, 5?", ("statistics.median",)),
    ("test-heldout", "What's the smallest number both 4 and 6 divide evenly?", ("math.lcm",)),
    ("test-heldout", "How many 5-card hands can be dealt from 52 cards?", ("math.comb",)),
    ("test-heldout", "Make 'the old man and the sea' look like a book title.", ("str.title",)),
    ("test-heldout", "Remove the spaces around '   padded   '.", ("str.strip",)),
    ("test-heldout", "What number shows up most often in 1, 2, 2, 3, 2?", ("statistics.mode",)),
    ("test-heldout", "Which is the largest of 14, 3 and 27?", ("builtins.max",)),
    ("test-heldout", "What is 2 to the power 10 modulo 1000?", ("builtins.pow_mod",)),
    ("test-heldout", "Write 10 in binary.", ("builtins.bin",)),
    ("test-heldout", "What character has code point 65?", ("builtins.chr",)),
    ("test-heldout", "Round pi to 3 decimal places.", ("builtins.round",)),
    ("test-heldout", "Sine of 0.5 radians?", ("math.sin",)),
    ("test-heldout", "Natural log of 10, please.", ("math.log",)),
    ("test-heldout", "How many times does 'a' appear in 'banana'?", ("str.count",)),
    ("test-heldout", "Does 'report.pdf' end with '.pdf'?", ("str.endswith",)),
    ("test-heldout", "Pad 42 with zeros to 5 digits.", ("str.zfill",)),
    ("test-heldout", "Count the words in 'to be or not to be'.", ("str.word_count",)),
    ("test-heldout", "Is 'while' a reserved word in Python?", ("keyword.iskeyword",)),
    ("test-heldout", "Quote this for a shell command: my file.txt", ("shlex.quote",)),
    ("test-heldout", "Reduce the fraction 42/56.", ("fractions.simplify",)),
    ("test-heldout", "Convert pure red (1, 0, 0) from RGB to HSV.", ("colorsys.rgb_to_hsv",)),
    ("test-heldout", "How strongly do 1,2,3,4 and 2,4,5,8 move together (Pearson)?",
     ("statistics.correlation",)),
    ("test-heldout", "Pick one name at random from Ann, Bo and Cy.", ("random.choice",)),
    ("test-heldout", "Strip the accents from 'café crème'.", ("unicodedata.strip_accents",)),
    ("test-heldout", "Hypotenuse of a right triangle with legs 3 and 4?", ("math.hypot",)),
    ("test-heldout", "Wrap this paragraph at 20 characters per line.", ("textwrap.wrap",)),
    ("test-heldout", "Average of 3, 5 and 10, then round it to one decimal.",
     ("statistics.mean", "builtins.round")),
    ("test-heldout", "Uppercase 'hello' and tell me its length.", ("str.upper", "str.len")),
    ("test-heldout", "Greatest common divisor of 48 and 36, then its factorial.",
     ("math.gcd", "math.factorial")),
    ("test-heldout", "Reverse 'stressed' and check whether it is a palindrome.",
     ("str.reverse", "str.is_palindrome")),
    ("test-heldout", "Square root of 50, then round down to an integer.",
     ("math.sqrt", "math.floor")),
    ("test-heldout", "Median of 4, 8, 1 and the largest of them too.",
     ("statistics.median", "builtins.max")),
    ("test-heldout", "Convert 90 degrees to radians and take the cosine.",
     ("math.radians", "math.cos")),
    ("test-heldout", "Replace dashes with spaces in 'a-b-c' and title-case it.",
     ("str.replace", "str.title")),
    ("test-heldout", "Hex of 4096 and binary of 5.", ("builtins.hex", "builtins.bin")),
    ("test-heldout", "Split 'x y z' into words and join them with commas.",
     ("str.split", "str.join")),
    ("test-heldout", "Standard deviation of 1, 2, 3, 4 and their variance.",
     ("statistics.stdev", "statistics.variance")),
    ("test-heldout", "Lowercase 'HeLLo' and count the letter 'l'.", ("str.lower", "str.count")),
    ("test-heldout", "Least common multiple of 4 and 10, and 2 to the 10 mod 7.",
     ("math.lcm", "builtins.pow_mod")),
    ("test-heldout", "Code point of 'A' and the character after it.",
     ("builtins.ord", "builtins.chr")),
    ("test-heldout", "Find all digits in 'r2d2' and sum them.", ("re.findall", "builtins.sum")),
)


def _params(tool: Any) -> str:
    names = list(tool.parameters.get("properties", {}))
    return ", ".join(names) if names else "no inputs"


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _row(split: str, index: int, query: str, tools: Sequence[str], source: str) -> dict:
    return {"id": f"{split}-{index:04d}", "query": query, "tools": list(tools), "source": source}


def build(tools: Sequence[Any], seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """The three splits over ``tools`` (Tool objects), deterministic for a tool list and seed.

    A test query whose text is also a train text is left out of the test split.
    """
    names = {tool.name for tool in tools}
    missing = sorted({n for _, _, gold in NATURAL for n in gold} - names)
    if missing:
        raise PapercraftError(f"natural queries name unknown tools: {', '.join(missing)}", 2)
    raw: dict[str, list[tuple[str, tuple[str, ...], str]]] = {s: [] for s in SPLITS}
    for tool in tools:
        d, p = _sentence(tool.description), _params(tool)
        for key, template in TRAIN_TEMPLATES.items():
            raw["train"].append((template.format(d=d, p=p), (tool.name,), f"template:{key}"))
        for key, template in SEEN_TEMPLATES.items():
            raw["test-seen"].append((template.format(d=d, p=p), (tool.name,), f"template:{key}"))
        raw["test-heldout"].append((HELDOUT_TEMPLATE.format(p=p, dl=_lower_first(d)),
                                    (tool.name,), "template:heldout"))
    rng = random.Random(seed)
    for _ in range(PAIRS):
        first, second = rng.sample(list(tools), 2)
        query = PAIR_TEMPLATE.format(d1=_sentence(first.description),
                                     d2=_lower_first(_sentence(second.description)))
        raw["test-heldout"].append((query, (first.name, second.name), "template:pair"))
    for split, query, gold in NATURAL:
        raw[split].append((query, gold, "natural"))
    train_texts = {query for query, _, _ in raw["train"]}
    splits: dict[str, list[dict[str, Any]]] = {}
    for split in SPLITS:
        seen: set[str] = set()
        rows = []
        for query, gold, source in raw[split]:
            if query in seen or (split != "train" and query in train_texts):
                continue
            seen.add(query)
            rows.append(_row(split, len(rows), query, gold, source))
        splits[split] = rows
    return splits


def stdlib_tools() -> list[Any]:
    """The tools of the core ``stdlib`` toolset, through the registry."""
    from papercraft.plugins import PluginManager
    from papercraft.tools.resolve import load_toolset

    manager = PluginManager()
    manager.load_defaults()
    return list(load_toolset(manager, "stdlib").tools())


def load_queries(split: str) -> list[dict[str, Any]]:
    """The shipped rows of ``split`` (train, test-seen, test-heldout)."""
    if split not in SPLITS:
        raise PapercraftError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}", 2)
    text = resources.files("papercraft_toolgen").joinpath(f"data/{split}.jsonl").read_text(
        encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write(folder: Path = DATA, tools: Sequence[Any] | None = None) -> dict[str, int]:
    """Build the splits from the stdlib toolset and write them as JSONL; returns row counts."""
    from papercraft.fileio import write_jsonl_atomic

    splits = build(stdlib_tools() if tools is None else tools)
    for split, rows in splits.items():
        write_jsonl_atomic(folder / f"{split}.jsonl", rows)
    return {split: len(rows) for split, rows in splits.items()}


if __name__ == "__main__":
    print(write())
