"""Progressive Transformer decoding, the LVMCN losses (CSA, MSC) on constructed inputs, and short trainings."""

import numpy as np
import pytest
import torch

from paperzoo.core.distributed import Distributed
from paperzoo.signprod.batching import gloss_vocab, pose_batch
from paperzoo.signprod.data import SignLanguage, SyntheticConfig
from paperzoo.signprod.lvmcn import LVMCN, LVMCNConfig, association, comparator_loss, diagonal_loss, order_loss
from paperzoo.signprod.model import ModelConfig, ProgressiveTransformer, counter_says_stop
from paperzoo.signprod.pipeline import prepare, train_evaluator, train_producer
from paperzoo.signprod.train import TrainConfig

TINY = ModelConfig(d_model=16, heads=2, ff=32, enc_layers=1, dec_layers=2)


def masks(b, n, m):
    return torch.zeros(b, n, dtype=torch.bool), torch.zeros(b, m, dtype=torch.bool)


@pytest.mark.parametrize("name", ["pt", "lvmcn"])
def test_incremental_decoding_equals_the_teacher_forced_pass(name):
    torch.manual_seed(0)
    model = (ProgressiveTransformer(20, TINY) if name == "pt" else LVMCN(20, TINY, LVMCNConfig(feature_dim=8))).eval()
    src = torch.randint(4, 20, (3, 5))
    src_pad = torch.zeros(3, 5, dtype=torch.bool)
    src_pad[0, 3:] = True
    frames, lengths = model.generate(src, src_pad, 9)
    assert frames.shape[1] == 1 + int(lengths.max()) and torch.all(frames[:, 0] == 0)
    gen = frames[:, 1:]
    out = model(src, src_pad, gen, torch.zeros(3, gen.shape[1], dtype=torch.bool))
    again = model.denormalise(out.pred)
    again[..., 150] = again[..., 150].clamp(0, 0.9999)
    torch.testing.assert_close(again, gen, atol=2e-5, rtol=1e-4)


def test_ground_truth_length_protocol_makes_exactly_T_frames():
    torch.manual_seed(1)
    model = ProgressiveTransformer(20, TINY).eval()
    src = torch.randint(4, 20, (2, 4))
    frames, lengths = model.generate(src, torch.zeros(2, 4, dtype=torch.bool), 50, torch.tensor([3, 7]))
    assert lengths.tolist() == [3, 7] and frames.shape[1] == 8


@pytest.mark.parametrize("T", [2, 5, 16, 200])
def test_an_exact_counter_stops_decoding_at_the_true_length(T):
    stops = [t for t in range(3 * T) if bool(counter_says_stop(torch.tensor(t / T), t))]
    assert stops[0] == T - 1, "the last true frame has counter (T-1)/T"


def identity_alignment(n):
    a = torch.eye(n)[None]
    src_pad, trg_pad = masks(1, n, n)
    return a, src_pad, trg_pad


@pytest.mark.parametrize("n", [3, 6])
def test_csa_losses_vanish_on_the_monotonic_diagonal_and_punish_the_reversed_one(n):
    a, src_pad, trg_pad = identity_alignment(n)
    reversed_a = a.flip(1)
    assert diagonal_loss(a, src_pad, trg_pad, 0.2).item() == pytest.approx(0.0, abs=1e-7)
    assert order_loss(a, src_pad, trg_pad).item() == pytest.approx(0.0, abs=1e-7)
    assert diagonal_loss(reversed_a, src_pad, trg_pad, 0.2).item() > 0.3
    # reversed: every step goes back by 1/(n-1), and both ends are off by 1: 1 + 1 + 1
    assert order_loss(reversed_a, src_pad, trg_pad).item() == pytest.approx(3.0)


def test_order_loss_ignores_padding_and_a_single_gloss():
    a = torch.zeros(1, 4, 5)
    a[0, 0, :2], a[0, 1, 2:] = 1, 1  # two glosses (2 padded), 5 frames of which the last 2 are padding
    src_pad = torch.tensor([[False, False, True, True]])
    trg_pad = torch.tensor([[False, False, False, True, True]])
    assert order_loss(a, src_pad, trg_pad).item() == pytest.approx(0.0)
    single = torch.ones(1, 1, 3)
    assert order_loss(single, *masks(1, 1, 3)).item() == pytest.approx(0.0)


def test_association_is_a_cosine_softmax_over_unpadded_glosses():
    t = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]]])
    v = torch.tensor([[[3.0, 0.0], [0.0, 1.0]]])
    src_pad = torch.tensor([[False, False, True]])
    s, a = association(t, v, src_pad, tau=0.5)
    torch.testing.assert_close(s[0, :2], torch.eye(2))
    assert torch.all(a[0, 2] == 0) and torch.allclose(a.sum(1), torch.ones(1, 2))
    assert a[0, 0, 0] == pytest.approx(np.exp(2) / (np.exp(2) + 1))


def hinge_by_hand(g, p, same, margin, hardest):
    g = g / np.linalg.norm(g, axis=1, keepdims=True)
    p = p / np.linalg.norm(p, axis=1, keepdims=True)
    out = []
    for i in range(len(g)):
        c1 = [max(0, margin - g[i] @ p[i] + g[i] @ p[j]) for j in range(len(g)) if not same[i][j]]
        c2 = [max(0, margin - g[i] @ p[i] + p[i] @ g[j]) for j in range(len(g)) if not same[i][j]]
        out.append((max(c1, default=0) + max(c2, default=0)) if hardest else sum(c1) + sum(c2))
    return np.array(out)


@pytest.mark.parametrize("mode", ["sum", "hardest"])
def test_comparator_hinge_on_constructed_pairs(mode):
    eye = torch.eye(2)
    no = torch.eye(2, dtype=torch.bool)
    matched = comparator_loss(eye, eye, eye, eye, no, 0.2, mode)
    assert torch.all(matched == 0), "matching pairs closer than every negative by more than the margin cost nothing"
    swapped = eye.flip(0)
    crossed = comparator_loss(eye, swapped, eye, swapped, no, 0.2, mode)
    torch.testing.assert_close(crossed, torch.tensor([2.4, 2.4]))  # 0.2 - 0 + 1 in both directions
    rng = np.random.default_rng(0)
    g, p = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    same = np.eye(4, dtype=bool)
    same[1, 2] = same[2, 1] = True  # identical gloss sequences are never negatives
    got = comparator_loss(torch.tensor(g), torch.tensor(p), torch.tensor(g), torch.tensor(p), torch.tensor(same), 0.3,
                          mode)
    np.testing.assert_allclose(got.numpy(), hinge_by_hand(g, p, same, 0.3, mode == "hardest"), rtol=1e-10)


@pytest.fixture(scope="module")
def prep():
    cfg = SyntheticConfig(n_glosses=30, n_train=48, n_dev=8, n_test=8, max_glosses=4, frames_per_gloss=5)
    return prepare(SignLanguage(cfg).corpus())


@pytest.mark.parametrize("name,terms", [("pt", {"acc"}), ("lvmcn", {"acc", "ali", "com"}),
                                        ("lvmcn_minus_csa", {"acc", "com"}), ("lvmcn_minus_msc", {"acc", "ali"})])
def test_every_variant_trains_its_terms_and_its_loss_falls(prep, name, terms):
    model, history = train_producer(name, prep, TINY, LVMCNConfig(feature_dim=8),
                                    TrainConfig(epochs=3, batch_size=16, lr=3e-3, warmup=2), 0.5, seed=0,
                                    dist=Distributed())
    assert set(history.terms) == terms and len(history.dev) == 3
    assert history.terms["acc"][-1] < 0.7 * history.terms["acc"][0]
    assert not model.training


def test_noise_and_rows_of_a_global_batch_do_not_depend_on_the_slice(prep):
    from paperzoo.signprod.train import Slice

    train = prep.splits["train"]
    idx = np.array([5, 1, 7, 3, 2])
    whole = pose_batch(train, idx, None, noise=0.5, seed=3, step=4)
    part = pose_batch(train, idx, Slice(np.array([3, 4]), 1.0, [3, 2]), noise=0.5, seed=3, step=4)
    n = part.frames.shape[1]
    torch.testing.assert_close(part.frames, whole.frames[3:, :n])
    torch.testing.assert_close(part.noise, whole.noise[3:, : n - 1])
    assert part.rows.tolist() == [3, 4] and part.same.shape == (2, 5)


def test_the_back_translation_evaluator_learns_above_chance_on_two_seeds():
    """Issue 19: the system's classifier (CTC gloss recognition) ends far above chance, briefly trained."""
    from paperzoo.signprod.evaluation import read
    from paperzoo.signprod.evaluator import EvaluatorConfig
    from paperzoo.signprod.scores import gloss_wer

    cfg = SyntheticConfig(n_glosses=30, n_train=64, n_dev=8, n_test=8, max_glosses=3, frames_per_gloss=4)
    small = prepare(SignLanguage(cfg).corpus())
    train, test = small.splits["train"], small.splits["test"]
    for seed in (0, 1):
        model, history = train_evaluator(small, EvaluatorConfig(d_model=32, heads=2, ff=64, layers=1, max_words=12),
                                         TrainConfig(epochs=20, batch_size=8, lr=3e-3, warmup=5), seed=seed,
                                         dist=Distributed())
        assert history.terms["ctc"][-1] < 0.3 * history.terms["ctc"][0]
        # emitting nothing, or guessing, scores a WER of about 100 %; reading the poses scores far less
        assert gloss_wer(read(model, train.frames, small.gv, small.tv, Distributed()).glosses,
                         train.gloss_strings) < 60
        assert gloss_wer(read(model, test.frames, small.gv, small.tv, Distributed()).glosses,
                         test.gloss_strings) < 85


def test_gloss_vocabulary_is_pt_src_vocab():
    v = gloss_vocab(["REGEN", "SONNE"])
    assert v.tokens[:4] == ["<unk>", "<pad>", "<s>", "</s>"] and v.encode(["SONNE", "XYZ"]).tolist() == [5, 0]
