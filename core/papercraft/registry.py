"""Typed records that plugins register, one frozen dataclass per area.

Heavy objects (models, kernels, benchmark builders) are named by lazy
``"module:attr"`` references and imported only when used, so registering a
record never imports torch, numba, transformers or textual.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from typing import Any, ClassVar, Literal

_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+:-]*$")


def load_ref(ref: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the attribute."""
    if not _REF.match(ref):
        raise ValueError(f"not a 'module:attr' reference: {ref!r}")
    module_name, _, attr_path = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    return obj


def _check_ref(record: Record, field_name: str, value: str | None) -> None:
    if value is not None and not _REF.match(value):
        raise ValueError(
            f"{type(record).__name__} {record.name!r}: {field_name} must be a "
            f"'module:attr' reference, got {value!r}"
        )


class Record:
    """Fields every record has. ``plugin`` is filled in by the plugin manager.

    Records are frozen, keyword-only value objects. Their fields are the class
    annotations (minus ``ClassVar``), defaults the class attributes. (They are not
    dataclasses: generating dataclass code for every record type cost ~10 ms of
    start-up, a tenth of ``papercraft --help``.)
    """

    _fields: ClassVar[tuple[str, ...]] = ("name", "summary", "plugin")
    area: ClassVar[str] = ""
    ref_fields: ClassVar[tuple[str, ...]] = ()

    name: str
    summary: str
    plugin: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: list[str] = []
        for klass in reversed(cls.__mro__):
            for field_name, annotation in vars(klass).get("__annotations__", {}).items():
                if not str(annotation).startswith("ClassVar") and field_name not in fields:
                    fields.append(field_name)
        cls._fields = tuple(fields)

    def __init__(self, **values: Any) -> None:
        defaults = _defaults(type(self))
        for field_name in self._fields:
            if field_name in values:
                value = values.pop(field_name)
            elif field_name in defaults:
                value = defaults[field_name]
            else:
                raise TypeError(f"{type(self).__name__} needs the field {field_name!r}")
            object.__setattr__(self, field_name, value)
        if values:
            raise TypeError(f"{type(self).__name__} has no field {sorted(values)[0]!r}")
        self.__post_init__()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"{type(self).__name__}: invalid name {self.name!r}")
        for ref_field in self.ref_fields:
            _check_ref(self, ref_field, getattr(self, ref_field))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen; use replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({inner})"

    def replace(self, **changes: Any) -> Record:
        """A copy with some fields changed."""
        return type(self)(**{**{f: getattr(self, f) for f in self._fields}, **changes})

    def load(self, ref_field: str | None = None) -> Any:
        """Import the object behind a reference field (the first one by default)."""
        ref_field = ref_field or self.ref_fields[0]
        return load_ref(getattr(self, ref_field))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the area."""
        data = {f: getattr(self, f) for f in self._fields}
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        data["area"] = self.area
        return data


def _defaults(cls: type) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for field_name in vars(klass).get("__annotations__", {}):
            if field_name in vars(klass):
                found[field_name] = vars(klass)[field_name]
    return found


class ModelRecord(Record):
    """A text-generation backend.

    ``factory(model_id, **options)`` returns a :class:`papercraft.models.Model`.
    With ``prefix=True`` the record serves every id ``NAME:REST`` (``openai:gpt-4o``).
    """

    area: ClassVar[str] = "models"
    ref_fields: ClassVar[tuple[str, ...]] = ("factory",)
    factory: str
    prefix: bool = False
    local: bool = True


class AttentionRecord(Record):
    """An attention kernel (a function) or layer (a ``torch.nn.Module`` class).

    A kernel with ``signature="sdpa"`` is a drop-in for a model's attention:
    ``kernel(query, key, value, *, attn_mask=None, is_causal=False, scale=None)`` on
    [B, H, N, d] tensors. Other kernels name their signature and give ``inputs``, a
    ``"module:attr"`` function ``inputs(batch, heads, n, dim, causal, seed) -> dict`` of
    keyword arguments, so ``attention bench`` can run them. ``reference`` names the
    registered kernel (same signature) a kernel is checked against.
    """

    area: ClassVar[str] = "attention"
    ref_fields: ClassVar[tuple[str, ...]] = ("target", "inputs")
    kind: Literal["kernel", "layer"]
    target: str
    reference: str | None = None
    signature: str = "sdpa"
    inputs: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind not in ("kernel", "layer"):
            raise ValueError(f"AttentionRecord {self.name!r}: kind must be 'kernel' or 'layer'")
        if self.kind == "kernel" and self.signature != "sdpa" and self.inputs is None:
            raise ValueError(
                f"AttentionRecord {self.name!r}: a kernel with signature "
                f"{self.signature!r} needs an 'inputs' reference"
            )


class MultiplierRecord(Record):
    """A multiplier: elementwise ``mul(a, b)`` and ``matmul(a, b)`` on float32 arrays."""

    area: ClassVar[str] = "arithmetic"
    ref_fields: ClassVar[tuple[str, ...]] = ("mul", "matmul")
    mul: str
    matmul: str | None = None
    mantissa_bits: int | None = None
    family: str = ""


class RetrievalRecord(Record):
    """A retriever or a RAG strategy; ``factory(**options)`` builds it."""

    area: ClassVar[str] = "retrieval"
    ref_fields: ClassVar[tuple[str, ...]] = ("factory",)
    kind: Literal["retriever", "strategy"]
    factory: str


class ToolRecord(Record):
    """A toolset or a tool router; ``factory(**options)`` builds it."""

    area: ClassVar[str] = "tools"
    ref_fields: ClassVar[tuple[str, ...]] = ("factory",)
    kind: Literal["toolset", "router"]
    factory: str


class AgentRecord(Record):
    """A multi-agent coordination protocol or simulation; ``factory(**options)`` builds it."""

    area: ClassVar[str] = "agents"
    ref_fields: ClassVar[tuple[str, ...]] = ("factory",)
    kind: Literal["protocol", "simulation"]
    factory: str


class BenchmarkRecord(Record):
    """A benchmark for the evaluation runner; ``factory(**params)`` builds the task."""

    area: ClassVar[str] = "benchmarks"
    ref_fields: ClassVar[tuple[str, ...]] = ("factory",)
    factory: str
    metric: str = "accuracy"
    tags: tuple[str, ...] = ()


class DemoRecord(Record):
    """A short end-to-end run on embedded defaults.

    ``run(ctx: DemoContext) -> DemoResult``; ``shows`` says in a few words what
    the figure is, ``full_command`` is the command that runs the full experiment.
    """

    area: ClassVar[str] = "demos"
    ref_fields: ClassVar[tuple[str, ...]] = ("run",)
    run: str
    shows: str
    full_command: str = ""


RECORD_TYPES: dict[str, type[Record]] = {
    cls.area: cls
    for cls in (
        ModelRecord,
        AttentionRecord,
        MultiplierRecord,
        RetrievalRecord,
        ToolRecord,
        AgentRecord,
        BenchmarkRecord,
        DemoRecord,
    )
}
"""Area name -> record type."""

AREA_HOOKS: dict[str, str] = {
    "models": "register_models",
    "attention": "register_attention",
    "arithmetic": "register_arithmetic",
    "retrieval": "register_retrieval",
    "tools": "register_tools",
    "agents": "register_agents",
    "benchmarks": "register_benchmarks",
    "demos": "register_demos",
}
"""Area name -> the hook that fills it."""

EXTRA_COLUMNS: tuple[str, ...] = ("kind", "family", "mantissa_bits", "metric", "shows")
"""Record fields worth a column in a table of one area, when its records use them."""


def record_columns(records: Iterable[Record]) -> list[str]:
    """Columns of a table of records: name, the extra fields in use, plugin, summary."""
    dicts = [r.to_dict() for r in records]
    extra = [c for c in EXTRA_COLUMNS if any(d.get(c) not in (None, "", ()) for d in dicts)]
    return ["name", *extra, "plugin", "summary"]
