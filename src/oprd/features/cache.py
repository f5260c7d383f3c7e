"""Feature cache: one safetensors file per chunk of pool rows, under a key of everything that matters.

The key hashes the exact prompt token ids fed to the model (so the prompt column, template and
tokenizer all count), the model's content (file digests, or the hub commit), and the generation and
capture settings, so a changed input never reuses stale features. Chunks are written atomically (temp file + rename):
a run killed at any moment leaves only whole chunks, and the next run computes just the missing
ones. Shards pick chunks round-robin, so many processes can fill one cache directory together.
Results computed in one piece (PivotTrace's sampled rollouts, attention signals and token scores)
use the same store through :func:`keyed_cache`, as chunk 0 of their own key.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oprd.errors import OprdInputError

FORMAT_VERSION = 2  # 2: keyed on prompt token ids and model file digests


def cache_key(parts: dict) -> str:
    """A short stable hash of a JSON-serialisable description."""
    blob = json.dumps({"format": FORMAT_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def model_identity(name_or_path: str, resolved_path: str) -> dict:
    """What identifies a model: the sha256 of every file of a local dir, or a hub id's commit."""
    from oprd.models.fingerprint import model_fingerprint

    return model_fingerprint(name_or_path, resolved_path)


def token_ids_digest(prompt_ids: list[list[int]]) -> str:
    """sha256 of the exact token ids fed to the model, in row order (prompt text, key and template)."""
    digest = hashlib.sha256()
    for ids in prompt_ids:
        digest.update(np.asarray(ids, dtype=np.int64).tobytes())
        digest.update(b"\xff" * 8)  # row separator no token id can produce
    return digest.hexdigest()


@dataclass
class ChunkPlan:
    """Which rows each chunk holds and which chunks this shard computes."""

    n_rows: int
    chunk_size: int
    num_shards: int = 1
    shard_index: int = 0

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise OprdInputError(f"chunk size must be >= 1, got {self.chunk_size}")
        if self.num_shards < 1 or not 0 <= self.shard_index < self.num_shards:
            raise OprdInputError(
                f"--shard-index must be in [0, --num-shards) and --num-shards >= 1; got index "
                f"{self.shard_index} of {self.num_shards}"
            )

    @property
    def n_chunks(self) -> int:
        return (self.n_rows + self.chunk_size - 1) // self.chunk_size

    def rows(self, chunk: int) -> range:
        return range(chunk * self.chunk_size, min((chunk + 1) * self.chunk_size, self.n_rows))

    def my_chunks(self) -> list[int]:
        return [c for c in range(self.n_chunks) if c % self.num_shards == self.shard_index]


class FeatureCache:
    """A directory of chunk files for one cache key."""

    def __init__(self, root: Path, key: str, description: dict) -> None:
        self.dir = Path(root) / key
        self.dir.mkdir(parents=True, exist_ok=True)
        info = self.dir / "key.json"
        if not info.exists():
            tmp = info.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(description, indent=2, sort_keys=True, default=str))
            os.replace(tmp, info)

    def chunk_path(self, chunk: int) -> Path:
        return self.dir / f"chunk-{chunk:06d}.safetensors"

    def has(self, chunk: int) -> bool:
        return self.chunk_path(chunk).is_file()

    def write(self, chunk: int, arrays: dict[str, np.ndarray], texts: list[str]) -> None:
        """Write one chunk atomically; ``texts`` travel in the file's metadata."""
        from safetensors.numpy import save_file

        path = self.chunk_path(chunk)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp), metadata={"texts": json.dumps(texts)})
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def read(self, chunk: int) -> tuple[dict[str, np.ndarray], list[str]]:
        from safetensors import safe_open
        from safetensors.numpy import load_file

        path = self.chunk_path(chunk)
        with safe_open(str(path), framework="numpy") as handle:
            texts = json.loads(handle.metadata()["texts"])
        return load_file(str(path)), texts

    def merge(self, plan: ChunkPlan) -> tuple[dict[str, np.ndarray], list[str]]:
        """All chunks concatenated in row order; names the shards still missing if incomplete."""
        missing = [c for c in range(plan.n_chunks) if not self.has(c)]
        if missing:
            shards = sorted({c % plan.num_shards for c in missing})
            raise OprdInputError(
                f"feature cache {self.dir.name} is missing {len(missing)} of {plan.n_chunks} chunks "
                f"(shard indices {shards} of {plan.num_shards}); run extraction for those shards, then select again"
            )
        parts = [self.read(c) for c in range(plan.n_chunks)]
        arrays = {key: np.concatenate([p[0][key] for p in parts]) for key in parts[0][0]}
        return arrays, [text for p in parts for text in p[1]]


def keyed_cache(root: Path, kind: str, description: dict) -> FeatureCache:
    """The cache of one ``kind`` of result (``rollouts``, ``signals``, ...) under the key of ``description``."""
    return FeatureCache(root, f"{kind}-{cache_key(description)}", description)
