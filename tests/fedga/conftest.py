import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """These tests use tiny tensors, where a second intra-op thread only adds wake-up latency."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
