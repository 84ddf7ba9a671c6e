import torch

from paperzoo.distill import data as D


def test_batching_covers_all_and_pads():
    lengths = [5, 1, 3, 7, 2, 2, 9]
    b = D.length_bucketed_batches(lengths, 3, shuffle=True, generator=torch.Generator().manual_seed(0))
    assert sorted(i for x in b for i in x) == list(range(7))
    ids, mask = D.collate([[1, 2, 3], [4]], [0, 1], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    x, y = D.synthetic_reviews(20, 0)
    assert len(x) == 20 and set(y) <= {0, 1}
