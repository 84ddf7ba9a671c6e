import pytest

from paperzoo.distill.layermap import layer_map, uniform_map


@pytest.mark.parametrize("ns,nt,expect", [
    (2, 6, [2, 5]), (3, 6, [1, 3, 5]), (4, 6, [1, 2, 4, 5]), (4, 12, [2, 5, 8, 11]), (5, 7, [0, 2, 3, 5, 6]),
    (1, 30, [29]), (6, 6, [0, 1, 2, 3, 4, 5]), (4, 30, [7, 14, 22, 29]),
])
def test_uniform_map_non_divisible(ns, nt, expect):
    m = uniform_map(ns, nt)
    assert m == expect
    assert m[-1] == nt - 1 and all(a < b for a, b in zip(m, m[1:], strict=False))


def test_layer_map_kinds_and_embeddings():
    assert layer_map("last", 3, 7) == [(2, 6)]
    assert layer_map("uniform", 2, 6, embeddings=True) == [(0, 0), (1, 3), (2, 6)]
    assert layer_map("explicit", 2, 6, [0, 3]) == [(0, 0), (1, 3)]
    with pytest.raises(ValueError, match="explicit"):
        layer_map("explicit", 2, 6, [0])
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        layer_map("explicit", 2, 6, [0, 6])
    with pytest.raises(ValueError, match="more layers"):
        uniform_map(7, 6)
    with pytest.raises(ValueError, match="valid: uniform"):
        layer_map("middle", 2, 6)
