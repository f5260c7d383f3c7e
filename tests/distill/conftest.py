"""One torch thread per distillation test: tiny models gain nothing from more, and on a shared
2-core machine extra threads only contend (3-4x slower under load)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
