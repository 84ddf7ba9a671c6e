"""Weights in safetensors: the trained models of a run, and pretrained ViT weights (timm names) to start from.

Pretrained ViT (the authors start from ViT-B/16): `cls_token` is repeated into the extra + class tokens (the
extra tokens are re-initialised, as the authors do), `pos_embed`'s patch grid is resized bicubically to the
model's grid, `patch_embed.proj` -> `embed`, `blocks.i.attn.qkv/proj` -> `blocks.i.qkv/proj`,
`blocks.i.mlp.fc1/fc2` -> `blocks.i.mlp.0/2`. Heads, GCR and decoder start from scratch.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from paperzoo.core.errors import DataError

from .model import MultiTokenViT


def save_model(model: MultiTokenViT, path: Path, metadata: dict[str, str] | None = None) -> Path:
    """Write the model's state dict as safetensors (atomically)."""
    from safetensors.torch import save

    from paperzoo.core.io import atomic_write_bytes

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return atomic_write_bytes(path, save(state, metadata=metadata))


def _read(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable safetensors file ({exc})") from None


def load_model(model: MultiTokenViT, path: Path) -> MultiTokenViT:
    """Load a model written by `save_model` (shapes must match the config)."""
    state = _read(Path(path))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise DataError(f"{path}: weights do not fit this model config ({str(exc).splitlines()[0]})") from None
    return model


def timm_to_ours(state: dict[str, torch.Tensor], model: MultiTokenViT) -> dict[str, torch.Tensor]:
    """Rename and reshape timm ViT weights for `model` (see the module docstring)."""
    out: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        name = (k.replace("patch_embed.proj", "embed").replace("attn.qkv", "qkv").replace("attn.proj", "proj")
                .replace("mlp.fc1", "mlp.0").replace("mlp.fc2", "mlp.2"))
        if name.startswith(("embed.", "blocks.", "norm.")):
            out[name] = v
    if "cls_token" in state:
        tokens = state["cls_token"].reshape(1, 1, -1).repeat(1, model.n_prefix, 1)
        if tokens.shape == model.tokens.shape:  # a mismatch is reported by load_vit_weights
            tokens[:, :model.cfg.extra_tokens] = model.tokens.detach()[:, :model.cfg.extra_tokens]
        out["tokens"] = tokens
    if "pos_embed" in state:
        pos = state["pos_embed"]
        n_old = pos.shape[1] - 1
        side = int(math.isqrt(n_old))
        if side * side != n_old:
            raise DataError(f"pos_embed has {n_old} patch positions, not a square grid")
        grid = pos[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(model.grid, model.grid), mode="bicubic", align_corners=False)
        prefix = pos[:, :1].repeat(1, model.n_prefix, 1)
        out["pos"] = torch.cat([prefix, grid.flatten(2).transpose(1, 2)], dim=1)
    return out


def load_vit_weights(model: MultiTokenViT, path: str | Path) -> MultiTokenViT:
    """Initialise the backbone from pretrained ViT weights in safetensors (timm names)."""
    path = Path(path)
    mapped = timm_to_ours(_read(path), model)
    own = model.state_dict()
    bad = [k for k, v in mapped.items() if k not in own or own[k].shape != v.shape]
    if bad or not mapped:
        first = bad[0] if bad else "(none)"
        detail = f"{own[first].shape} here vs {mapped[first].shape} in the file" if bad and first in own else ""
        raise DataError(f"{path}: {len(bad)} tensors do not fit the model ({first} {detail}); expected timm ViT "
                        f"weights with model.dim={model.cfg.dim}, model.depth={model.cfg.depth}, "
                        f"model.patch={model.cfg.patch}")
    model.load_state_dict(mapped, strict=False)
    return model
