"""Plugins and their neighbours: no distribution imports another one it does not declare.

For every distribution of this repository (the core, ``native/``, ``tui/``, each
``plugins/*``), every ``import papercraft_X`` / ``from papercraft_X ...`` in its sources
(at module level or inside a function), every ``importlib.import_module("papercraft_X...")``
and every lazy record reference ``"papercraft_X.module:attr"`` must name its own package or
a distribution listed in its dependencies or optional dependencies (DESIGN.md, "Plugins and
their neighbours").
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r"(papercraft_\w+)(\.[\w.]+)?:[\w.]+")
REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    """A distribution name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Distribution:
    """One pyproject.toml of the repository: its name, packages, sources and declared deps."""

    name: str
    packages: frozenset[str]
    sources: tuple[Path, ...]
    declared: frozenset[str]


def read_distribution(project_dir: Path, source_dir: Path) -> Distribution:
    """The distribution whose pyproject.toml is in ``project_dir``, its code in ``source_dir``."""
    project = tomllib.loads((project_dir / "pyproject.toml").read_text())["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    declared = set()
    for requirement in requirements:
        match = REQUIREMENT_NAME.match(requirement)
        if match:
            declared.add(canonical(match.group(1)))
    packages = frozenset(p.parent.name for p in source_dir.glob("*/__init__.py"))
    sources = tuple(sorted(p for package in packages for p in (source_dir / package).rglob("*.py")))
    return Distribution(canonical(project["name"]), packages, sources, frozenset(declared))


def repository_distributions(root: Path = ROOT) -> list[Distribution]:
    """The core, native/, tui/ and every plugins/* distribution of the checkout at ``root``."""
    found = [read_distribution(root, root / "core")]
    for project_dir in [root / "native", root / "tui", *sorted((root / "plugins").glob("*"))]:
        if (project_dir / "pyproject.toml").is_file():
            found.append(read_distribution(project_dir, project_dir / "src"))
    return found


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) for each absolute import, import_module call and record reference."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (name in ("import_module", "__import__") and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)):
                found.append((node.lineno, first.value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = REFERENCE.fullmatch(node.value.strip())
            if match:
                found.append((node.lineno, match.group(1) + (match.group(2) or "")))
    return sorted(found)


def undeclared_imports(dist: Distribution, owners: dict[str, str], root: Path = ROOT) -> list[str]:
    """``path:line: module`` for each import of another distribution ``dist`` does not declare.

    ``owners`` maps each top-level package of the repository to its distribution.
    """
    problems = []
    for path in dist.sources:
        for line, module in imported_modules(path.read_text(encoding="utf-8")):
            top = module.split(".")[0]
            owner = owners.get(top)
            if owner is None or top in dist.packages or owner in dist.declared:
                continue
            where = path.relative_to(root) if path.is_relative_to(root) else path
            problems.append(f"{where}:{line}: imports {module} ({owner} is not declared)")
    return problems


def package_owners(dists: list[Distribution]) -> dict[str, str]:
    """Top-level package -> distribution name."""
    return {package: d.name for d in dists for package in d.packages}


DISTRIBUTIONS = repository_distributions()


def test_every_distribution_is_found() -> None:
    names = {d.name for d in DISTRIBUTIONS}
    assert {"papercraft", "papercraft-native", "papercraft-tui", "papercraft-lmul",
            "papercraft-hf"} <= names
    assert all(d.packages and d.sources for d in DISTRIBUTIONS)


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.name)
def test_no_undeclared_imports(dist: Distribution) -> None:
    problems = undeclared_imports(dist, package_owners(DISTRIBUTIONS))
    assert not problems, "\n".join(problems)


def test_paper_plugins_never_import_each_other() -> None:
    """Only infrastructure (the core, native, hf) may be declared by a paper plugin."""
    infrastructure = {"papercraft", "papercraft-native", "papercraft-hf"}
    plugins = {canonical(d.name) for d in DISTRIBUTIONS} - infrastructure - {"papercraft-tui"}
    for dist in DISTRIBUTIONS:
        if dist.name in plugins:
            assert not (dist.declared & (plugins - {dist.name})), dist.name


def _write_project(folder: Path, name: str, dependencies: list[str], code: str) -> None:
    package = "papercraft_" + name.removeprefix("papercraft-").replace("-", "_")
    (folder / "src" / package).mkdir(parents=True)
    (folder / "src" / package / "__init__.py").write_text(code)
    deps = ", ".join(f'"{d}"' for d in dependencies)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0"\ndependencies = [{deps}]\n'
    )


def test_the_walker_finds_an_undeclared_import(tmp_path: Path) -> None:
    (tmp_path / "core" / "papercraft").mkdir(parents=True)
    (tmp_path / "core" / "papercraft" / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "papercraft"\n')
    _write_project(tmp_path / "plugins" / "hf", "papercraft-hf", ["papercraft"], "")
    _write_project(tmp_path / "native", "papercraft-native", [], "")
    code = (
        "import papercraft\n"
        "def run():\n"
        "    from papercraft_hf.commands import x\n"
        "    import papercraft_native\n"
        "RUN = 'papercraft_hf.demo:run'\n"
        "DOC = 'uses papercraft_hf.demo:run lazily'\n"
    )
    _write_project(tmp_path / "plugins" / "a", "papercraft-a", ["papercraft", "numpy"], code)
    _write_project(tmp_path / "plugins" / "b", "papercraft-b",
                   ["papercraft", "papercraft-hf", "papercraft_native>=0.1"], code)
    dists = repository_distributions(tmp_path)
    owners = package_owners(dists)
    by_name = {d.name: d for d in dists}
    problems = undeclared_imports(by_name["papercraft-a"], owners, tmp_path)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "imports papercraft_hf.commands (papercraft-hf is not declared)",
        "imports papercraft_native (papercraft-native is not declared)",
        "imports papercraft_hf.demo (papercraft-hf is not declared)",
    ]
    assert undeclared_imports(by_name["papercraft-b"], owners, tmp_path) == []
