"""Model tests run thousands of tiny ops: one intra-op thread avoids OpenMP barrier stalls when the
(two, shared) cores are busy, which otherwise makes each op milliseconds slower."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="package")
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
