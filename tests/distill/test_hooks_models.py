import pytest
import torch

from paperzoo.distill.hooks import FeatureCapture, find_blocks, qkv_paths
from paperzoo.distill.losses import LossWeights, Projections, attention_scores
from paperzoo.distill.models import (
    EncoderClassifier,
    forward_features,
    init_embeddings_pca,
    init_layers_from_teacher,
    load_student,
    save_student,
)


def _batch(vocab, B=2, L=7):
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(3, vocab, (B, L), generator=g)
    mask = torch.ones(B, L, dtype=torch.long)
    mask[1, 4:] = 0
    return ids, mask


def test_hooks_match_output_hidden_states_bert(tiny_bert):
    ids, mask = _batch(50)
    paths = ["embeddings"] + [f"encoder.layer.{i}" for i in range(3)]
    with torch.no_grad(), FeatureCapture(tiny_bert, paths) as cap:
        out = tiny_bert(input_ids=ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)
    for k, p in enumerate(paths):
        assert torch.allclose(cap[p], out.hidden_states[k], atol=1e-6)
    # attention probabilities recomputed from hooked q/k equal output_attentions on valid keys
    q, k, _ = qkv_paths(tiny_bert, 1)
    with torch.no_grad(), FeatureCapture(tiny_bert, [q, k]) as cap:
        tiny_bert(input_ids=ids, attention_mask=mask)
    s = attention_scores(cap[q], cap[k], 4).masked_fill(~mask.bool()[:, None, None, :], -1e4)
    assert torch.allclose(torch.softmax(s, -1), out.attentions[1], atol=1e-5)
    assert not FeatureCapture(tiny_bert, paths)._handles  # hooks removed after the context
    with pytest.raises(ValueError, match="not found"):
        FeatureCapture(tiny_bert, ["encoder.nope"])


def test_hooks_match_output_hidden_states_llama(tiny_llama):
    ids, mask = _batch(60)
    bb = tiny_llama.model
    assert find_blocks(bb) == ("layers", 3)
    with torch.no_grad(), FeatureCapture(bb, ["layers.0", "layers.1"]) as cap:
        out = tiny_llama(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    # hidden_states[k+1] is block k's output for all but the last block (which HF reports after the final norm)
    assert torch.allclose(cap["layers.0"], out.hidden_states[1], atol=1e-6)
    assert torch.allclose(cap["layers.1"], out.hidden_states[2], atol=1e-6)
    assert qkv_paths(bb, 2)[1] == "layers.2.self_attn.k_proj"


def test_save_load_student_with_projections(tmp_path, tiny_bert):
    clf = EncoderClassifier(tiny_bert, 3)
    proj = Projections(16, 24, 2)
    save_student(tmp_path / "s.safetensors", clf, proj, {"note": "x"})
    clf2 = EncoderClassifier(type(tiny_bert)(tiny_bert.config, add_pooling_layer=False), 3)
    proj2 = Projections(16, 24, 2)
    meta = load_student(tmp_path / "s.safetensors", clf2, proj2)
    assert meta == {"note": "x"}
    for a, b in zip(clf.state_dict().values(), clf2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(proj.maps[1].weight, proj2.maps[1].weight)
    with pytest.raises(RuntimeError):
        load_student(tmp_path / "s.safetensors", clf2, Projections(16, 24, 3))


def test_pca_and_layer_init(tiny_bert):
    from transformers import BertConfig, BertModel

    small = BertModel(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=16, max_position_embeddings=32), add_pooling_layer=False)
    init_embeddings_pca(small, tiny_bert)
    t = tiny_bert.embeddings.word_embeddings.weight.detach()
    s = small.embeddings.word_embeddings.weight.detach()
    tc = t - t.mean(0)
    # PCA keeps the top singular values of the centred teacher embeddings
    assert torch.allclose(torch.linalg.svdvals(s)[:8], torch.linalg.svdvals(tc)[:8], atol=1e-4)
    same = BertModel(tiny_bert.config, add_pooling_layer=False)
    same.encoder.layer = same.encoder.layer[:2]
    init_layers_from_teacher(same, tiny_bert, [0, 2])
    assert torch.equal(same.encoder.layer[1].output.dense.weight, tiny_bert.encoder.layer[2].output.dense.weight)


def test_bert_distillation_step_end_to_end(tiny_bert):
    from paperzoo.distill.models import bert_student
    from paperzoo.distill.train import Teacher, TrainConfig, Trainee, fit

    torch.manual_seed(1)
    teacher = EncoderClassifier(tiny_bert, 2).eval()
    student = EncoderClassifier(bert_student(tiny_bert.config, 1, 8, 4, 16), 2)
    ids, mask = _batch(50, B=4)
    y = torch.tensor([0, 1, 1, 0])
    batches = [(ids, mask, y)]
    w = LossWeights(1, 1, 1, 1, tau=2.0, att_kind="score_mse")
    proj = Projections(8, 16, 2)
    tr = Trainee("paper", student, student.backbone, w, [(0, 0), (1, 3)], [(0, 2)], proj, 4, lr=1e-2)
    before = student.head.weight.detach().clone()
    pbefore = proj.maps[1].weight.detach().clone()
    fit([tr], lambda e: batches, TrainConfig(epochs=3, warmup=0.0), Teacher(teacher, teacher.backbone, 4))
    assert not torch.equal(before, student.head.weight) and not torch.equal(pbefore, proj.maps[1].weight)
    h = tr.history
    assert len(h) == 3 and set(h[0]) >= {"hard", "feat", "att", "dist"}
    assert h[-1]["loss"] < h[0]["loss"]


def test_llama_distillation_step_end_to_end(tiny_llama):
    from paperzoo.distill.models import llama_decoder
    from paperzoo.distill.train import Teacher, TrainConfig, Trainee, fit

    torch.manual_seed(2)
    student = llama_decoder(60, 1, 16, 2, 1, 32)
    ids, mask = _batch(60, B=2, L=6)
    target = torch.cat([ids[:, 1:], torch.full((2, 1), -100)], 1).masked_fill(
        torch.cat([mask[:, 1:], torch.zeros(2, 1, dtype=torch.long)], 1) == 0, -100)
    w = LossWeights(1, 1, 1, 1, tau=1.0, att_kind="relation", rel_heads=2)
    tr = Trainee("paper", student, student.model, w, [(1, 3)], [(0, 2)], Projections(16, 32, 1), 2, causal=True,
                 lr=1e-2)
    fit([tr], lambda e: [(ids, mask, target)], TrainConfig(epochs=4, warmup=0.0),
        Teacher(tiny_llama, tiny_llama.model, 4, causal=True))
    assert tr.history[-1]["loss"] < tr.history[0]["loss"]
    f = forward_features(student, student.model, ids, mask, [0, 1], [0], 2, True)
    assert f.logits.shape == (2, 6, 60) and f.hidden[0].shape == (2, 6, 16) and f.qkv[0][1].shape == (2, 6, 8)
