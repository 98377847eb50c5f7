"""papercraft: ML papers as plugins you run from the terminal.

Plugin authors need three names from here: :data:`hookimpl` to mark hook
implementations, :data:`API_VERSION` to declare what they were built for, and
the record types in :mod:`papercraft.registry`.
"""

from papercraft._version import __version__
from papercraft.hookspecs import API_VERSION, PROJECT_NAME, hookimpl

__all__ = ["API_VERSION", "PROJECT_NAME", "__version__", "hookimpl"]
