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
    _make_dir(path, "PAPERCRAFT_HOME" if configured else "papercraft's data folder")
    return path


def _make_dir(path: Path, what: str) -> None:
    """``path`` created with its parents; a file in the way or no permission is a clear error."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        from papercraft.errors import PapercraftError

        raise PapercraftError(f"{what} {path} is a file, not a folder", 2) from None
    except OSError as exc:
        from papercraft.errors import PapercraftError

        raise PapercraftError(f"cannot create {what} {path}: {exc.strerror or exc}", 2) from None


def subdir(*parts: str) -> Path:
    """A folder under :func:`home`, created if missing."""
    path = home().joinpath(*parts)
    _make_dir(path, "folder")
    return path
