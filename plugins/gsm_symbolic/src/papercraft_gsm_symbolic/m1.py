"""GSM-M1: a GSM-Symbolic template with one clause removed (the paper's easier variant).

A template opts in with an ``m1`` annotation::

    "m1": {
      "remove": " and {t,11} in the afternoon",      # exact text of the question, slots included
      "replace": "",                                 # optional: what takes its place
      "conditions": ["s < n"],                       # optional: the M1 conditions
      "answer": "n - s",                             # the M1 #answer
      "answer_annotated": "... #### {n-s}"           # the M1 worked answer
    }

The removed variables are those with a slot in ``remove`` and none in the question that is
left. Their ``#init`` lines go (a line that also binds a kept variable stays); the conditions
are the annotation's, else the template's conditions that read no removed variable. The M1
template is then parsed like any other, so an answer, condition or worked answer that still
reads a removed variable is refused when the template is read: the M1 answer cannot depend
on the removed clause. Its ``question`` field is the template's ``question`` with the
clause's original text removed, so ``check`` compares it with the slots' rendering.
"""

from __future__ import annotations

from typing import Any

from papercraft_gsm_symbolic.template import (
    _SLOT,
    MAX_FIELD_CHARS,
    MAX_LINES,
    Template,
    TemplateError,
    parse_template,
)

VARIANT = "m1"
_KEYS = {"remove", "replace", "conditions", "answer", "answer_annotated"}


def _text(annotation: dict[str, Any], key: str, required: bool = True) -> str:
    value = annotation.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"'{key}' must be a non-empty string" if required
                         else f"'{key}' must be a string")
    if len(value) > MAX_FIELD_CHARS:
        raise ValueError(f"'{key}' is longer than {MAX_FIELD_CHARS} characters")
    return value


def _conditions(annotation: dict[str, Any]) -> list[str] | None:
    value = annotation.get("conditions")
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) > MAX_LINES
            or not all(isinstance(c, str) and c.strip() and "\n" not in c for c in value)):
        raise ValueError(f"'conditions' must be a list of at most {MAX_LINES} one-line strings")
    return [c.strip() for c in value]


def _shown_text(text: str) -> str:
    """``text`` with every slot showing its original value."""
    return _SLOT.sub(lambda m: m.group(2).strip(), text)


def _names(text: str) -> set[str]:
    return {m.group(1) for m in _SLOT.finditer(text)}


def derive_m1(template: Template) -> Template | None:
    """The M1 template of ``template`` (None without an ``m1`` annotation); TemplateError."""
    annotation = template.m1
    if annotation is None or template.variant != "symbolic":
        return None
    try:
        return _derive(template, annotation)
    except TemplateError as exc:
        raise TemplateError(template.path, f"m1 annotation: {exc.reason}") from None
    except ValueError as exc:
        raise TemplateError(template.path, f"m1 annotation: {exc}") from None


def _derive(template: Template, annotation: Any) -> Template:
    if not isinstance(annotation, dict):
        raise ValueError("must be a JSON object")
    unknown = sorted(set(annotation) - _KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    remove = _text(annotation, "remove")
    replace = _text(annotation, "replace", required=False)
    answer = _text(annotation, "answer")
    worked = _text(annotation, "answer_annotated")
    conditions = _conditions(annotation)
    if "\n" in answer:
        raise ValueError("'answer' must be one line")
    count = template.body.count(remove)
    if count != 1:
        raise ValueError(f"'remove' must occur exactly once in the question (found {count} "
                         f"times): {remove[:80]!r}")
    body = template.body.replace(remove, replace, 1)
    removed = _names(remove) - _names(body)
    if not removed and not _shown_text(remove).strip():
        raise ValueError("'remove' removes nothing")
    init = [line.source for line in template.init if not set(line.targets) <= removed]
    if conditions is None:
        conditions = [c.source for c in template.conditions if not c.expr.names & removed]
    annotated = body + "\n\n#init:\n" + "".join(f"- {line}\n" for line in init)
    if conditions:
        annotated += "\n#conditions:\n" + "".join(f"- {c}\n" for c in conditions)
    annotated += f"\n#answer: {answer.strip()}"
    question = ""
    if template.question:
        old, new = _shown_text(remove), _shown_text(replace)
        if template.question.count(old) == 1:
            question = template.question.replace(old, new, 1)
    data = {
        "question_annotated": annotated,
        "answer_annotated": worked,
        "question": question,
        "id": template.id,
        "id_orig": template.original_id,
        "variant": VARIANT,
    }
    return parse_template(data, template.path, VARIANT)
