"""Where papercraft keeps caches, converted models and runs."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``PAPERCRAFT_HOME`` or the platform's user data folder, created if missing."""
    configured = os.environ.get("PAPERCRAFT_HOME")
    if configured:
        path = Path(configured).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("papercraft", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def subdir(*parts: str) -> Path:
    """A folder under :func:`home`, created if missing."""
    path = home().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
