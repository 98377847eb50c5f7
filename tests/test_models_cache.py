"""The SQLite completion cache and CachedModel: hits by call counts, keys, concurrency, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.models.base import Completion, GenerationParams, Message, Model
from papercraft.models.cache import ModelCache, cache_key, cacheable, default_cache_path
from papercraft.models.cached import CachedModel
from papercraft.plugins import PluginManager


class CountingModel(Model):
    """Test double: answers with the reversed last message and records every batch."""

    model_id = "counting"

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.lock = threading.Lock()

    def generate(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[Completion]:
        texts = [conv[-1]["content"] for conv in conversations]
        with self.lock:
            self.batches.append(texts)
        return [
            Completion(text=t[::-1], model=self.model_id, prompt_tokens=len(t),
                       completion_tokens=len(t))
            for t in texts
        ]

    @property
    def calls(self) -> int:
        return sum(len(b) for b in self.batches)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def conv(text: str) -> list[Message]:
    return [{"role": "user", "content": text}]


GREEDY = GenerationParams(max_tokens=8)


def test_default_path_is_under_home(home: Path) -> None:
    assert default_cache_path() == home / "cache.sqlite"
    assert ModelCache().path == home / "cache.sqlite"


def test_second_call_is_served_from_cache() -> None:
    inner = CountingModel()
    model = CachedModel(inner)
    first = model.chat(conv("hello"), GREEDY)
    second = model.chat(conv("hello"), GREEDY)
    assert inner.calls == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.text == first.text == "olleh"
    assert second.completion_tokens == 5
    # a fresh wrapper on the same file sees the entry too
    again = CachedModel(CountingModel()).chat(conv("hello"), GREEDY)
    assert again.cached and again.text == "olleh"


def test_only_misses_are_forwarded_in_one_ordered_batch() -> None:
    inner = CountingModel()
    model = CachedModel(inner)
    model.generate([conv("b"), conv("d")], GREEDY)
    inner.batches.clear()
    results = model.generate([conv("a"), conv("b"), conv("c"), conv("d"), conv("a")], GREEDY)
    assert inner.batches == [["a", "c"]]  # one batch, misses only, in order, duplicates once
    assert [r.text for r in results] == ["a", "b", "c", "d", "a"]
    assert [r.cached for r in results] == [False, True, False, True, False]


def test_complete_and_chat_are_separate_kinds() -> None:
    inner = CountingModel()
    model = CachedModel(inner)
    model.complete(["xy"], GREEDY)
    model.chat(conv("xy"), GREEDY)
    assert inner.calls == 2
    model.complete(["xy"], GREEDY)
    assert inner.calls == 2


def test_key_depends_on_model_attention_params_and_input() -> None:
    base = dict(model="m", attention=None, params=GREEDY, kind="chat", payload=conv("x"))
    key = cache_key(**base)
    assert len(key) == 64 and key == cache_key(**base)
    variants = [
        {"model": "other"},
        {"attention": "diff"},
        {"params": GenerationParams(max_tokens=9)},
        {"kind": "complete"},
        {"payload": conv("y")},
        {"payload": [{"role": "system", "content": "s"}, *conv("x")]},
        {"scope": "http://127.0.0.1:1/v1"},
    ]
    for change in variants:
        assert cache_key(**{**base, **change}) != key, change


def test_seed_is_in_the_key_only_for_sampled_calls() -> None:
    def key(params: GenerationParams) -> str:
        return cache_key(model="m", attention=None, params=params, kind="chat", payload=conv("x"))

    assert key(GenerationParams(seed=1)) == key(GenerationParams(seed=2)) == key(GenerationParams())
    sampled = GenerationParams(temperature=0.7, seed=1)
    assert key(sampled) != key(GenerationParams(temperature=0.7, seed=2))
    assert key(sampled) == key(GenerationParams(temperature=0.7, seed=1))


def test_sampled_calls_cache_per_seed_and_unseeded_ones_bypass() -> None:
    inner = CountingModel()
    model = CachedModel(inner)
    seeded = GenerationParams(temperature=0.8, seed=3)
    model.chat(conv("s"), seeded)
    assert model.chat(conv("s"), seeded).cached
    assert not model.chat(conv("s"), GenerationParams(temperature=0.8, seed=4)).cached
    assert inner.calls == 2
    unseeded = GenerationParams(temperature=0.8)
    assert not cacheable(unseeded)
    model.chat(conv("s"), unseeded)
    assert not model.chat(conv("s"), unseeded).cached
    assert inner.calls == 4


def test_stream_is_cached_once_complete() -> None:
    inner = CountingModel()
    model = CachedModel(inner)
    assert "".join(model.stream(conv("abc"), GREEDY)) == "cba"
    assert "".join(model.stream(conv("abc"), GREEDY)) == "cba"
    assert inner.calls == 1


def test_stats_and_clear(home: Path) -> None:
    cache = ModelCache()
    assert cache.stats().entries == 0 and not cache.path.exists()
    model = CachedModel(CountingModel(), cache)
    model.generate([conv("a"), conv("b")], GREEDY)
    model.generate([conv("a"), conv("c")], GREEDY)
    stats = cache.stats()
    assert (stats.entries, stats.hits, stats.misses) == (3, 1, 3)
    assert stats.size_bytes > 0 and stats.models == {"counting": 3}
    assert cache.clear() == 3
    assert cache.stats().entries == 0
    assert not model.chat(conv("a"), GREEDY).cached


def test_concurrent_writers_from_threads() -> None:
    inner = CountingModel()
    shared = ModelCache()
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:  # half the threads share one ModelCache, half open their own
            model = CachedModel(inner, shared if index % 2 else ModelCache())
            for j in range(20):
                model.generate([conv(f"t{index}-{j}"), conv("shared")], GREEDY)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert ModelCache().stats().entries == 8 * 20 + 1


_WRITER = """
import sys
from papercraft.models.base import Completion, GenerationParams
from papercraft.models.cache import ModelCache, cache_key
cache = ModelCache(sys.argv[1])
params = GenerationParams()
for i in range(int(sys.argv[3])):
    text = f"{sys.argv[2]}-{i}"
    key = cache_key(model="m", attention=None, params=params, kind="complete", payload=text)
    cache.put(key, "m", "complete", Completion(text=text, model="m"))
    assert cache.get(key).text == text
"""


def test_concurrent_writers_from_two_processes(home: Path) -> None:
    path = home / "cache.sqlite"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, "300"],
                         stderr=subprocess.PIPE, text=True)
        for name in ("p1", "p2")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    cache = ModelCache(path)
    assert cache.stats().entries == 600
    key = cache_key(model="m", attention=None, params=GenerationParams(), kind="complete",
                    payload="p2-299")
    assert cache.get(key).text == "p2-299"


def test_cache_cli_stats_and_clear(home: Path) -> None:
    CachedModel(CountingModel()).generate([conv("a"), conv("b")], GREEDY)
    manager = PluginManager()
    manager.load_defaults()
    app = build_app(manager)
    runner = CliRunner()
    result = runner.invoke(app, ["models", "cache", "stats", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["entries"] == 2 and data["path"] == str(home / "cache.sqlite")
    assert {"size_bytes", "hits", "misses", "models"} <= set(data)
    table = runner.invoke(app, ["models", "cache", "stats"])
    assert table.exit_code == 0 and "entries" in table.stdout
    refused = runner.invoke(app, ["models", "cache", "clear"], input="n\n")
    assert refused.exit_code == 1
    assert ModelCache().stats().entries == 2
    cleared = runner.invoke(app, ["models", "cache", "clear", "-y"])
    assert cleared.exit_code == 0, cleared.output
    assert ModelCache().stats().entries == 0


def test_a_lazy_model_behind_the_cache_loads_only_on_a_miss() -> None:
    from papercraft.models.lazy import LazyModel

    made: list[CountingModel] = []

    def load() -> CountingModel:
        made.append(CountingModel())
        return made[-1]

    CachedModel(CountingModel()).chat(conv("warm"), GREEDY)  # an earlier run's entry
    lazy = LazyModel(load, "counting")
    model = CachedModel(lazy)
    assert model.chat(conv("warm"), GREEDY).cached is True
    assert made == [] and not lazy.loaded and lazy.load_seconds == 0.0
    assert model.chat(conv("cold"), GREEDY).text == "dloc"
    assert len(made) == 1 and lazy.loaded and made[0].calls == 1
    model.generate([conv("cold"), conv("other")], GREEDY)
    assert len(made) == 1 and made[0].calls == 2  # loaded once; "cold" was a hit
    assert lazy.batches == made[0].batches  # other attributes come from the loaded model
    model.close()


def test_a_lazy_model_that_never_loaded_closes_without_loading() -> None:
    from papercraft.models.lazy import LazyModel

    def load() -> Model:
        raise AssertionError("loaded")

    lazy = LazyModel(load, "never", attention="sdpa")
    model = CachedModel(lazy)
    assert model.attention == "sdpa" and model.scope is None
    model.close()
    assert not lazy.loaded
