import pytest

from paperzoo.core.threads import torch_threads


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """These tests use tiny tensors, where a second intra-op thread only adds wake-up latency."""
    with torch_threads(1):
        yield
