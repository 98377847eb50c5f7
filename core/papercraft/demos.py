"""What a demo receives and returns (see ``register_demos``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from papercraft.plugins import PluginManager


def _ignore(message: str) -> None:
    """The default progress callback: drop the message."""


class DemoContext:
    """Handed to a demo's ``run``: a folder for its files, a progress callback and the plugins.

    ``manager`` is the running plugin manager (the tour passes the command line's own); a
    demo reaches models, kernels and multipliers through it by name. Built without one (a
    third-party demo's test), the context loads one from the environment on first use.
    """

    def __init__(
        self,
        out_dir: Path,
        log: Callable[[str], None] = _ignore,
        manager: PluginManager | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.log = log
        self._manager = manager

    @property
    def manager(self) -> PluginManager:
        """The plugin manager; ``PluginManager.from_env()`` on first use when none was given."""
        if self._manager is None:
            from papercraft.plugins import PluginManager

            self._manager = PluginManager.from_env()
        return self._manager

    def __repr__(self) -> str:
        return f"DemoContext(out_dir={self.out_dir!r}, manager={self._manager!r})"


@dataclass
class DemoResult:
    """A demo's headline figure (``figure``, as printed) and its details."""

    figure: str
    value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
