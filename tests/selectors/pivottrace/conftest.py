"""PivotTrace tests run torch on one thread: tiny matrices gain nothing from threads, and spinning
threads crawl on a shared 2-core machine."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
