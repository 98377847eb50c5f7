"""``papercraft plugins new``: render the plugin template (shipped in the package) with copier."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from papercraft.errors import PapercraftError

TEMPLATE_HOOKS = ("commands", "arithmetic", "demos")
"""Hooks the template can stub with a working example."""

_DIST_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def plugin_names(name: str) -> tuple[str, str, str]:
    """``my-paper`` -> (short name, distribution ``papercraft-my-paper``, package)."""
    short = name.strip()
    if short.lower().startswith("papercraft-"):
        short = short[len("papercraft-"):]
    if not _DIST_NAME.match(short):
        raise PapercraftError(
            f"invalid plugin name {name!r}: use lowercase letters, digits and single dashes, "
            "starting with a letter (e.g. 'my-paper')",
            exit_code=2,
        )
    return short, f"papercraft-{short}", "papercraft_" + short.replace("-", "_")


def installed_templates() -> tuple[Path, Path]:
    """Where the template sits: in the package (wheel), then the checkout (editable install)."""
    here = Path(__file__).resolve()
    return here.parent / "_plugin_template", here.parents[2] / "plugin-template"


def _is_template(folder: Path) -> bool:
    """Whether ``folder`` holds a copier template (a ``copier.yml``)."""
    return (folder / "copier.yml").is_file()


def find_template(explicit: Path | None = None) -> Path:
    """The template: ``explicit``, else ``PAPERCRAFT_TEMPLATE``, else the installed one."""
    if explicit is not None or os.environ.get("PAPERCRAFT_TEMPLATE"):
        chosen = Path(explicit if explicit is not None else os.environ["PAPERCRAFT_TEMPLATE"])
        if _is_template(chosen):
            return chosen
        origin = "--template" if explicit is not None else "PAPERCRAFT_TEMPLATE"
        raise PapercraftError(
            f"plugin template not found at {chosen} (from {origin}): no copier.yml there",
            exit_code=2,
        )
    packaged, checkout = installed_templates()
    for candidate in (packaged, checkout):
        if _is_template(candidate):
            return candidate
    raise PapercraftError(
        f"plugin template not found in the papercraft package ({packaged}); "
        "reinstall papercraft, pass --template or set PAPERCRAFT_TEMPLATE",
        exit_code=2,
    )


def render_plugin(
    name: str,
    *,
    output: Path | None = None,
    description: str = "A papercraft plugin.",
    author: str = "Anonymous",
    hooks: list[str] | None = None,
    template: Path | None = None,
) -> Path:
    """Render a new plugin project; refuses bad names and non-empty folders."""
    short, dist, package = plugin_names(name)
    hooks = ["commands", "demos"] if hooks is None else hooks
    unknown = sorted(set(hooks) - set(TEMPLATE_HOOKS))
    if unknown:
        raise PapercraftError(
            f"the template cannot stub {', '.join(unknown)}; choose from "
            f"{', '.join(TEMPLATE_HOOKS)}",
            exit_code=2,
        )
    target = Path(output) if output is not None else Path.cwd() / dist
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise PapercraftError(f"{target} exists and is not empty; nothing written", exit_code=2)
    source = find_template(template)
    try:
        from copier import run_copy
    except ImportError as exc:
        raise PapercraftError(
            "copier is not installed (papercraft depends on it): pip install 'copier>=9.3'"
        ) from exc
    created = not target.exists()
    try:
        run_copy(
            str(source),
            str(target),
            data={"name": short, "description": description, "author": author, "hooks": hooks},
            defaults=True,
            quiet=True,
            unsafe=False,
        )
    except Exception as exc:
        if created and target.exists():
            shutil.rmtree(target)
        raise PapercraftError(f"rendering the template failed: {exc}") from exc
    return target
