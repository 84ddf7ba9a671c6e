"""vlngen tests run torch on one thread, as the experiment does (`threads: 1`): on shared cores idle OpenMP
workers spin-wait and burn 10-20x the CPU time of the renders and small models they serve (measured)."""

import pytest

from paperzoo.core.threads import torch_threads


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with torch_threads(1):
        yield
