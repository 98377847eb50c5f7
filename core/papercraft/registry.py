"""Typed records that plugins register, one frozen dataclass per area.

Heavy objects (models, kernels, benchmark builders) are named by lazy
``"module:attr"`` references and imported only when used, so registering a
record never imports torch, numba, transformers or textual.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from dataclasses import dataclass, field
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


@dataclass(frozen=True, kw_only=True)
class Record:
    """Fields every record has. ``plugin`` is filled in by the plugin manager."""

    area: ClassVar[str] = ""
    ref_fields: ClassVar[tuple[str, ...]] = ()

    name: str
    summary: str
    plugin: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"{type(self).__name__}: invalid name {self.name!r}")
        for ref_field in self.ref_fields:
            _check_ref(self, ref_field, getattr(self, ref_field))

    def load(self, ref_field: str | None = None) -> Any:
        """Import the object behind a reference field (the first one by default)."""
        ref_field = ref_field or self.ref_fields[0]
        return load_ref(getattr(self, ref_field))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the area."""
        data = dataclasses.asdict(self)
        data["area"] = self.area
        return data


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
class MultiplierRecord(Record):
    """A multiplier: elementwise ``mul(a, b)`` and ``matmul(a, b)`` on float32 arrays."""

    area: ClassVar[str] = "arithmetic"
    ref_fields: ClassVar[tuple[str, ...]] = ("mul", "matmul")
    mul: str
    matmul: str | None = None
    mantissa_bits: int | None = None
    family: str = ""


@dataclass(frozen=True, kw_only=True)
class RetrievalRecord(Record):
    """A retriever or a RAG strategy; ``factory(**options)`` builds it."""

    area: ClassVar[str] = "retrieval"
    ref_fields: ClassVar[tuple[str, ...]] = ("factory",)
    kind: Literal["retriever", "strategy"]
    factory: str


@dataclass(frozen=True, kw_only=True)
class ToolRecord(Record):
    """A toolset or a tool router; ``factory(**options)`` builds it."""

    area: ClassVar[str] = "tools"
    ref_fields: ClassVar[tuple[str, ...]] = ("factory",)
    kind: Literal["toolset", "router"]
    factory: str


@dataclass(frozen=True, kw_only=True)
class AgentRecord(Record):
    """A multi-agent coordination protocol or simulation; ``factory(**options)`` builds it."""

    area: ClassVar[str] = "agents"
    ref_fields: ClassVar[tuple[str, ...]] = ("factory",)
    kind: Literal["protocol", "simulation"]
    factory: str


@dataclass(frozen=True, kw_only=True)
class BenchmarkRecord(Record):
    """A benchmark for the evaluation runner; ``factory(**params)`` builds the task."""

    area: ClassVar[str] = "benchmarks"
    ref_fields: ClassVar[tuple[str, ...]] = ("factory",)
    factory: str
    metric: str = "accuracy"
    tags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, kw_only=True)
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
