"""Finding templates: ``builtin`` (ours), one file, or a folder (Apple's ``templates/`` works).

A template's variant comes from its ``variant`` field, else from the folder it sits in
(``symbolic``, ``p1``, ``p2``, ``noop``, ``m1``), else it is ``symbolic``. A GSM-Symbolic
template with an ``m1`` annotation also gives its GSM-M1 template (see :mod:`.m1`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from papercraft.errors import PapercraftError
from papercraft_gsm_symbolic.m1 import derive_m1
from papercraft_gsm_symbolic.template import Template, TemplateError, read_template

BUILTIN = "builtin"
APPLE_VARIANTS = ("symbolic", "p1", "p2")
"""The variants Apple released templates and generated data for."""


def builtin_dir() -> Path:
    """The folder of the templates shipped with this plugin."""
    return Path(str(resources.files("papercraft_gsm_symbolic") / "templates"))


@dataclass
class TemplateSet:
    """What a source held: the good templates and one error per bad file."""

    source: str
    templates: list[Template] = field(default_factory=list)
    errors: list[TemplateError] = field(default_factory=list)

    def variant(self, name: str) -> list[Template]:
        """The templates of one variant."""
        return [t for t in self.templates if t.variant == name]

    def raise_first(self) -> None:
        """Raise the first error, with how many more there are."""
        if self.errors:
            first = self.errors[0]
            more = len(self.errors) - 1
            if more:
                raise TemplateError(first.path, f"{first.reason} (and {more} more bad "
                                    "template(s); `papercraft gsm-symbolic check` lists them)")
            raise first


def resolve_source(source: str | Path) -> Path:
    """``builtin`` or an existing file/folder; anything else is a usage error (exit 2)."""
    if str(source) == BUILTIN:
        return builtin_dir()
    path = Path(source).expanduser()
    if not path.exists():
        raise PapercraftError(
            f"no such template file or folder: {source} (use '{BUILTIN}' for ours, or a path "
            "such as ml-gsm-symbolic/templates)",
            exit_code=2,
        )
    return path


def template_files(path: Path) -> list[Path]:
    """The ``*.json`` files of a file or folder (recursively, sorted)."""
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*.json") if p.is_file())
    if not files:
        raise PapercraftError(f"no template files (*.json) in {path}", exit_code=2)
    return files


def load_templates(source: str | Path = BUILTIN) -> TemplateSet:
    """Read every template of ``source``; bad ones are collected, not raised."""
    path = resolve_source(source)
    found = TemplateSet(str(source))
    for file in template_files(path):
        try:
            found.templates.append(read_template(file))
        except TemplateError as exc:
            found.errors.append(exc)
    for template in list(found.templates):
        try:
            derived = derive_m1(template)
        except TemplateError as exc:
            found.errors.append(exc)
            continue
        if derived is not None:
            found.templates.append(derived)
    keys: dict[str, Path] = {}
    for template in list(found.templates):
        if template.key in keys:
            found.templates.remove(template)
            found.errors.append(TemplateError(
                template.path, f"same variant and id ({template.key}) as {keys[template.key]}"))
        else:
            keys[template.key] = template.path
    return found


def missing_variant_message(variant: str, source: str) -> str:
    """Why ``source`` has no ``variant`` templates, and what to use instead."""
    message = (f"no {variant!r} templates in {source} (a folder named {variant}/ or a "
               "'variant' field marks them")
    if variant == "m1":
        message += ("; GSM-M1 templates come from the 'm1' annotation of GSM-Symbolic "
                    "templates: most of ours have one, Apple's do not, and Apple released no "
                    "GSM-M1 templates: use templates=builtin")
    elif variant not in APPLE_VARIANTS:
        message += (f"; Apple released templates for {', '.join(APPLE_VARIANTS)} only, no "
                    f"GSM-{variant.capitalize() if variant != 'noop' else 'NoOp'} templates: "
                    "use templates=builtin (ours) or write your own")
    return message + ")"
