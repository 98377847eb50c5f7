"""papercraft.discovery gives importlib.metadata's answer on small trees of installed metadata."""

from __future__ import annotations

import importlib.metadata
import re
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.version import Version

from papercraft.discovery import find_entry_points, load_entry_point, version_key

GROUP = "papercraft"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _metadata(name: str, version: str | None, summary: str = "") -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}"]
    if version is not None:
        lines.append(f"Version: {version}")
    if summary:
        lines.append(f"Summary: {summary}")
    return "\n".join(lines) + "\n\nA long description.\n"


def _entry_points(eps: dict[str, str], group: str = GROUP) -> str:
    body = "".join(f"{name} = {value}\n" for name, value in eps.items())
    return f"[console_scripts]\nsome-tool = tool:main\n\n[{group}]\n{body}"


def dist_info(folder: Path, name: str, version: str, eps: dict[str, str], *,
              dirname: str | None = None, summary: str = "") -> Path:
    """A wheel-installed distribution: ``name-version.dist-info`` with METADATA."""
    path = folder / (dirname or f"{name.replace('-', '_')}-{version}.dist-info")
    path.mkdir(parents=True)
    (path / "METADATA").write_text(_metadata(name, version, summary))
    (path / "entry_points.txt").write_text(_entry_points(eps))
    return path


def egg_info_dir(folder: Path, name: str, version: str, eps: dict[str, str],
                 dirname: str | None = None) -> Path:
    """A setuptools ``.egg-info`` folder with PKG-INFO."""
    path = folder / (dirname or f"{name}-{version}-py3.11.egg-info")
    path.mkdir(parents=True)
    (path / "PKG-INFO").write_text(_metadata(name, version))
    (path / "entry_points.txt").write_text(_entry_points(eps))
    return path


def stdlib_view(paths: list[Path], group: str = GROUP) -> set[tuple[str, str, str, str]]:
    """importlib.metadata's entry points: the first path folder that has a distribution wins;
    within one folder (where the standard library follows ``os.listdir`` order) the newest."""
    chosen: dict[str, importlib.metadata.Distribution] = {}
    for base in paths:
        here: dict[str, importlib.metadata.Distribution] = {}
        for dist in importlib.metadata.distributions(path=[str(base)]):
            key = _canonical(dist.metadata["Name"])
            if key in chosen:
                continue
            if key not in here or Version(dist.version) > Version(here[key].version):
                here[key] = dist
        chosen.update(here)
    return {
        (ep.name, ep.value, key, dist.version)
        for key, dist in chosen.items()
        for ep in dist.entry_points.select(group=group)
    }


def ours(paths: list[Path], group: str = GROUP) -> set[tuple[str, str, str, str]]:
    """find_entry_points' answer in the same shape as :func:`stdlib_view`."""
    found = find_entry_points(group, [str(p) for p in paths])
    return {(ep.name, ep.value, ep.dist_name, ep.version) for ep in found}


def test_plain_dist_info_folders(tmp_path: Path) -> None:
    dist_info(tmp_path, "papercraft-alpha", "0.3.1", {"alpha": "papercraft_alpha.plugin"},
              summary="The alpha paper.")
    dist_info(tmp_path, "Papercraft.Beta", "2.0", {"beta": "papercraft_beta:plugin"})
    dist_info(tmp_path, "unrelated", "1.0", {})
    (tmp_path / "not-a-dist").mkdir()
    want = stdlib_view([tmp_path])
    assert want == {
        ("alpha", "papercraft_alpha.plugin", "papercraft-alpha", "0.3.1"),
        ("beta", "papercraft_beta:plugin", "papercraft-beta", "2.0"),
    }
    assert ours([tmp_path]) == want
    (alpha,) = [ep for ep in find_entry_points(GROUP, [str(tmp_path)]) if ep.name == "alpha"]
    assert alpha.summary() == "The alpha paper."


def test_value_with_extras_matches_the_standard_library(tmp_path: Path) -> None:
    value = "papercraft_extras.sub.plugin : register.hooks [fast, gpu]"
    dist_info(tmp_path, "papercraft-extras", "1.0", {"extras": value})
    assert ours([tmp_path]) == stdlib_view([tmp_path])
    (std,) = importlib.metadata.distributions(path=[str(tmp_path)])
    (std_ep,) = std.entry_points.select(group=GROUP)
    (ep,) = find_entry_points(GROUP, [str(tmp_path)])
    assert (ep.module, ep.attr, list(ep.extras)) == (std_ep.module, std_ep.attr, std_ep.extras)
    assert (ep.module, ep.attr, ep.extras) == (
        "papercraft_extras.sub.plugin", "register.hooks", ("fast", "gpu"))


def test_load_entry_point_ignores_extras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "discovery_fixture_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "hooks.py").write_text("class Holder:\n    plugin = 'the plugin'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "discovery_fixture_pkg", raising=False)
    monkeypatch.delitem(sys.modules, "discovery_fixture_pkg.hooks", raising=False)
    assert load_entry_point("discovery_fixture_pkg.hooks:Holder.plugin [extra]") == "the plugin"
    assert load_entry_point("discovery_fixture_pkg.hooks:Holder.plugin") == "the plugin"
    assert load_entry_point("discovery_fixture_pkg.hooks").Holder.plugin == "the plugin"
    with pytest.raises(ValueError, match="not an entry point value"):
        load_entry_point("discovery_fixture_pkg.hooks:Holder plugin")


def test_dist_info_without_a_version_reads_metadata(tmp_path: Path) -> None:
    dist_info(tmp_path, "papercraft-bare", "4.2.0", {"bare": "papercraft_bare"},
              dirname="papercraft_bare.dist-info")
    want = stdlib_view([tmp_path])
    assert want == {("bare", "papercraft_bare", "papercraft-bare", "4.2.0")}
    assert ours([tmp_path]) == want


@pytest.mark.parametrize(
    ("older", "newer"),
    [("1.9", "1.10"), ("1.0", "2.0"), ("2.0", "10.0"), ("1.0rc1", "1.0"), ("1.0.dev1", "1.0a1"),
     ("1.0", "1.0.post1")],
)
def test_two_versions_in_one_folder_the_newer_wins(tmp_path: Path, older: str,
                                                   newer: str) -> None:
    for version in (older, newer):
        module = "v" + re.sub(r"\W", "_", version)
        dist_info(tmp_path, "papercraft-twice", version, {"twice": f"{module}:plugin"})
    assert len(list(importlib.metadata.distributions(path=[str(tmp_path)]))) == 2
    want = stdlib_view([tmp_path])
    assert {version for *_, version in want} == {newer}
    assert ours([tmp_path]) == want


def test_first_folder_on_the_path_wins_over_a_newer_version_later(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    dist_info(first, "papercraft-moved", "1.0", {"moved": "old_home:plugin"})
    dist_info(second, "papercraft-moved", "9.0", {"moved": "new_home:plugin"})
    dist_info(second, "papercraft-only-later", "0.1", {"later": "later:plugin"})
    paths = [first, second]
    # the standard library's own de-duplication keeps the first distribution found
    std = {
        (ep.name, ep.value)
        for ep in importlib.metadata.EntryPoints(
            ep
            for dist in _unique(importlib.metadata.distributions(path=[str(p) for p in paths]))
            for ep in dist.entry_points
        ).select(group=GROUP)
    }
    assert std == {("moved", "old_home:plugin"), ("later", "later:plugin")}
    assert ours(paths) == stdlib_view(paths)
    assert {(name, value) for name, value, *_ in ours(paths)} == std


def _unique(dists):  # importlib.metadata._unique, by normalized name
    seen = set()
    for dist in dists:
        key = _canonical(dist.metadata["Name"])
        if key not in seen:
            seen.add(key)
            yield dist


def test_a_distribution_without_entry_points_still_shadows_later_ones(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    (first / "papercraft_shadow-1.0-py3.11.egg-info").write_text(
        _metadata("papercraft-shadow", "1.0"))  # an .egg-info *file*: PKG-INFO only
    dist_info(second, "papercraft-shadow", "2.0", {"shadow": "shadow:plugin"})
    assert stdlib_view([first, second]) == set()
    assert ours([first, second]) == set()
    assert ours([second]) == stdlib_view([second]) != set()


def test_egg_info_folders_and_files(tmp_path: Path) -> None:
    egg_info_dir(tmp_path, "papercraft_legacy", "0.9", {"legacy": "legacy.plugin:hooks"})
    egg_info_dir(tmp_path, "papercraft_devel", "3.1.dev0", {"devel": "devel"},
                 dirname="papercraft_devel.egg-info")  # ``setup.py develop``: no version
    (tmp_path / "papercraft_file-1.2-py3.11.egg-info").write_text(
        _metadata("papercraft-file", "1.2"))
    want = stdlib_view([tmp_path])
    assert want == {
        ("legacy", "legacy.plugin:hooks", "papercraft-legacy", "0.9"),
        ("devel", "devel", "papercraft-devel", "3.1.dev0"),
    }
    assert ours([tmp_path]) == want


def test_egg_folder_on_the_path(tmp_path: Path) -> None:
    egg = tmp_path / "papercraft_egg-1.5-py3.11.egg"
    info = egg / "EGG-INFO"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text(_metadata("papercraft-egg", "1.5", "An egg."))
    (info / "entry_points.txt").write_text(_entry_points({"egg": "egg_mod:plugin"}))
    assert ours([tmp_path]) == stdlib_view([tmp_path]) == set()  # eggs are found when on the path
    want = stdlib_view([egg])
    assert want == {("egg", "egg_mod:plugin", "papercraft-egg", "1.5")}
    assert ours([egg]) == want
    (ep,) = find_entry_points(GROUP, [str(egg)])
    assert ep.summary() == "An egg."


def test_entry_points_file_parsed_like_the_standard_library(tmp_path: Path) -> None:
    path = dist_info(tmp_path, "papercraft-odd", "1.0", {})
    (path / "entry_points.txt").write_text(textwrap.dedent(f"""\
        # a comment
        [{GROUP}]
          spaced   =   spaced.mod : attr
        # another = commented.out
        with-dash = a.b:c [x]

        [{GROUP}.other]
        nope = nope
        [other]
        nope = nope
        """))
    want = stdlib_view([tmp_path])
    assert {name for name, *_ in want} == {"spaced", "with-dash"}
    assert ours([tmp_path]) == want


def test_the_installed_plugins_match_the_standard_library() -> None:
    std = {
        (ep.name, ep.value, _canonical(ep.dist.name), ep.dist.version)
        for ep in importlib.metadata.entry_points(group=GROUP)
    }
    found = {(ep.name, ep.value, ep.dist_name, ep.version) for ep in find_entry_points(GROUP)}
    assert found == std


VERSIONS = [
    "1.9", "1.10", "1.0rc1", "1.0", "1.0.0", "1.0.post1", "1.0-2", "1.0.dev0", "1.0a1",
    "1.0a1.dev2", "1.0b2", "1.0c3", "1.0rc3.post1", "1!0.1", "0.1", "1.0+local.7",
    "1.0+local.abc", "1.0+5", "2.0.0.0.1", "v2.1", "1.0.post1.dev3", "1.0PRE4", "1.0-alpha-5",
    "10.0", "1.1", "0.9.9.9",
]


def test_version_key_orders_like_packaging() -> None:
    assert sorted(VERSIONS, key=version_key) == sorted(VERSIONS, key=Version)
    assert version_key("1.10") > version_key("1.9")
    assert version_key("1.0rc1") < version_key("1.0")
    assert version_key("1.0") == version_key("1.0.0")
    assert version_key("not a version") < version_key("0.0.1")
