import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small tensors: one thread is fastest, and on a shared machine extra threads only spin."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
