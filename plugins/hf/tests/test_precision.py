"""Weight precision names, model id suffixes and the speed warning (no model is loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from papercraft.errors import PapercraftError
from papercraft_hf.factories import split_local
from papercraft_hf.precision import PRECISIONS, parse_precision, speed_warning


@pytest.mark.parametrize(("name", "expected"), [
    ("float32", "float32"), ("fp32", "float32"), ("BF16", "bfloat16"),
    ("torch.bfloat16", "bfloat16"), ("int8", "int8"), ("half", "float16"),
])
def test_parse_precision(name: str, expected: str) -> None:
    assert parse_precision(name) == expected


def test_unknown_precision_exits_2_naming_the_choices() -> None:
    with pytest.raises(PapercraftError) as info:
        parse_precision("fp8")
    assert info.value.exit_code == 2
    assert all(p in str(info.value) for p in PRECISIONS)


def test_hf_id_suffix(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert split_local(f"hf:{tmp_path}") == (tmp_path, None)
    assert split_local(f"hf:{tmp_path}@int8") == (tmp_path, "int8")
    with pytest.raises(PapercraftError, match="unknown precision 'fp8'"):
        split_local(f"hf:{tmp_path}@fp8")


def test_a_folder_named_with_at_is_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "model@int8"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert split_local(f"hf:{folder}") == (folder, None)


def test_speed_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from papercraft_hf import precision

    assert speed_warning("float32", "cpu") is None
    assert speed_warning("int8", "cuda") is None
    monkeypatch.setattr(precision, "_packed_int8_kernel", lambda: True)
    assert speed_warning("int8", "cpu") is None  # torch's packed int8 kernel: fast
    monkeypatch.setattr(precision, "_packed_int8_kernel", lambda: False)
    assert "int8" in (speed_warning("int8", "cpu") or "")
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert "not faster than float32" in (speed_warning("bfloat16", "cpu") or "")
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16", "amx_bf16"}))
    assert speed_warning("bfloat16", "cpu") is None
