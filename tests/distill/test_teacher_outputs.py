"""Teacher outputs stored once per example equal the live teacher pass of any batch they land in."""

import pytest
import torch

from paperzoo.distill.data import collate
from paperzoo.distill.models import EncoderClassifier, forward_features
from paperzoo.distill.teacher_outputs import TeacherOutputs
from paperzoo.distill.train import Teacher


def _examples(n=13, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(1, 50, (int(torch.randint(3, 20, (1,), generator=g)),), generator=g).tolist()
            for _ in range(n)]


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float16, 2e-2)])
def test_stored_outputs_match_a_live_pass_in_another_batch(tiny_bert, dtype, tol):
    torch.manual_seed(0)
    teacher = Teacher(EncoderClassifier(tiny_bert, 3).eval(), tiny_bert, n_heads=4)
    ids = _examples()
    out = TeacherOutputs(teacher, ids, 0, [0, 2, 3], [1, 2], with_v=True, dtype=dtype, batch_size=4)
    index = [7, 0, 12, 3, 5]  # another batch composition and padded length than when stored
    x, mask = collate(ids, index, 0)
    with torch.no_grad():
        live = forward_features(teacher.model, tiny_bert, x, mask, [0, 3], [2], 4, False, detach=True)
    got = out.features(torch.tensor(index), mask, [0, 3], [2])
    keep = mask.bool().unsqueeze(-1)
    torch.testing.assert_close(got.logits, live.logits, atol=tol, rtol=tol)
    for a, b in zip(got.hidden + list(got.qkv[0]), live.hidden + list(live.qkv[0]), strict=True):
        assert a.shape == b.shape and a.dtype == torch.float32
        torch.testing.assert_close(a * keep, b * keep, atol=tol, rtol=tol)
        assert not a[~keep.squeeze(-1)].any()  # padding rows are zero
    no_v = TeacherOutputs(teacher, ids, 0, [], [1], with_v=False, dtype=dtype)
    assert no_v.features([1, 2], collate(ids, [1, 2], 0)[1], [], [1]).qkv[0][2] is None
    with pytest.raises(ValueError, match="not stored"):
        out.features([1], collate(ids, [1], 0)[1], [1], [])
