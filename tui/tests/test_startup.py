"""Opening the TUI imports nothing heavy, and the first screen comes up fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from papercraft.startup import HEAVY_MODULES

FIRST_SCREEN_BOUND_S = 3.0
"""Generous: measured about 1 s from interpreter start on a two-core machine."""

PROBE = textwrap.dedent(
    """
    import time
    started = time.perf_counter()
    import asyncio, json, sys
    from papercraft_tui.app import PapercraftApp, first_screen_ready

    seen = {}

    async def auto_pilot(pilot):
        await pilot.pause()
        seen["ready"] = first_screen_ready(pilot.app)
        seen["seconds"] = time.perf_counter() - started
        pilot.app.exit()

    app = PapercraftApp()  # PluginManager.from_env(): every installed plugin
    asyncio.run(app.run_async(headless=True, size=(120, 36), auto_pilot=auto_pilot))
    seen["heavy"] = sorted(m for m in HEAVY if m in sys.modules)
    print("@@" + json.dumps(seen))
    """
)


def test_opening_the_tui_imports_nothing_heavy_and_is_fast(tmp_path: Path) -> None:
    heavy = [m for m in HEAVY_MODULES if m != "textual"]
    env = {**os.environ, "PAPERCRAFT_HOME": str(tmp_path)}
    env.pop("PAPERCRAFT_PLUGINS", None)  # every installed plugin
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PROBE.replace("HEAVY", repr(heavy))],
                            capture_output=True, text=True, env=env, timeout=120)
    wall = time.perf_counter() - started
    marker = [line for line in result.stdout.splitlines() if line.startswith("@@")]
    assert marker, result.stderr[-3000:]
    seen = json.loads(marker[0][2:])
    print(f"first screen {seen['seconds']:.2f} s after start-up, process {wall:.2f} s")
    assert seen["ready"]
    assert seen["heavy"] == []
    assert seen["seconds"] < FIRST_SCREEN_BOUND_S


@pytest.mark.anyio
async def test_time_to_first_screen_in_process(make_app) -> None:
    from textual.widgets import DataTable

    started = time.perf_counter()
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.query_one("#plugins-table", DataTable).row_count == 9
        elapsed = time.perf_counter() - started
    print(f"first screen in process: {elapsed:.2f} s")
    assert elapsed < FIRST_SCREEN_BOUND_S
