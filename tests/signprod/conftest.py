"""One torch thread for the signprod tests: their matrices are tiny, and the CI machine has two cores."""

import pytest

from paperzoo.core.threads import torch_threads


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with torch_threads(1):
        yield
