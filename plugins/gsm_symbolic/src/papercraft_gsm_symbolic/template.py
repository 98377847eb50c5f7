"""Reading one annotated template (the GSM-Symbolic JSON format) into a checked structure.

Everything is parsed and checked when the file is read: slots, ``#init`` lines, conditions,
the answer expression and every ``{expression}`` of ``answer_annotated``. Names must be
helpers, pools or variables bound by ``#init`` (earlier lines only, inside ``#init``).
Any problem is one :class:`TemplateError` naming the file and the reason, also for hostile
input: files over :data:`MAX_FILE_BYTES`, JSON nested too deeply, more slots, lines or
``{expression}`` parts than the limits below allow. The patterns used to read a template run
in linear time (no backtracking blow-up on long lines).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft_gsm_symbolic.helpers import DRAWS, FUNCTIONS
from papercraft_gsm_symbolic.pools import POOLS
from papercraft_gsm_symbolic.safe_eval import Expression, ExpressionError, compile_expression

VARIANTS = ("symbolic", "p1", "p2", "noop", "m1")
"""Variants a folder name or a ``variant`` field may give."""
MAX_FILE_BYTES = 256 * 1024
"""Largest template file read (the published templates are a few kB)."""
MAX_FIELD_CHARS = 100_000
"""Longest ``question_annotated`` or ``answer_annotated``."""
MAX_LINES = 500
"""Most ``#init`` lines plus conditions."""
MAX_SLOTS = 1_000
"""Most ``{name,shown}`` slots in a question."""
MAX_ANSWER_PARTS = 1_000
"""Most ``{expression}`` parts in ``answer_annotated``."""

_SLOT = re.compile(r"\{\s*([A-Za-z_]\w*)\s*,([^{}]*)\}")
_INIT_HEADER = re.compile(r"(?m)^[ \t]*#init:[ \t]*$")
_ASSIGN = re.compile(  # one way to match each target list: no exponential backtracking
    r"^(?P<targets>(?:\$\s*)?[A-Za-z_]\w*(?:\s*,\s*(?:\$\s*)?[A-Za-z_]\w*)*)\s*=(?!=)"
    r"(?P<expr>.*)$"
)
_ANSWER = re.compile(r"^#answer\s*[:=]\s*(?P<expr>.*)$")
_FINAL_START = re.compile(r"####\s*\{")


class TemplateError(PapercraftError):
    """A template that cannot be read or sampled: one line naming the file and the reason."""

    exit_code = 1

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class Slot:
    """``{name,shown}`` in the question: the variable and the original text."""

    name: str
    shown: str
    start: int
    end: int


@dataclass(frozen=True)
class InitLine:
    """One ``- targets = expression`` line of ``#init``.

    ``draw`` is ``"sample"``/``"sample_sequential"`` when the whole right-hand side is such
    a call (then ``population`` and ``count`` are its arguments), else None.
    """

    source: str
    targets: tuple[str, ...]
    numeric: tuple[bool, ...]
    expr: Expression
    draw: str | None = None
    population: Expression | None = None
    count: Expression | None = None

    @property
    def names(self) -> frozenset[str]:
        """Variables the line reads."""
        return self.expr.names


@dataclass(frozen=True)
class Condition:
    """One ``#conditions`` line."""

    source: str
    expr: Expression


@dataclass
class Template:
    """A parsed, checked template."""

    path: Path
    id: str
    variant: str
    original_id: str
    question: str
    """The ``question`` field (may be empty)."""
    answer: str
    """The ``answer`` field (may be empty)."""
    body: str
    """``question_annotated`` before ``#init:``, slots included."""
    slots: list[Slot]
    init: list[InitLine]
    conditions: list[Condition]
    answer_expr: Expression
    answer_parts: list[str | Expression]
    final_expr: Expression
    checks: list[list[Condition]] = field(default_factory=list)
    """``checks[i]``: conditions that become checkable once init line ``i`` is bound."""
    constant_checks: list[Condition] = field(default_factory=list)
    m1: Any = None
    """The ``m1`` annotation (the clause GSM-M1 removes), unchecked; see :mod:`.m1`."""

    @property
    def key(self) -> str:
        """``variant/id``: unique in a template set, used in seeds and sample ids."""
        return f"{self.variant}/{self.id}"

    @property
    def variables(self) -> list[str]:
        """Every variable, in ``#init`` order."""
        return [t for line in self.init for t in line.targets]

    @property
    def shown(self) -> dict[str, str]:
        """The original text of each variable that has a slot (first slot wins)."""
        found: dict[str, str] = {}
        for slot in self.slots:
            found.setdefault(slot.name, slot.shown)
        return found


def _compile(source: str, shadowed: frozenset[str] = frozenset()) -> Expression:
    constants = POOLS if not shadowed else {k: v for k, v in POOLS.items() if k not in shadowed}
    return compile_expression(source, functions=FUNCTIONS, constants=constants)


def _split_answer_annotated(text: str) -> list[str]:
    """Literal text and ``{expression}`` sources, alternating (brace depth respected)."""
    parts: list[str] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "{":
            depth, j, quote = 1, i + 1, ""
            while j < len(text) and depth:
                c = text[j]
                if quote:
                    if c == quote:
                        quote = ""
                elif c in "'\"":
                    quote = c
                elif c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                j += 1
            if depth:
                raise ValueError(f"unclosed '{{' at character {i} of answer_annotated")
            parts.append("".join(literal))
            literal = []
            parts.append(text[i + 1:j - 1])
            i = j
        elif ch == "}":
            raise ValueError(f"unmatched '}}' at character {i} of answer_annotated")
        else:
            literal.append(ch)
            i += 1
    parts.append("".join(literal))
    return parts


def _final_expression(line: str) -> str | None:
    """The ``expr`` of ``#### {expr}`` ending ``line`` (linear time), else None."""
    stripped = line.rstrip()
    start = _FINAL_START.search(stripped)
    if start is None or not stripped.endswith("}") or start.end() > len(stripped) - 1:
        return None
    return stripped[start.end():-1]


def _targets(text: str) -> list[str]:
    match = _ASSIGN.match(text)
    if not match:
        return []
    return [t.strip().lstrip("$").strip() for t in match.group("targets").split(",")]


def _parse_init(text: str, shadowed: frozenset[str]) -> InitLine:
    match = _ASSIGN.match(text)
    if not match:
        raise ValueError(f"#init line is not 'name = expression': {text!r}")
    raw_targets = [t.strip() for t in match.group("targets").split(",")]
    targets = tuple(t.lstrip("$").strip() for t in raw_targets)
    numeric = tuple(t.startswith("$") for t in raw_targets)
    if any(numeric) and len(targets) > 1:
        numeric = (True,) * len(targets)
    source = match.group("expr").strip()
    for target in targets:
        if target.startswith("_"):
            raise ExpressionError(f"names starting with '_' are not allowed ({target!r})")
        if target in FUNCTIONS:
            raise ValueError(f"#init assigns to {target!r}, the name of a function")
    expr = _compile(source, shadowed)
    draw = population = count = None
    tree = ast.parse(source, mode="eval").body
    if (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)
            and tree.func.id in DRAWS and not tree.keywords and 1 <= len(tree.args) <= 2
            and not any(isinstance(a, ast.Starred) for a in tree.args)):
        draw = tree.func.id
        population = _compile(ast.unparse(tree.args[0]), shadowed)
        if len(tree.args) == 2:
            count = _compile(ast.unparse(tree.args[1]), shadowed)
        elif draw == "sample_sequential":
            raise ValueError(f"sample_sequential needs a count: {source!r}")
    return InitLine(text, targets, numeric, expr, draw, population, count)


def _clean_answer_expr(text: str) -> str:
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    return text.lstrip("$").strip()


def parse_template(data: dict[str, Any], path: Path, variant: str | None = None) -> Template:
    """Check and compile a template's JSON object; raises TemplateError."""
    try:
        return _parse(data, path, variant)
    except TemplateError:
        raise
    except (ExpressionError, ValueError, SyntaxError) as exc:
        raise TemplateError(path, str(exc)) from None
    except RecursionError:
        raise TemplateError(path, "nested too deeply to read") from None
    except MemoryError:
        raise TemplateError(path, "too large to read (out of memory)") from None


def _parse(data: dict[str, Any], path: Path, variant: str | None) -> Template:
    if not isinstance(data, dict):
        raise TemplateError(path, "not a JSON object")
    for key in ("question_annotated", "answer_annotated"):
        if not isinstance(data.get(key), str):
            raise TemplateError(path, f"missing the {key!r} field (a string)")
        if len(data[key]) > MAX_FIELD_CHARS:
            raise TemplateError(path, f"{key} is longer than {MAX_FIELD_CHARS} characters")
    annotated: str = data["question_annotated"]
    header = _INIT_HEADER.search(annotated)
    if header is None:
        raise TemplateError(path, "question_annotated has no '#init:' line")
    body = annotated[:header.start()].rstrip()
    slots = [Slot(m.group(1), m.group(2).strip(), m.start(), m.end()) for m in _SLOT.finditer(body)]
    if len(slots) > MAX_SLOTS:
        raise TemplateError(path, f"more than {MAX_SLOTS} slots in the question")
    leftover = _SLOT.sub("", body)
    if "{" in leftover or "}" in leftover:
        bad = re.search(r"\{[^{}]*\}?|\}", leftover)
        raise TemplateError(
            path, f"question slot is not {{name,shown}}: {bad.group(0) if bad else '{'!r}"
        )

    items: list[tuple[str, str, str]] = []  # (section, where, text)
    answer_source: str | None = None
    section = "init"
    for number, raw in enumerate(annotated[header.end():].splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        where = f"line {number} after #init"
        if line.startswith("#"):
            answer = _ANSWER.match(line)
            if answer:
                if answer_source is not None:
                    raise TemplateError(path, f"{where}: a second #answer line")
                answer_source = _clean_answer_expr(answer.group("expr"))
                section = "answer"
            elif re.match(r"^#conditions\s*:\s*$", line):
                section = "conditions"
            else:
                raise TemplateError(path, f"{where}: unknown section {line!r}")
            continue
        if not line.startswith("-"):
            raise TemplateError(path, f"{where}: expected '- ...', got {line!r}")
        if section == "answer":
            raise TemplateError(path, f"{where}: items after #answer")
        items.append((section, where, line[1:].strip()))
    if answer_source is None:
        raise TemplateError(path, "no '#answer:' line")
    if len(items) > MAX_LINES:
        raise TemplateError(path, f"more than {MAX_LINES} #init and #conditions lines")

    # A variable may share a pool's name; it then hides the pool in this template.
    defined = {t for s, _, text in items if s == "init" for t in _targets(text)}
    shadowed = frozenset(defined & set(POOLS))
    init: list[InitLine] = []
    conditions: list[Condition] = []
    for item_section, where, text in items:
        try:
            if item_section == "init":
                init.append(_parse_init(text, shadowed))
            else:
                conditions.append(Condition(text, _compile(text, shadowed)))
        except (ExpressionError, ValueError, SyntaxError) as exc:
            raise TemplateError(path, f"{where}: {exc}") from None
    try:
        answer_expr = _compile(answer_source, shadowed)
    except ExpressionError as exc:
        raise TemplateError(path, f"#answer: {exc}") from None

    # Each init line reads variables bound by earlier lines; a later line may rebind a
    # name (the last binding wins). Conditions and answers read any variable.
    bound: dict[str, int] = {}
    for index, line in enumerate(init):
        for name in sorted(line.names):
            if name not in bound:
                later = any(name in other.targets for other in init[index:])
                reason = "before it is defined" if later else (
                    "which is not a variable, function or pool")
                raise TemplateError(path, f"#init line {line.source!r} uses {name!r} {reason}")
        for target in line.targets:
            bound[target] = index

    def check_names(expr: Expression, where: str) -> None:
        for name in sorted(expr.names):
            if name not in bound:
                raise TemplateError(
                    path, f"{where} uses {name!r}, which is not a variable, function or pool"
                )

    for condition in conditions:
        check_names(condition.expr, f"condition {condition.source!r}")
    check_names(answer_expr, "#answer")
    for slot in slots:
        if slot.name not in bound:
            raise TemplateError(path, f"question slot {{{slot.name},...}} names no #init variable")

    answer_text: str = data["answer_annotated"]
    final = _final_expression(answer_text.rstrip().splitlines()[-1] if answer_text.strip()
                              else "")
    if final is None:
        raise TemplateError(path, "answer_annotated must end with '#### {expression}'")
    try:
        pieces = _split_answer_annotated(answer_text)
    except ValueError as exc:
        raise TemplateError(path, str(exc)) from None
    if len(pieces) // 2 > MAX_ANSWER_PARTS:
        raise TemplateError(path, f"more than {MAX_ANSWER_PARTS} {{expression}} parts in "
                            "answer_annotated")
    parts: list[str | Expression] = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            parts.append(piece)
            continue
        try:
            expr = _compile(piece, shadowed)
        except ExpressionError as exc:
            raise TemplateError(path, f"answer_annotated {{{piece}}}: {exc}") from None
        check_names(expr, f"answer_annotated {{{piece}}}")
        parts.append(expr)
    final_expr = parts[-2]
    assert isinstance(final_expr, Expression)

    checks: list[list[Condition]] = [[] for _ in init]
    constant_checks: list[Condition] = []
    for condition in conditions:
        if condition.expr.names:
            checks[max(bound[n] for n in condition.expr.names)].append(condition)
        else:
            constant_checks.append(condition)

    variant = variant or str(data.get("variant") or "symbolic")
    template_id = str(data.get("id") or path.stem)
    original = data.get("id_orig", template_id)
    return Template(
        path=path,
        id=template_id,
        variant=variant,
        original_id=str(original),
        question=str(data.get("question") or ""),
        answer=str(data.get("answer") or ""),
        body=body,
        slots=slots,
        init=init,
        conditions=conditions,
        answer_expr=answer_expr,
        answer_parts=parts,
        final_expr=final_expr,
        checks=checks,
        constant_checks=constant_checks,
        m1=data.get("m1"),
    )


def read_template(path: Path, variant: str | None = None) -> Template:
    """Read and check one template file; raises TemplateError."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(path, f"cannot read: {exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise TemplateError(path, f"larger than {MAX_FILE_BYTES // 1024} KiB (a template is a "
                            "few kB)")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TemplateError(path, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise TemplateError(path, "not valid JSON: nested too deeply") from None
    if variant is None and isinstance(data, dict) and data.get("variant") is None:
        variant = path.parent.name if path.parent.name in VARIANTS else None
    return parse_template(data, path, variant)
