"""Small pools and rewards shared by the trainer tests."""

from __future__ import annotations

import json
from pathlib import Path


def letter_reward(prompts, completions, **columns):
    """Trivial task for a random byte-level model: the share of 'a' characters in the completion."""
    return [text.count("a") / max(len(text), 1) for text in completions]


def write_pool(path: Path, n: int = 6, labeled_every: int = 1) -> Path:
    rows = [{"id": f"q{i}", "prompt": f"What is {i} + {i}?", "answer": str(2 * i) if i % labeled_every == 0 else None}
            for i in range(n)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def varied_reward(prompts, completions, **columns):
    """A reward that differs between the samples of a group for a random model: the byte sum of the
    completion modulo 7, scaled to [0, 1], so every step has non-zero advantages."""
    return [(sum(text.encode()) % 7) / 6 for text in completions]


_nan_calls = {"n": 0}


def nan_from_second_call(prompts, completions, **columns):
    """Varied rewards on the first call (step 1), then NaN: a broken reward function."""
    _nan_calls["n"] += 1
    if _nan_calls["n"] >= 2:
        return [float("nan")] * len(completions)
    return varied_reward(prompts, completions)
