"""Students cut from a decoder teacher: block influence, layer choice, shared embeddings, MLP width pruning."""

import numpy as np
import pytest
import torch

from paperzoo.distill.lm import greedy
from paperzoo.distill.models import llama_decoder
from paperzoo.distill.prune import block_influence, cut_student, mlp_importance, prune_mlp, select_layers


@pytest.fixture
def tiny_llama():
    """A tied-embedding decoder like SmolLM2 (3 blocks, grouped-query attention)."""
    torch.manual_seed(0)
    return llama_decoder(60, 3, 32, 4, 2, 64, max_positions=64).eval()


def _x(n=3, length=7, seed=0):
    return torch.randint(3, 60, (n, length), generator=torch.Generator().manual_seed(seed))


def test_block_influence_from_hidden_states(tiny_llama):
    x = _x()
    bi = block_influence(tiny_llama, x, batch_size=2)
    with torch.no_grad():
        hs = tiny_llama(input_ids=x, output_hidden_states=True).hidden_states
    # hidden_states[k+1] is block k's output except for the last block (HF reports it after the final norm)
    for k in range(2):
        cos = torch.nn.functional.cosine_similarity(hs[k], hs[k + 1], dim=-1)
        assert bi[k] == pytest.approx(float((1 - cos).mean()), rel=1e-5)
    assert len(bi) == 3 and np.all(bi > 0)


def test_select_layers():
    bi = np.array([0.9, 0.1, 0.3, 0.05, 0.5, 0.2])
    assert select_layers("importance", 3, 6, bi) == [0, 2, 4]
    assert select_layers("uniform", 3, 6) == [1, 3, 5]
    with pytest.raises(ValueError, match=r"\[1, 6\]"):
        select_layers("importance", 7, 6, bi)
    with pytest.raises(ValueError, match="valid: importance, uniform"):
        select_layers("middle", 2, 6, bi)


def test_cut_student_runs_the_kept_blocks_and_shares_embeddings(tiny_llama):
    x = _x()
    full = cut_student(tiny_llama, [0, 1, 2])
    with torch.no_grad():
        assert torch.allclose(full(input_ids=x).logits, tiny_llama(input_ids=x).logits, atol=1e-6)
    st = cut_student(tiny_llama, [0, 2])
    assert st.config.num_hidden_layers == 2 and tiny_llama.config.num_hidden_layers == 3
    assert len(tiny_llama.model.layers) == 3  # the teacher is untouched
    assert st.model.embed_tokens.weight is tiny_llama.model.embed_tokens.weight
    assert st.lm_head.weight is st.model.embed_tokens.weight and not st.model.embed_tokens.weight.requires_grad
    assert all(p.requires_grad for n, p in st.named_parameters() if "embed_tokens" not in n)
    # by hand: embeddings -> teacher block 0 -> teacher block 2 -> final norm -> tied head
    with torch.no_grad():
        h = tiny_llama.model.embed_tokens(x)
        pos = torch.arange(x.shape[1])[None]
        rope = tiny_llama.model.rotary_emb(h, pos)
        causal = torch.full((x.shape[1], x.shape[1]), float("-inf")).triu(1)[None, None]
        for j in (0, 2):
            h = tiny_llama.model.layers[j](h, attention_mask=causal, position_embeddings=rope, position_ids=pos)
            h = h[0] if isinstance(h, tuple) else h
        manual = tiny_llama.lm_head(tiny_llama.model.norm(h))
        assert torch.allclose(st(input_ids=x).logits, manual, atol=1e-5)
    st.model.layers[0].mlp.up_proj.weight.data += 1.0  # the copy is independent of the teacher's block
    assert not torch.equal(st.model.layers[0].mlp.up_proj.weight, tiny_llama.model.layers[0].mlp.up_proj.weight)
    # the KV cache is indexed by the student's own block positions
    assert torch.equal(greedy(st, x[:, :4], 3), _argmax_loop(st, x[:, :4], 3))


def _argmax_loop(model, x, n):
    with torch.no_grad():
        for _ in range(n):
            x = torch.cat([x, model(input_ids=x).logits[:, -1].argmax(-1, keepdim=True)], 1)
    return x[:, -n:]


def test_prune_mlp_keeps_the_most_active_neurons(tiny_llama):
    x = _x()
    st = cut_student(tiny_llama, [0, 1])
    same = cut_student(tiny_llama, [0, 1])
    prune_mlp(same, mlp_importance(same, x), 64)  # full width: a permutation-free no-op
    with torch.no_grad():
        assert torch.allclose(same(input_ids=x).logits, st(input_ids=x).logits, atol=1e-5)
    imp = mlp_importance(st, x)
    mlp = st.model.layers[1].mlp
    with torch.no_grad():  # importance = mean |act(gate x) * up x| of the MLP input, computed by hand
        captured = {}
        h = mlp.register_forward_hook(lambda m, i, o: captured.setdefault("x", i[0]))
        st(input_ids=x)
        h.remove()
        act = (mlp.act_fn(mlp.gate_proj(captured["x"])) * mlp.up_proj(captured["x"])).abs().mean((0, 1))
    assert torch.allclose(imp[1], act, atol=1e-5)
    top = torch.sort(torch.topk(act, 16).indices).values
    w_down = mlp.down_proj.weight[:, top].clone()
    kept = prune_mlp(st, imp, 16)
    assert kept[1] == top.tolist() and st.config.intermediate_size == 16
    assert torch.equal(st.model.layers[1].mlp.down_proj.weight, w_down)
    assert st(input_ids=x).logits.shape == (3, 7, 60)
