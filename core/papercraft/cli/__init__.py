"""The ``papercraft`` command line (typer), built from the plugins' ``register_commands``."""

from papercraft.cli.groups import group, new_app

__all__ = ["group", "new_app"]
