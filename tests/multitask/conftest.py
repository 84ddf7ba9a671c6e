import pytest

from paperzoo.core.threads import torch_threads


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small tensors: one thread is fastest, and on a shared machine extra threads only spin."""
    with torch_threads(1):
        yield
