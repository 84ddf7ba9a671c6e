"""Issue 19: every student classifier of the quick preset trains (well above chance) on two seeds.

The quick preset's student recipe: token embeddings initialised by PCA of the (fine-tuned) teacher's and kept
frozen, 2 blocks, 12 heads, feed-forward 4x the width, dropout 0.1, AdamW at lr 1e-3 with warm-up, and each
method's loss; briefly trained (30 steps) on small generated reviews from the tiny teacher (the real teacher's
fine-tuning is too slow for a unit test). The tiny teacher is 48 wide, so the student is 48 wide here (quick:
96 of the teacher's 384). Random frozen embeddings instead of the PCA ones (what this test used before) leave
the students at 0.49-0.84 after 20 steps on six seeds: the initialisation is part of the recipe under test.
Measured with this test's settings on seeds 0-5: every student 0.85-0.95 (120 test reviews).
"""

from paperzoo.core.metrics import near_chance
from paperzoo.core.runner import run_experiment
from paperzoo.distill.methods import ALL_METHODS


def test_quick_students_end_above_chance_on_two_seeds(tmp_path):
    quick_students = {"student.layers": "2", "student.hidden": "48", "student.heads": "12",
                      "student.intermediate": "192", "student.init": "pca", "student.freeze_embeddings": "true",
                      "student.dropout": "0.1", "train.lr": "1e-3", "train.warmup": "0.1",
                      "data.n_synthetic": "240", "train.batch_size": "16", "train.epochs": "2", "train.save": "[]",
                      "seeds": "[0,1]"}
    rec = run_experiment("distill", preset="smoke", out=tmp_path / "r", quiet=True, overrides=quick_students)
    m = rec["metrics"]
    rows = rec_tables(tmp_path / "r")["students_per_seed"]["rows"]
    n_test = 120
    assert m["acc.teacher"] > 0.75
    for method in ALL_METHODS:
        per_seed = [r[2] for r in rows if r[0] == method]
        assert len(per_seed) == 2
        for acc in per_seed:
            assert acc > 0.7 and not near_chance(acc, 2, n_test), (method, per_seed, rows)


def rec_tables(folder):
    import json

    return json.loads((folder / "report.json").read_text())["tables"]


def _special_share(clf, ids, mask, blocks, heads, special):
    """Mean attention mass that queries put on special tokens, per block (from the hooked q/k)."""
    import torch

    from paperzoo.distill.losses import _masked_log_softmax, attention_scores
    from paperzoo.distill.models import forward_features

    with torch.no_grad():
        f = forward_features(clf, clf.backbone, ids, mask, [], blocks, heads, False, detach=True)
    rows = mask.bool()[:, None, :].expand(-1, heads, -1)
    return [float((_masked_log_softmax(attention_scores(q, k, heads), mask, False).exp()
                   * special[:, None, None, :]).sum(-1)[rows].mean()) for q, k, _ in f.qkv]


def test_attention_term_does_not_drag_students_onto_the_teachers_attention_sinks(tmp_path):
    """Issue 19: in the quick preset paper_minus_dist (α·hard + β·feat + γ·att) ended at the majority class on 3 of 5
    seeds (0.689 on a 4th). Cause: all-MiniLM-L6-v2 parks about half of its attention on [CLS]/[SEP]; aligning those
    maps (att_tokens=all) moved the student's q/k, where the attention term's gradient is ~10x the task loss's, onto
    the special tokens, and the hard loss then left the class-prior plateau too late. The full run is too slow for a
    test (and 640-800 reviews / 60-100 steps leave even nokd at the majority class), so this checks the cause: 40
    steps of paper_minus_dist's loss against the real pre-trained MiniLM on generated reviews, two seeds. With
    att_tokens=all the student's attention share on special tokens grows from 0.16 to 0.33-0.54 (the old behaviour,
    asserted too so the test shows it can fail); with the default (content) it falls to 0.11-0.14."""
    import torch

    from paperzoo.core.context import RunContext
    from paperzoo.core.runner import prepare
    from paperzoo.distill import experiment as E
    from paperzoo.distill.models import EncoderClassifier, load_encoder

    torch.set_num_threads(1)
    tok = E.load_tokenizer(E.minilm_dir())
    teacher = EncoderClassifier(load_encoder(E.minilm_dir()), 2).eval()  # its logits are unused without L_dist
    for p in teacher.parameters():
        p.requires_grad_(False)
    growth = {}
    for att in ("content", "all"):
        _, cfg, _, _ = prepare("distill", "quick", None, {
            "data.source": "synthetic", "data.n_synthetic": "320", "train.batch_size": "16", "train.epochs": "2",
            "train.methods": "[paper_minus_dist]", "train.teacher_cache": "none", "kd.att_tokens": att})
        assert (cfg.kd.beta, cfg.kd.gamma, cfg.student.hidden, cfg.student.init) == (0.1, 0.1, 96, "pca")
        ctx = RunContext(tmp_path, 0, "cpu", "quick", quiet=True)
        text = E.load_data(cfg.data, ctx)
        train = E.D.Encoded(tok, text.train_text, text.train_labels, cfg.data.max_len)
        ids, mask = E.D.collate(train.ids, list(range(64)), train.pad)
        special = (torch.isin(ids, torch.tensor(tok.all_special_ids)) & mask.bool()).float()
        teacher_share = _special_share(teacher, ids, mask, [2, 5], 12, special)
        assert min(teacher_share) > 2 * float(special.sum() / mask.sum())  # the teacher's sinks (0.65, 0.45 vs 0.16)
        for seed in (0, 1):
            (tr,) = E.build_trainees(cfg, teacher, 2, seed, ctx, tuple(tok.all_special_ids))
            before = _special_share(tr.model, ids, mask, [0, 1], 12, special)
            E.train_students(cfg, teacher, train, [tr], seed, None, ctx)
            after = _special_share(tr.model, ids, mask, [0, 1], 12, special)
            growth[att, seed] = max(a - b for a, b in zip(after, before, strict=True))
    for seed in (0, 1):
        assert growth["content", seed] < 0.02, growth  # the default: not pulled onto [CLS]/[SEP]
        assert growth["all", seed] > 0.04, growth  # the old behaviour, which this test would have caught
