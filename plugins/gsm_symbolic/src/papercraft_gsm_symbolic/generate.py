"""Drawing instances and checking templates (the work behind the commands)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from papercraft_gsm_symbolic.engine import (
    Instance,
    instance_seed,
    instantiate,
    make_instance,
    original_instance,
    render_question,
    sample_values,
)
from papercraft_gsm_symbolic.template import Template, TemplateError


def instances(template: Template, n: int, seed: int = 0, *,
              original: bool = False) -> list[Instance]:
    """Instances ``0..n-1`` of a template (plus the original first, when asked and readable)."""
    out: list[Instance] = []
    if original:
        try:
            out.append(original_instance(template))
        except (ValueError, TemplateError):
            pass
    out.extend(instantiate(template, i, seed) for i in range(n))
    return out


@dataclass
class CheckReport:
    """What ``check`` found in one template."""

    path: str
    variant: str = ""
    id: str = ""
    ok: bool = True
    error: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"path": self.path, "variant": self.variant, "id": self.id, "ok": self.ok,
                "error": self.error, "warnings": self.warnings}


def check_template(template: Template, n: int = 5, seed: int = 0) -> CheckReport:
    """Sample ``n`` instances and read the original values.

    Errors (the template is bad): an instance cannot be drawn, or ``#answer`` disagrees with
    the final ``#### {...}`` of ``answer_annotated``. Warnings: the shown values cannot be
    read or break a condition, or do not reproduce the ``question``/``answer`` fields.
    """
    report = CheckReport(str(template.path), template.variant, template.id)
    try:
        for i in range(n):
            env = sample_values(template, random.Random(instance_seed(seed, template, i)))
            make_instance(template, env, i)
    except TemplateError as exc:
        report.ok = False
        report.error = exc.reason
        return report
    try:
        original = original_instance(template)
    except (ValueError, TemplateError) as exc:
        report.warnings.append(f"original values: {getattr(exc, 'reason', exc)}")
        return report
    rendered = render_question(template, dict(original.values))
    if rendered != original.question:
        report.warnings.append("the shown values print differently from the slots' text")
    if template.question and template.question.strip() != original.question:
        report.warnings.append("the original values do not reproduce the 'question' field")
    if template.answer and template.answer.strip() != original.answer:
        report.warnings.append("the original values do not reproduce the 'answer' field")
    return report
