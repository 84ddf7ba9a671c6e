"""DTW-MJE as PT computes it (hand-computed paths, vectorised = plain), and the field's score conventions."""

import numpy as np
import pytest
from scipy import linalg

from paperzoo.core import textmetrics
from paperzoo.signprod.dtw import accumulated_cost, cut_hypothesis, cut_reference, dtw_mje, dtw_plain
from paperzoo.signprod.scores import frechet_distance, gloss_wer, mpjpe, raw_corpus_bleu, resample, text_scores


def frames(values, counters, joint_slots=(0,)):
    """Frames whose joint values are 0 except `values` in the given slots; the counter last."""
    f = np.zeros((len(values), 151))
    for k in joint_slots:
        f[:, k] = values
    f[:, -1] = counters
    return f


def test_dtw_of_a_hand_computed_path():
    # reference [0, 1, 2] (+ its last frame, cut at the counter's argmax), hypothesis BOS + [0, 2, 1, 2] (+ one
    # frame after its counter's argmax). Cost rows r = 0, 1, 2 against h = 0, 2, 1, 2; the best path
    # (0,0) (1,1) (1,2) (2,3) costs 0 + 1 + 0 + 0 = 1; divided by the reference length 3.
    ref = frames([0, 1, 2, 9], [0, 0.25, 0.5, 0.75])
    hyp = frames([5, 0, 2, 1, 2, 7], [0, 0, 0.2, 0.4, 0.6, 0.8])
    assert cut_reference(ref).shape == (3, 150) and cut_hypothesis(hyp).shape == (4, 150)
    assert dtw_plain(ref, hyp) == pytest.approx(1 / 3)
    assert dtw_mje([ref], [hyp])[0] == pytest.approx(1 / 3)
    ref2 = frames([0, 1, 2, 9], [0, 0.25, 0.5, 0.75], (0, 77))
    hyp2 = frames([5, 0, 2, 1, 2, 7], [0, 0, 0.2, 0.4, 0.6, 0.8], (0, 77))
    assert dtw_mje([ref2], [hyp2])[0] == pytest.approx(2 / 3), "L1 over the 150 joint values"


def test_dtw_cuts_at_the_first_counter_maximum_and_keeps_one_frame_at_least():
    ref = frames([3, 1, 1], [0, 0, 0])  # argmax 0 -> one frame is kept
    hyp = frames([9, 2, 5], [0, 0.5, 0.5])  # BOS dropped, first max at index 0 -> one frame
    assert cut_reference(ref).shape[0] == 1 and cut_hypothesis(hyp).shape[0] == 1
    assert dtw_mje([ref], [hyp])[0] == pytest.approx(1.0) == dtw_plain(ref, hyp)
    with pytest.raises(ValueError, match="after its BOS frame"):
        cut_hypothesis(frames([1], [0]))


def test_a_sequence_against_itself_costs_zero_and_time_stretching_is_free():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 151))
    x[:, -1] = np.arange(10) / 10
    stretched = np.concatenate([np.repeat(x[:9], 2, axis=0), x[9:]])  # the last frame is cut from both
    stretched[:, -1] = np.arange(19) / 19
    bos = np.zeros((1, 151))
    assert dtw_mje([x], [np.concatenate([bos, x])])[0] == pytest.approx(0.0)
    assert dtw_mje([x], [np.concatenate([bos, stretched])])[0] == pytest.approx(0.0)


def test_vectorised_dtw_equals_the_plain_programme():
    rng = np.random.default_rng(0)
    refs, hyps = [], []
    for n, m in [(1, 1), (2, 7), (7, 2), (12, 12), (30, 17), (5, 40), (23, 23), (9, 31)]:
        r, h = rng.normal(size=(n + 1, 151)), rng.normal(size=(m + 1, 151))
        r[:, -1], h[:, -1] = np.arange(n + 1) / (n + 1), np.concatenate([[0], np.arange(m) / m])
        refs.append(r)
        hyps.append(h)
    plain = np.array([dtw_plain(r, h) for r, h in zip(refs, hyps, strict=True)])
    for chunk in (1, 3, 64):
        np.testing.assert_allclose(dtw_mje(refs, hyps, chunk=chunk), plain, rtol=1e-12)


def test_accumulated_cost_on_a_padded_batch():
    cost = np.array([[[1.0, 2.0, 9.0], [3.0, 1.0, 9.0], [9.0, 9.0, 9.0]],
                     [[0.0, 5.0, 1.0], [1.0, 0.0, 2.0], [4.0, 1.0, 0.0]]])
    # pair 0 uses the top-left 2x2 block: 1 + 1 = 2; pair 1 the full 3x3: the diagonal 0 + 0 + 0
    np.testing.assert_allclose(accumulated_cost(cost, np.array([2, 3]), np.array([2, 3])), [2.0, 0.0])


def test_raw_corpus_bleu_is_cumulative_and_unsmoothed():
    hyp, ref = ["a b c d"], ["a b c e"]  # precisions 3/4, 2/3, 1/2, 0/1; no brevity penalty
    assert raw_corpus_bleu(hyp, ref, 1) == pytest.approx(75.0)
    assert raw_corpus_bleu(hyp, ref, 2) == pytest.approx(100 * np.sqrt(3 / 4 * 2 / 3))
    assert raw_corpus_bleu(hyp, ref, 3) == pytest.approx(100 * (3 / 4 * 2 / 3 * 1 / 2) ** (1 / 3))
    assert raw_corpus_bleu(hyp, ref, 4) == 0.0, "no smoothing: a missing 4-gram match gives 0"
    assert textmetrics.bleu(hyp, ref, 4, tokenize="none") > 0, "core's BLEU smooths (the reason for raw_corpus_bleu)"
    assert raw_corpus_bleu(["a b"], ["a b c d"], 1) == pytest.approx(100 * np.exp(1 - 4 / 2)), "brevity penalty"
    assert raw_corpus_bleu(["x y z w"], ["x y z w"], 4) == pytest.approx(100.0)
    assert raw_corpus_bleu(["Regen ."], ["regen ."], 1) == pytest.approx(50.0), "no lower-casing, no tokenising"


def test_rouge_is_the_coco_form_and_wer_is_corpus_level():
    scores = text_scores(["a b c"], ["a c d e"])  # LCS 2: P = 2/3, R = 1/2, beta = 1.2
    p, r, b2 = 2 / 3, 1 / 2, 1.44
    assert scores["rougeL"] == pytest.approx(100 * (1 + b2) * p * r / (r + b2 * p))
    assert gloss_wer(["A B"], ["A C D"]) == pytest.approx(100 * 2 / 3)
    assert gloss_wer(["A", "B C"], ["A", "B D E"]) == pytest.approx(50.0), "edits / reference glosses over the corpus"


def test_frechet_distance_matches_scipy_sqrtm_and_closed_forms():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(40, 6))
    b = rng.normal(size=(30, 6)) @ rng.normal(size=(6, 6)) + 2
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    mu = a.mean(0) - b.mean(0)
    expected = mu @ mu + np.trace(ca + cb - 2 * linalg.sqrtm(ca @ cb).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(a, a + np.arange(6)) == pytest.approx(float(np.sum(np.arange(6) ** 2)))


def test_mpjpe_mean_and_summed_and_time_resampling():
    rng = np.random.default_rng(4)
    ref = rng.normal(size=(8, 151))
    hyp = ref.copy()
    hyp[:, 0:150:3] += 0.1  # every joint off by 0.1 in x
    mean, summed, per_seq = mpjpe([ref], [hyp[:, :150]])
    assert mean == pytest.approx(0.1) and summed == pytest.approx(5.0) and per_seq.shape == (1,)
    line = np.linspace(0, 1, 5)[:, None] * np.ones((1, 3))
    np.testing.assert_allclose(resample(line, 9), np.linspace(0, 1, 9)[:, None] * np.ones((1, 3)))
