"""Turn a model id (``smollm2``, ``hf:/path``, ``openai:gpt-4o``) into a loaded Model."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from papercraft.errors import PapercraftError, UnknownNameError
from papercraft.models.base import Model
from papercraft.plugins import PluginManager
from papercraft.registry import AttentionRecord, ModelRecord


def find_model_record(manager: PluginManager, model_id: str) -> ModelRecord:
    """The record serving ``model_id``: an exact name, or a prefix record for ``NAME:REST``."""
    records = manager.records("models")
    record = records.get(model_id)
    if record is None and ":" in model_id:
        prefix = model_id.split(":", 1)[0]
        candidate = records.get(prefix)
        if candidate is not None and candidate.prefix:
            record = candidate
    if record is None:
        known = [f"{n}:..." if r.prefix else n for n, r in records.items()]
        raise UnknownNameError("model", model_id, known)
    return record


def find_kernel(manager: PluginManager, name: str) -> AttentionRecord:
    """The attention *kernel* called ``name`` (layers cannot replace a model's attention)."""
    records = manager.records("attention")
    kernels = {n: r for n, r in records.items() if r.kind == "kernel"}
    if name not in kernels:
        raise UnknownNameError("attention kernel", name, kernels)
    record = kernels[name]
    if record.signature != "sdpa":
        drop_in = sorted(n for n, r in kernels.items() if r.signature == "sdpa")
        raise PapercraftError(
            f"attention kernel {name!r} has signature {record.signature!r} and cannot replace "
            f"a model's attention; drop-in kernels: {', '.join(drop_in)}",
            exit_code=2,
        )
    return record


def load_model(
    manager: PluginManager, model_id: str, *, attention: str | None = None, **options: Any
) -> Model:
    """Resolve and build a model; ``attention`` names a registered kernel.

    The factory is called as ``factory(model_id, attention=AttentionRecord | None, **options)``.
    Loading a local model is reported on stderr (see :mod:`papercraft.status`); building a
    remote client is instant and silent.
    """
    record = find_model_record(manager, model_id)
    kernel = find_kernel(manager, attention) if attention else None
    factory = _checked_factory(record, model_id)
    with _reported(record, model_id, attention):
        try:
            return factory(model_id, attention=kernel, **options)
        except (PapercraftError, KeyboardInterrupt):
            raise
        except (ValueError, FileNotFoundError, OSError) as exc:
            raise PapercraftError(f"cannot load model {model_id!r}: {exc}") from exc


def check_model(manager: PluginManager, model_id: str) -> ModelRecord:
    """The record serving ``model_id``, with the id checked by its factory; loads nothing."""
    record = find_model_record(manager, model_id)
    _checked_factory(record, model_id)
    return record


def _checked_factory(record: ModelRecord, model_id: str) -> Any:
    """The record's factory, after its optional ``check(model_id)``.

    A factory may carry a ``check`` function that refuses an id it cannot serve (``hf:`` with
    a missing folder) cheaply, so the mistake is one line before any loading is reported.
    A factory module should import its heavy dependencies inside the factory.
    """
    factory = record.load()
    check = getattr(factory, "check", None)
    if callable(check):
        check(model_id)
    return factory


def _reported(record: ModelRecord, model_id: str, attention: str | None
              ) -> AbstractContextManager[None]:
    if not record.local:
        return nullcontext()
    from papercraft.status import loading

    return loading(f"{model_id} (attention: {attention})" if attention else model_id)


def open_model(
    manager: PluginManager, model_id: str, *, attention: str | None = None, **options: Any
) -> Model:
    """Like :func:`load_model`, but a local model is loaded on its first call.

    Unknown names fail here, at once; a remote client (instant to build, and its cache
    scope depends on its options) is built now. Put a CachedModel in front of the result
    and a cache hit never loads the model.
    """
    record = find_model_record(manager, model_id)
    if attention:
        find_kernel(manager, attention)
    if not record.local:
        return load_model(manager, model_id, attention=attention, **options)
    _checked_factory(record, model_id)
    from papercraft.models.lazy import LazyModel

    return LazyModel(
        lambda: load_model(manager, model_id, attention=attention, **options),
        model_id,
        attention=attention,
    )
