"""Start-up imports nothing heavy, however many plugins are installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from papercraft.startup import HEAVY_MODULES

PROBE = textwrap.dedent(
    """
    import json, sys
    from papercraft.cli.main import main
    try:
        main({args!r})
    except SystemExit:
        pass
    print("@@" + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
    """
)


@pytest.mark.parametrize(
    "args", [["--help"], ["plugins", "list"], ["plugins", "list", "--json"], ["hooks"]]
)
def test_startup_imports_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    code = PROBE.format(args=args, heavy=HEAVY_MODULES)
    environ = {**os.environ, "PAPERCRAFT_HOME": str(tmp_path)}
    environ.pop("PAPERCRAFT_PLUGINS", None)  # every installed plugin
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=environ, timeout=120)
    marker = [line for line in result.stdout.splitlines() if line.startswith("@@")]
    assert marker, result.stderr
    assert json.loads(marker[0][2:]) == []
