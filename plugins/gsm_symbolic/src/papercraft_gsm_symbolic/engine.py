"""Instantiating a template: seeded sampling under the conditions, and rendering.

Sampling goes through ``#init`` in order. A line whose right-hand side is ``sample(list)``
or evaluates to a list, tuple or range draws one member; ``sample(list, k)`` draws ``k``
members at distinct positions and ``sample_sequential(list, k)`` ``k`` consecutive ones
(both unpacked into the line's names); anything else is a plain value. Each condition is
checked as soon as its last variable is bound. For a one-member draw the engine first tries
a few uniform draws, then walks the list in a random order: the value kept is uniform among
the members that meet the conditions checkable at that line. When no member does (or a
``k``-draw fails :data:`K_DRAW_TRIES` times), the whole instance starts again. After
:data:`MAX_RESTARTS` restarts or :data:`MAX_EVALUATIONS` condition checks the template is
reported as unsatisfiable.

Limits: drawing one instance, and rendering it, each run under a :data:`MAX_SECONDS` deadline
that the evaluator checks *inside* every expression (see ``safe_eval``); each variable may
hold at most :data:`MAX_ENV_BYTES` (all of an instance's variables together too) nested at
most ``MAX_DEPTH`` deep; a rendered question or answer is at most ``MAX_TEXT`` characters.
Past a limit the template gets one :class:`TemplateError` saying which.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from papercraft_gsm_symbolic.pools import word_number
from papercraft_gsm_symbolic.safe_eval import (
    RNG_KEY,
    ArithmeticProblem,
    Env,
    Expression,
    ExpressionError,
    time_limit,
)
from papercraft_gsm_symbolic.template import Condition, InitLine, Template, TemplateError
from papercraft_gsm_symbolic.values import (
    MAX_TEXT,
    TooLarge,
    Worded,
    brief,
    footprint,
    format_number,
    is_number,
    numbers_equal,
    show,
)

QUICK_TRIES = 8
"""Uniform draws tried before walking a list in random order."""
K_DRAW_TRIES = 64
"""Tries of a ``sample(list, k)`` / ``sample_sequential`` line before restarting."""
MAX_RESTARTS = 50_000
"""Restarts of one instance before the template is reported unsatisfiable."""
MAX_EVALUATIONS = 2_000_000
"""Condition checks for one instance before the template is reported unsatisfiable."""
MAX_SECONDS = 60.0
"""Wall-clock seconds for one instance, checked inside every evaluation too."""
MAX_ENV_BYTES = 8 * 2**20
"""Bytes the variables of one instance may hold (each one and all together)."""


@dataclass
class Instance:
    """One instantiation: the values, the question, the worked answer and its number."""

    template: Template
    index: int | None
    """Instance number (the instantiation set); None for the original values."""
    values: dict[str, Any]
    question: str
    answer: str
    target: Any

    @property
    def target_text(self) -> str:
        """The answer number as printed (``42``, ``2.5``)."""
        return format_number(self.target)

    def row(self) -> dict[str, Any]:
        """A JSON-ready row (what ``generate`` writes)."""
        t = self.template
        instance = "original" if self.index is None else self.index
        return {
            "id": f"{t.variant}-{t.id}-{instance}",
            "instance": instance,
            "question": self.question,
            "answer": self.answer,
            "target": self.target_text,
            "original_id": t.original_id,
            "variant": t.variant,
            "template": t.id,
        }


def instance_seed(seed: int, template: Template, index: int) -> str:
    """The seed of instance ``index`` of ``template`` (independent of other templates)."""
    return f"gsm-symbolic:{seed}:{template.key}:{index}"


# ------------------------------------------------------------------ sampling
class _Search:
    """Bookkeeping of one instance's search: budget and the conditions that fail."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.deadline = time.monotonic() + MAX_SECONDS
        self.evaluations = 0
        self.failures: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()
        self.sizes: dict[str, int] = {}
        """Bytes held by each variable of the instance being drawn."""

    def holds(self, conditions: Sequence[Condition], env: Env) -> bool:
        for condition in conditions:
            self.evaluations += 1
            try:
                ok = bool(condition.expr(env))
            except ArithmeticProblem as exc:
                self.problems[f"{condition.source!r}: {exc}"] += 1
                ok = False
            except ExpressionError as exc:
                raise TemplateError(
                    self.template.path, f"condition {condition.source!r}: {exc}"
                ) from None
            if not ok:
                self.failures[condition.source] += 1
                return False
        return True

    def exhausted(self) -> bool:
        return self.evaluations > MAX_EVALUATIONS or time.monotonic() > self.deadline

    def reason(self, restarts: int) -> str:
        text = (f"conditions could not be met in {restarts} tries "
                f"({self.evaluations} condition checks)")
        if time.monotonic() > self.deadline:
            text += f" within {MAX_SECONDS:g} seconds"
        if self.failures:
            worst, _ = self.failures.most_common(1)[0]
            text += f"; most often false: {worst!r}"
        if self.problems:
            text += f"; errors: {self.problems.most_common(1)[0][0]}"
        return text


def _convert(line: InitLine, position: int, value: Any, template: Template) -> Any:
    if not line.numeric[position]:
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2 and is_number(value[1]):
        word = value[0] if isinstance(value[0], str) else format_number(value[0])
        return Worded(word, value[1])
    if isinstance(value, bool) or not is_number(value):
        raise TemplateError(
            template.path,
            f"${line.targets[position]} must be a number, got {brief(value)} "
            f"({line.source!r})",
        )
    return value


def _store(name: str, value: Any, env: Env, sizes: dict[str, int], line: InitLine,
           template: Template) -> None:
    """Bind ``name`` after checking what it holds against MAX_ENV_BYTES and MAX_DEPTH."""
    sizes.pop(name, None)
    left = MAX_ENV_BYTES - sum(sizes.values())
    try:
        sizes[name] = footprint(value, left)
    except TooLarge as exc:
        raise TemplateError(template.path, f"#init {line.source!r}: {name} would hold a "
                            f"{exc} (limit {MAX_ENV_BYTES // 2**20} MiB per instance)") from None
    env[name] = value


def _assign(line: InitLine, value: Any, env: Env, template: Template,
            sizes: dict[str, int]) -> None:
    if len(line.targets) == 1:
        _store(line.targets[0], _convert(line, 0, value, template), env, sizes, line, template)
        return
    if not isinstance(value, (tuple, list)) or len(value) != len(line.targets):
        raise TemplateError(
            template.path,
            f"{line.source!r}: cannot unpack {brief(value)} into {len(line.targets)} names",
        )
    for position, (name, item) in enumerate(zip(line.targets, value, strict=True)):
        _store(name, _convert(line, position, item, template), env, sizes, line, template)


def _evaluate(expr: Expression, env: Env, template: Template, where: str) -> Any:
    try:
        return expr(env)
    except ArithmeticProblem:
        raise
    except ExpressionError as exc:
        raise TemplateError(template.path, f"{where}: {exc}") from None


def _random_order(rng: random.Random, n: int) -> Iterator[int]:
    """Indices 0..n-1 in a uniformly random order, produced lazily (Fisher-Yates)."""
    swapped: dict[int, int] = {}
    for j in range(n):
        r = rng.randrange(j, n)
        picked = swapped.get(r, r)
        swapped[r] = swapped.get(j, j)
        yield picked


def _domain(line: InitLine, env: Env, template: Template) -> tuple[str, Any]:
    """("one", list) for a one-member draw, ("k", None) for k-draws, ("value", v) else."""
    where = f"#init {line.source!r}"
    if line.draw == "sample" and line.count is None:
        assert line.population is not None
        population = _evaluate(line.population, env, template, where)
        if not isinstance(population, (list, tuple, range, str)):
            raise TemplateError(template.path,
                                f"{where}: sample needs a list, got {brief(population)}")
        return "one", population
    if line.draw is not None:
        return "k", None
    value = _evaluate(line.expr, env, template, where)
    if len(line.targets) == 1 and isinstance(value, (list, tuple, range)):
        return "one", value
    return "value", value


def _bind(line: InitLine, checks: list[Condition], env: Env, rng: random.Random,
          search: _Search, template: Template) -> bool:
    kind, value = _domain(line, env, template)
    if kind == "value":
        _assign(line, value, env, template, search.sizes)
        return search.holds(checks, env)
    if kind == "k":
        for _ in range(K_DRAW_TRIES):
            drawn = _evaluate(line.expr, env, template, f"#init {line.source!r}")
            _assign(line, drawn, env, template, search.sizes)
            if search.holds(checks, env):
                return True
            if search.exhausted():
                return False
        return False
    population: Sequence[Any] = value
    try:
        size = len(population)
    except OverflowError:
        raise TemplateError(template.path, f"#init {line.source!r}: the list is too long to "
                            "draw from") from None
    if size == 0:
        raise ArithmeticProblem(f"{line.source!r} draws from an empty list")
    if not checks:
        _assign(line, population[rng.randrange(size)], env, template, search.sizes)
        return True
    for _ in range(QUICK_TRIES):
        _assign(line, population[rng.randrange(size)], env, template, search.sizes)
        if search.holds(checks, env):
            return True
    for index in _random_order(rng, size):
        _assign(line, population[index], env, template, search.sizes)
        if search.holds(checks, env):
            return True
        if search.exhausted():
            return False
    if _self_contained(line, checks):
        raise TemplateError(
            template.path,
            f"no value of {line.targets[0]} from {line.source!r} meets "
            + " and ".join(repr(c.source) for c in checks),
        )
    return False


_RANDOM = frozenset({"sample", "sample_sequential", "shuffle_list", "np.random.randint"})
"""Helpers whose result changes from draw to draw."""


def _self_contained(line: InitLine, checks: list[Condition]) -> bool:
    """True when a failed scan of ``line`` proves the template unsatisfiable."""
    if line.names or line.expr.calls & {"shuffle_list", "np.random.randint"}:
        return False
    return all(c.expr.names <= set(line.targets) for c in checks)


def sample_values(template: Template, rng: random.Random) -> Env:
    """Values for every variable that meet every condition; raises TemplateError."""
    with time_limit(MAX_SECONDS):
        return _sample_values(template, rng)


def _sample_values(template: Template, rng: random.Random) -> Env:
    search = _Search(template)
    if template.constant_checks and not search.holds(template.constant_checks, {RNG_KEY: rng}):
        raise TemplateError(template.path, f"condition {search.failures.most_common(1)[0][0]!r} "
                            "is never true")
    restarts = 0
    while restarts < MAX_RESTARTS and not search.exhausted():
        restarts += 1
        env: Env = {RNG_KEY: rng}
        search.sizes = {}
        line = None
        try:
            for line, checks in zip(template.init, template.checks, strict=True):
                if not _bind(line, checks, env, rng, search, template):
                    break
            else:
                return env
        except ArithmeticProblem as exc:
            if line is not None and not line.names and not line.expr.calls & _RANDOM:
                raise TemplateError(template.path, f"#init {line.source!r}: {exc}") from None
            search.problems[str(exc)] += 1
    raise TemplateError(template.path, search.reason(restarts))


# ----------------------------------------------------------------- rendering
def _shown(value: Any, in_question: bool, used: int, template: Template, where: str) -> str:
    """``show(value)`` within what is left of MAX_TEXT; TemplateError past it."""
    try:
        return show(value, in_question=in_question, limit=max(MAX_TEXT - used, 0))
    except TooLarge as exc:
        raise TemplateError(template.path, f"{where}: {exc}") from None


def render_question(template: Template, env: Env) -> str:
    """The question with each slot showing its variable (a worded number shows its words)."""
    out: list[str] = []
    used = last = 0
    for slot in template.slots:
        out.append(template.body[last:slot.start])
        used += len(out[-1])
        out.append(_shown(env[slot.name], True, used, template,
                          f"question slot {{{slot.name},...}}"))
        used += len(out[-1])
        last = slot.end
    out.append(template.body[last:])
    return "".join(out).strip()


def render_answer(template: Template, env: Env) -> str:
    """``answer_annotated`` with every ``{expression}`` evaluated (numbers as printed)."""
    out: list[str] = []
    used = 0
    with time_limit(MAX_SECONDS):
        for part in template.answer_parts:
            if isinstance(part, str):
                out.append(part)
                used += len(part)
                continue
            try:
                value = part(env)
            except ExpressionError as exc:
                raise TemplateError(template.path,
                                    f"answer_annotated {{{part.source}}}: {exc}") from None
            out.append(_shown(value, False, used, template,
                              f"answer_annotated {{{part.source}}}"))
            used += len(out[-1])
    return "".join(out).strip()


def _answer_value(template: Template, env: Env, label: str) -> Any:
    try:
        value = template.answer_expr(env)
        final = template.final_expr(env)
    except ExpressionError as exc:
        raise TemplateError(template.path, f"{label}: #answer: {exc}") from None
    if isinstance(value, bool) or not is_number(value):
        raise TemplateError(template.path,
                            f"{label}: #answer is not a number: {brief(value)}")
    if isinstance(final, bool) or not is_number(final) or not numbers_equal(value, final):
        raise TemplateError(
            template.path,
            f"{label}: #answer gives {format_number(value)} but answer_annotated ends with "
            f"#### {_shown(final, False, 0, template, '#answer')[:200]}",
        )
    return value


def make_instance(template: Template, env: Env, index: int | None,
                  question: str | None = None) -> Instance:
    """Render an instance from bound values; checks #answer against the final '####'."""
    label = "original values" if index is None else f"instance {index}"
    with time_limit(MAX_SECONDS):
        target = _answer_value(template, env, label)
    values = {k: v for k, v in env.items() if k != RNG_KEY}
    return Instance(
        template=template,
        index=index,
        values=values,
        question=question if question is not None else render_question(template, env),
        answer=render_answer(template, env),
        target=target,
    )


def instantiate(template: Template, index: int, seed: int = 0) -> Instance:
    """Instance ``index`` of ``template`` for ``seed`` (deterministic)."""
    rng = random.Random(instance_seed(seed, template, index))
    return make_instance(template, sample_values(template, rng), index)


# ------------------------------------------------------------ original values
_NUMBER = re.compile(r"^[-+]?\d[\d,]*(\.\d+)?$|^[-+]?\.\d+$")
_FRACTION = re.compile(r"^(\d+)\s*/\s*(\d+)$")


def parse_number(text: str) -> Any:
    """A number written in a slot: ``12``, ``1,000``, ``1.5``, ``1/2``, ``twice``; else None."""
    text = text.strip()
    if _NUMBER.match(text):
        cleaned = text.replace(",", "")
        return float(cleaned) if "." in cleaned else int(cleaned)
    fraction = _FRACTION.match(text)
    if fraction and int(fraction.group(2)):
        return Fraction(int(fraction.group(1)), int(fraction.group(2)))
    return word_number(text)


def _members(population: Any) -> Sequence[Any]:
    if isinstance(population, (list, tuple)):
        return population
    return ()


def _shown_value(line: InitLine, position: int, shown: str, env: Env,
                 template: Template) -> Any:
    """The value a slot's text stands for, looked up in the line's list where possible."""
    members: Sequence[Any] = ()
    probe = {**env, RNG_KEY: random.Random(0)}
    try:
        kind, value = _domain(line, probe, template)
        if kind == "one":
            members = _members(value)
        elif line.population is not None:
            members = _members(line.population(probe))
    except (ExpressionError, TemplateError):
        members = ()
    for member in members:
        candidate = member
        if line.numeric[position] and isinstance(member, (tuple, list)) and len(member) == 2:
            candidate = _convert(line, position, member, template)
        if isinstance(candidate, Worded) and candidate.word == shown:
            return candidate
        if isinstance(candidate, str) and candidate == shown:
            return candidate
    parsed = parse_number(shown)
    numeric_list = bool(members) and all(is_number(m) for m in members)
    if line.numeric[position] or numeric_list:
        if parsed is None:
            raise ValueError(f"slot {{{line.targets[position]},{shown}}}: not a number")
        for member in members:
            if isinstance(member, Worded) and numbers_equal(member.value, parsed):
                return Worded(shown, member.value)
        return parsed
    return shown


def original_values(template: Template) -> Env:
    """The values the slots show; variables without a slot are solved from the conditions.

    Raises ValueError when a slot's text cannot be read as its variable's value or no value
    of an unshown variable meets the conditions.
    """
    with time_limit(MAX_SECONDS):
        return _original_values(template)


def _original_values(template: Template) -> Env:
    shown = template.shown
    env: Env = {}
    for line in template.init:
        for position, name in enumerate(line.targets):
            if name in shown:
                env[name] = _shown_value(line, position, shown[name], env, template)
    search = _Search(template)
    for line in template.init:
        missing = [n for n in line.targets if n not in shown]
        if not missing:
            continue
        if len(line.targets) != 1:
            raise ValueError(f"cannot solve {', '.join(missing)} (no slot shows them)")
        name = line.targets[0]
        env.pop(name, None)
        ready = [c for c in template.conditions
                 if name in c.expr.names and c.expr.names <= set(env) | {name}]
        probe = {**env, RNG_KEY: random.Random(0)}
        try:
            kind, value = _domain(line, probe, template)
        except ArithmeticProblem as exc:
            raise ValueError(f"cannot solve {name}: {exc}") from None
        if kind == "value":
            env[name] = _convert(line, 0, value, template)
            continue
        if kind == "k":
            raise ValueError(f"cannot solve {name} (no slot shows it)")
        for member in value:
            env[name] = _convert(line, 0, member, template)
            if search.holds(ready, env):
                break
        else:
            raise ValueError(f"no value of {name} meets the conditions with the shown values")
    env[RNG_KEY] = random.Random(0)
    for condition in template.conditions:
        try:
            ok = bool(condition.expr(env))
        except ArithmeticProblem as exc:
            raise ValueError(f"condition {condition.source!r}: {exc}") from None
        if not ok:
            raise ValueError(f"the shown values break condition {condition.source!r}")
    return env


def original_question(template: Template) -> str:
    """The question exactly as written: every slot shows its original text."""
    out: list[str] = []
    last = 0
    for slot in template.slots:
        out.append(template.body[last:slot.start])
        out.append(slot.shown)
        last = slot.end
    out.append(template.body[last:])
    return "".join(out).strip()


def original_instance(template: Template) -> Instance:
    """The original problem: the question as written, the answer from the shown values.

    Raises ValueError when the original values cannot be read (see original_values).
    """
    env = original_values(template)
    try:
        return make_instance(template, env, None, question=original_question(template))
    except TemplateError as exc:
        raise ValueError(exc.reason) from None
