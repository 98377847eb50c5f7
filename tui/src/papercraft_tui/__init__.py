"""papercraft-tui: a Textual terminal UI for papercraft (``papercraft tui``).

Importing this package imports nothing beyond the standard library; the app lives in
:mod:`papercraft_tui.app` and is imported only when ``papercraft tui`` runs.
"""

__version__ = "0.1.0"
