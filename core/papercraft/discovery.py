"""Find entry points without importing importlib.metadata (it costs ~20 ms at start-up).

Scans the path entries the way ``importlib.metadata.entry_points()`` does and gives the
same answer on the layouts users have:

- ``*.dist-info`` and ``*.egg-info`` (a folder, or a file holding PKG-INFO only) in each
  path folder, and an egg folder (``foo-1.0-py3.11.egg``, whose ``EGG-INFO`` holds the
  metadata) that is itself on the path;
- one distribution per name: the first path folder that has it wins; within one folder the
  newest by version order (``1.10`` after ``1.9``, ``1.0rc1`` before ``1.0``);
- a folder name without a version (``foo.dist-info``): the version comes from its METADATA;
- entry point values with extras (``module:attr [extra]``); :func:`load_entry_point` ignores
  the extras.

It reads only ``entry_points.txt`` of each chosen distribution, and METADATA only where the
folder name lacks the version (or for :meth:`FoundEntryPoint.summary`). Zip files on the
path are not searched.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

_SUFFIXES = (".dist-info", ".egg-info")

# importlib.metadata.EntryPoint.pattern (compiled on first use: ``re`` caches it)
_VALUE = (
    r"(?P<module>[\w.]+)\s*"
    r"(:\s*(?P<attr>[\w.]+)\s*)?"
    r"((?P<extras>\[.*\])\s*)?$"
)

# PEP 440 (the forms ``packaging.version.Version`` accepts); compiled on first use.
_VERSION = r"""
    \s*v?
    (?:(?P<epoch>\d+)!)?
    (?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<pre_l>alpha|beta|preview|pre|a|b|c|rc)[-_.]?(?P<pre_n>\d+)?)?
    (?:-(?P<post_n1>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d+)?)?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    \s*$
"""
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


def version_key(version: str) -> tuple:
    """A sort key that orders PEP 440 versions as ``packaging.version.Version`` does.

    A version that is not PEP 440 sorts before every valid one (by its text among others).
    """
    match = re.match(_VERSION, version, re.VERBOSE | re.IGNORECASE)
    if match is None:
        return (0, version)
    release = [int(part) for part in match["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    post_n = match["post_n1"] or match["post_n2"]
    has_post = match["post_n1"] is not None or match["post_l"] is not None
    if match["pre_l"]:
        pre: tuple[int, int] = (_PRE_RANK[match["pre_l"].lower()], int(match["pre_n"] or 0))
    elif match["dev_l"] and not has_post:
        pre = (-1, 0)  # 1.0.dev0 comes before 1.0a1
    else:
        pre = (3, 0)  # a final release comes after its pre-releases
    post = int(post_n or 0) if has_post else -1
    dev = (0, int(match["dev_n"] or 0)) if match["dev_l"] else (1, 0)
    local = tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part.lower())
        for part in re.split(r"[-_.]", match["local"] or "")
        if part
    )
    return (1, int(match["epoch"] or 0), tuple(release), pre, post, dev, local)


def _headers(metadata_path: str) -> dict[str, str]:
    """The header fields (Name, Version, Summary, ...) of a distribution's core metadata."""
    candidates = (
        os.path.join(metadata_path, "METADATA"),
        os.path.join(metadata_path, "PKG-INFO"),
        metadata_path,  # an .egg-info file is the PKG-INFO itself
    )
    for path in candidates:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                fields: dict[str, str] = {}
                for line in handle:
                    if not line.strip():
                        break
                    key, sep, value = line.partition(":")
                    if sep and not line[0].isspace():
                        fields.setdefault(key.strip(), value.strip())
        except OSError:
            continue
        if fields:
            return fields
    return {}


@dataclass(frozen=True)
class FoundEntryPoint:
    """One entry point and the distribution that declares it."""

    name: str
    value: str
    dist_name: str
    version: str
    metadata_dir: str

    @property
    def module(self) -> str:
        """The module part of the value (``pkg.mod`` in ``pkg.mod:attr [extra]``)."""
        return _parse_value(self.value)[0]

    @property
    def attr(self) -> str:
        """The attribute part of the value (``attr``), or ``""``."""
        return _parse_value(self.value)[1]

    @property
    def extras(self) -> tuple[str, ...]:
        """The extras named in the value (``[extra, other]``), or ``()``."""
        return _parse_value(self.value)[2]

    def summary(self) -> str:
        """The distribution's one-line summary (``Summary:`` of its metadata)."""
        return _headers(self.metadata_dir).get("Summary", "")


def _parse_value(value: str) -> tuple[str, str, tuple[str, ...]]:
    match = re.match(_VALUE, value.strip())
    if match is None:
        raise ValueError(f"not an entry point value (module:attr [extras]): {value!r}")
    extras = (match["extras"] or "[]")[1:-1]
    return (
        match["module"],
        match["attr"] or "",
        tuple(part.strip() for part in extras.split(",") if part.strip()),
    )


def _parse_section(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` pairs of section ``[group]`` (read as importlib.metadata does)."""
    found: list[tuple[str, str]] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line.strip("[]") == group
            continue
        if inside and "=" in line:
            name, _, value = line.partition("=")
            found.append((name.strip(), value.strip()))
    return found


def _split_stem(stem: str) -> tuple[str, str]:
    """``foo_bar-1.0-py3.11`` -> (``foo_bar``, ``1.0``); no version -> ``""``."""
    name, _, rest = stem.partition("-")
    return name, rest.partition("-")[0]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


_Dist = tuple[str, str, str]  # canonical name, version, metadata folder (or .egg-info file)


def _dists_in(base: str) -> list[_Dist]:
    """The distributions in one path entry, in importlib.metadata's order."""
    root = base or "."
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return []
    found: list[_Dist] = []
    eggs: list[_Dist] = []
    root_is_egg = os.path.basename(root).lower().endswith(".egg")
    for entry in entries:
        low = entry.lower()
        if low.endswith(_SUFFIXES):
            stem = entry.rpartition(".")[0]
        elif root_is_egg and low == "egg-info":
            stem = os.path.basename(root).rpartition(".")[0]
        else:
            continue
        name, version = _split_stem(stem)
        path = os.path.join(root, entry)
        if not version:
            version = _headers(path).get("Version", "")
        (found if low.endswith(_SUFFIXES) else eggs).append((_canonical(name), version, path))
    return found + eggs


def _newest_per_name(dists: list[_Dist]) -> list[_Dist]:
    """One distribution per name, the newest by version; in order of first appearance."""
    chosen: dict[str, _Dist] = {}
    for dist in dists:
        best = chosen.get(dist[0])
        if best is None or version_key(dist[1]) > version_key(best[1]):
            chosen[dist[0]] = dist
    return list(chosen.values())


def find_entry_points(group: str, paths: Iterable[str] | None = None) -> list[FoundEntryPoint]:
    """Entry points of ``group`` in the distributions on ``paths`` (default ``sys.path``)."""
    seen: set[str] = set()
    found: list[FoundEntryPoint] = []
    for base in paths if paths is not None else sys.path:
        for key, version, metadata_dir in _newest_per_name(_dists_in(base)):
            if key in seen:
                continue
            seen.add(key)
            try:
                path = os.path.join(metadata_dir, "entry_points.txt")
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError:
                continue
            if f"[{group}]" not in text:
                continue
            for ep_name, value in _parse_section(text, group):
                found.append(FoundEntryPoint(ep_name, value, key, version, metadata_dir))
    return found


def load_entry_point(value: str) -> object:
    """Import what ``module``, ``module:attr`` or ``module:attr [extras]`` names."""
    import importlib

    module_name, attr, _extras = _parse_value(value)
    obj: object = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj
