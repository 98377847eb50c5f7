"""What a demo receives and returns (see ``register_demos``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DemoContext:
    """Handed to a demo's ``run``: a folder for its files and a progress callback."""

    out_dir: Path
    log: Callable[[str], None] = lambda message: None


@dataclass
class DemoResult:
    """A demo's headline figure (``figure``, as printed) and its details."""

    figure: str
    value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
