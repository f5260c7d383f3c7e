import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from oprd.data import Pool
from oprd.errors import OprdInputError
from oprd.features import CaptureConfig, ExtractionConfig, extract_pool_features
from oprd.generation import SamplingConfig

ROWS = [{"id": f"q{i}", "prompt": f"What is {i} + {i * 3}?", "answer": str(4 * i)} for i in range(10)]


def _config(**overrides) -> ExtractionConfig:
    base = dict(model="tiny-random-llama", sampling=SamplingConfig(max_new_tokens=12, batch_size=4),
                capture=CaptureConfig(batch_size=4), chunk_size=2)
    return ExtractionConfig(**{**base, **overrides})


SCRIPT = textwrap.dedent(
    """
    import sys, time
    from oprd.data import Pool
    from oprd.features import cache as cache_module
    from oprd.features import CaptureConfig, ExtractionConfig, extract_pool_features
    from oprd.generation import SamplingConfig

    original = cache_module.FeatureCache.write
    def slow_write(self, *args, **kwargs):
        original(self, *args, **kwargs)
        print("chunk written", flush=True)
        time.sleep(0.6)
    cache_module.FeatureCache.write = slow_write
    rows = [{"id": f"q{i}", "prompt": f"What is {i} + {i * 3}?", "answer": str(4 * i)} for i in range(10)]
    config = ExtractionConfig(model="tiny-random-llama", sampling=SamplingConfig(max_new_tokens=12, batch_size=4),
                              capture=CaptureConfig(batch_size=4), chunk_size=2)
    extract_pool_features(Pool.from_rows(rows), config, cache_root=sys.argv[1], progress=False)
    """
)


def test_kill_9_then_resume_gives_identical_features(tmp_path):
    interrupted_root, clean_root = tmp_path / "interrupted", tmp_path / "clean"
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(interrupted_root)], stdout=subprocess.PIPE,
                               env={**os.environ})
    assert process.stdout.readline().strip() == b"chunk written"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    written = sorted(interrupted_root.rglob("chunk-*.safetensors"))
    assert 1 <= len(written) < 5, "the kill must land between chunks"
    assert not list(interrupted_root.rglob("*.tmp"))

    resumed = extract_pool_features(Pool.from_rows(ROWS), _config(), cache_root=interrupted_root, progress=False)
    clean = extract_pool_features(Pool.from_rows(ROWS), _config(), cache_root=clean_root, progress=False)
    assert len(list(interrupted_root.rglob("chunk-*.safetensors"))) == 5
    for name in clean.states:
        np.testing.assert_array_equal(resumed.states[name], clean.states[name])
    np.testing.assert_array_equal(resumed.truncated, clean.truncated)
    assert resumed.texts == clean.texts


def test_second_run_reads_the_cache_without_loading_the_model(tmp_path, monkeypatch):
    pool = Pool.from_rows(ROWS)
    first = extract_pool_features(pool, _config(), cache_root=tmp_path, progress=False)
    import oprd.models.loading as loading

    monkeypatch.setattr(loading, "load_model", lambda *a, **k: pytest.fail("model loaded on a cache hit"))
    second = extract_pool_features(pool, _config(), cache_root=tmp_path, progress=False)
    np.testing.assert_array_equal(first.states["reasoning_end"], second.states["reasoning_end"])


def test_changed_settings_use_another_cache_key(tmp_path):
    pool = Pool.from_rows(ROWS)
    a = extract_pool_features(pool, _config(), cache_root=tmp_path, progress=False)
    b = extract_pool_features(pool, _config(capture=CaptureConfig(layers="last_k:1", batch_size=4)),
                              cache_root=tmp_path, progress=False)
    assert a.cache_dir != b.cache_dir
    assert not np.allclose(a.states["reasoning_end"], b.states["reasoning_end"])


def test_shards_fill_one_cache_and_merge(tmp_path):
    pool = Pool.from_rows(ROWS)
    first = extract_pool_features(pool, _config(), cache_root=tmp_path, num_shards=2, shard_index=0, progress=False)
    assert first is None  # shard 1 still missing
    with pytest.raises(OprdInputError, match=r"shard indices \[1\] of 2"):
        from oprd.features.cache import ChunkPlan, FeatureCache

        cache_dir = next(tmp_path.iterdir())
        FeatureCache(tmp_path, cache_dir.name, {}).merge(ChunkPlan(10, 2, 2, 0))
    merged = extract_pool_features(pool, _config(), cache_root=tmp_path, num_shards=2, shard_index=1, progress=False)
    whole = extract_pool_features(pool, _config(), cache_root=tmp_path / "single", progress=False)
    np.testing.assert_array_equal(merged.states["reasoning_start"], whole.states["reasoning_start"])


def test_bad_shard_flags():
    from oprd.features.cache import ChunkPlan

    with pytest.raises(OprdInputError, match="--shard-index"):
        ChunkPlan(10, 2, num_shards=2, shard_index=2)


def test_keyed_results_live_in_the_feature_cache_and_a_killed_write_leaves_no_entry(tmp_path):
    from oprd.features.cache import keyed_cache

    description = {"prompts": "digest", "n": 2, "temperature": 0.6}
    cache = keyed_cache(tmp_path, "rollouts", description)
    (cache.dir / f".{cache.chunk_path(0).name}.123.tmp").write_bytes(b"half")  # what kill -9 mid-write leaves
    assert not cache.has(0)
    cache.write(0, {"response_ids": np.arange(3)}, ["a", "b"])
    arrays, texts = keyed_cache(tmp_path, "rollouts", description).read(0)
    assert arrays["response_ids"].tolist() == [0, 1, 2] and texts == ["a", "b"]
    assert not keyed_cache(tmp_path, "rollouts", {**description, "n": 3}).has(0)
    assert not keyed_cache(tmp_path, "signals", description).has(0)
