"""What several test modules share: pools, rewards, tiny models and synthetic batches.

Import a module as ``tests.helpers.<name>`` (the repository root is on pytest's ``pythonpath``);
``reward_spec`` names one of their functions the way ``--reward-func`` takes it (a file path, so a
trainer loads it in any process, torchrun workers included).
"""

from __future__ import annotations

from pathlib import Path

HELPERS = Path(__file__).resolve().parent


def reward_spec(module: str, function: str) -> str:
    """``file.py:function`` for ``function`` of the helper module ``module`` (e.g. "trainer")."""
    return f"{HELPERS / (module + '.py')}:{function}"
