"""amr tests run torch on one thread, as the experiment does (`threads: 1`): on shared cores two OpenMP threads
spin-wait more than they compute for these small models."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
