import math

import pytest
import torch

from paperzoo.core.schedules import warmup_decay


def test_warmup_is_linear_and_reaches_the_base_rate():
    f = warmup_decay(100, 10, "cosine")
    assert [f(s) for s in range(10)] == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert f(10) == 1.0


@pytest.mark.parametrize("decay,mid,end", [("cosine", 0.5, 0.0), ("poly", 0.5, 0.0), ("linear", 0.5, 0.0)])
def test_decays_match_their_closed_form_at_the_middle_and_the_end(decay, mid, end):
    f = warmup_decay(110, 10, decay)
    assert f(60) == pytest.approx(mid)
    assert f(110) == pytest.approx(end, abs=1e-12)


def test_poly_power_and_floor():
    f = warmup_decay(20, 0, "poly", power=0.9)
    assert f(5) == pytest.approx((1 - 5 / 20) ** 0.9)
    g = warmup_decay(20, 0, "cosine", floor=0.1)
    assert g(20) == pytest.approx(0.1)
    assert g(10) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2)))


def test_drives_lambdalr_like_the_formula():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_decay(8, 2, "linear"))
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.2, 0.2, 6 / 6 * 0.2 * 5 / 6, 0.2 * 4 / 6, 0.2 * 3 / 6, 0.2 * 2 / 6, 0.2 / 6])


@pytest.mark.parametrize("kwargs,match", [({"decay": "step"}, "decay must be one of"),
                                          ({"total": 0}, "total >= 1"), ({"floor": 1.0}, "floor")])
def test_bad_arguments_say_what_is_valid(kwargs, match):
    args = {"total": 10, "warmup": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        warmup_decay(**args)
