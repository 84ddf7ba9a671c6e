"""core.textmetrics against hand-computed values and the reference libraries' conventions."""

import pytest

from paperzoo.core import textmetrics as T


def test_bleu_perfect_and_orders():
    assert T.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    # unigram precision 3/4 with no brevity penalty (same length): BLEU-1 = 75
    assert T.bleu(["a b c x"], ["a b c d"], order=1) == pytest.approx(75.0)
    assert T.bleu(["A B"], ["A B"], order=2, tokenize="none") == pytest.approx(100.0)


def test_rouge_l_forms():
    # LCS("a b c d", "a c d e") = 3: P = R = 3/4
    assert T.lcs_length("a b c d".split(), "a c d e".split()) == 3
    assert T.rouge_l(["a b c d"], ["a c d e"]) == pytest.approx(0.75)
    assert T.rouge_l_coco(["a b c d"], ["a c d e"]) == pytest.approx(0.75)
    # P = 2/2, R = 2/4, beta = 1.2: (1 + 1.44) * 1 * 0.5 / (0.5 + 1.44 * 1)
    assert T.rouge_l_coco(["a b"], ["a x b y"]) == pytest.approx(2.44 * 0.5 / 1.94)
    assert T.rouge_l_coco(["q"], ["a b"]) == 0.0


def test_wer_cer():
    assert T.wer(["a b d"], ["a b c"]) == pytest.approx(1 / 3)
    assert T.wer([""], ["a b c"]) == pytest.approx(1.0)
    assert T.cer(["abd"], ["abc"]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="one reference per hypothesis"):
        T.wer(["a"], [])
