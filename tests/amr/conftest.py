"""amr tests run torch on one thread, as the experiment does (`threads: 1`): on shared cores two OpenMP threads
spin-wait more than they compute for these small models."""

import pytest

from paperzoo.core.threads import torch_threads


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with torch_threads(1):
        yield
