"""The TUI is itself a plugin: ``papercraft tui`` is added without importing textual."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from papercraft_tui import plugin

ROOT = Path(__file__).resolve().parents[1]


def test_declares_the_api_version_and_entry_point() -> None:
    assert plugin.PAPERCRAFT_API_VERSION == "1.0"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '[project.entry-points.papercraft]\ntui = "papercraft_tui.plugin"' in pyproject
    assert '"textual==' in pyproject  # pinned exactly: the snapshots depend on it


def test_installed_entry_point_is_found() -> None:
    from papercraft.discovery import find_entry_points

    found = {(ep.dist_name, ep.value) for ep in find_entry_points("papercraft")}
    assert ("papercraft-tui", "papercraft_tui.plugin") in found


def test_tui_command_is_registered(cli) -> None:
    result = cli(["--help"], plugins=[plugin])
    assert result.exit_code == 0
    assert "tui" in result.output
    result = cli(["tui", "--help"], plugins=[plugin])
    assert result.exit_code == 0
    assert "RUNS_PATH" in result.output


def test_missing_runs_path_is_one_line_and_exit_2(cli, tmp_path: Path) -> None:
    result = cli(["tui", str(tmp_path / "nope")], plugins=[plugin])
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr
    assert "Traceback" not in result.output


def test_registration_and_help_import_no_textual(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "from papercraft.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "import papercraft_tui.plugin\n"
        "print('@@' + json.dumps([m for m in ('textual', 'textual_plotext', 'plotext')"
        " if m in sys.modules]))\n"
    )
    env = {**os.environ, "PAPERCRAFT_HOME": str(tmp_path)}
    env.pop("PAPERCRAFT_PLUGINS", None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120)
    assert "tui" in result.stdout
    marker = [line for line in result.stdout.splitlines() if line.startswith("@@")]
    assert marker, result.stderr
    assert json.loads(marker[0][2:]) == []
