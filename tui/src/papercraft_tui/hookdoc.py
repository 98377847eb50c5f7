"""The hooks view's detail: a hook's signature and documentation (no textual here)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from papercraft import hookspecs
from papercraft.registry import AREA_HOOKS, RECORD_TYPES


@dataclass(frozen=True)
class HookDoc:
    """What the contract says about one hook."""

    name: str
    signature: str
    """``register_models(register: Register) -> None``."""
    doc: str
    """The hook's whole docstring, dedented."""
    record: str = ""
    """The record type a registration hook takes (``ModelRecord``), empty for others."""
    record_doc: str = ""
    """That record type's docstring."""


def hook_doc(name: str) -> HookDoc:
    """The signature and docs of hook ``name`` (and of the record type it registers)."""
    function = getattr(hookspecs, name)
    signature = f"{name}{inspect.signature(function)}".replace("'", "")
    record, record_doc = "", None
    for area, hook in AREA_HOOKS.items():
        if hook == name and area in RECORD_TYPES:
            record_type = RECORD_TYPES[area]
            record, record_doc = record_type.__name__, inspect.getdoc(record_type)
    return HookDoc(name, signature, _plain(inspect.getdoc(function)), record, _plain(record_doc))


def _plain(doc: str | None) -> str:
    """A docstring for the screen: reST's double backquotes as single ones."""
    return (doc or "").replace("``", "`")
