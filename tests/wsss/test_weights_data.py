"""Safetensors in and out (timm ViT names mapped onto the model), and real-format datasets through load_data."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from paperzoo.core.errors import DataError
from paperzoo.wsss.data import DataConfig, load_data
from paperzoo.wsss.model import MultiTokenViT, ViTConfig
from paperzoo.wsss.weights import load_model, load_vit_weights, save_model
from tests.wsss.test_formats import make_voc

CFG = ViTConfig(image_size=32, patch=8, dim=16, depth=3, heads=2, n_classes=3, decoder_dim=8)


def _timm_state(model: MultiTokenViT, grid: int) -> dict[str, torch.Tensor]:
    """A ViT checkpoint in timm's names, built from random tensors of the right shapes."""
    g = torch.Generator().manual_seed(0)
    state = {"cls_token": torch.randn(1, 1, 16, generator=g), "pos_embed": torch.randn(1, 1 + grid ** 2, 16,
                                                                                      generator=g)}
    for k, v in model.state_dict().items():
        if k.startswith(("embed.", "blocks.", "norm.")):
            name = (k.replace("embed.", "patch_embed.proj.", 1) if k.startswith("embed.") else k)
            name = name.replace(".qkv", ".attn.qkv").replace(".proj.", ".attn.proj.").replace("mlp.0", "mlp.fc1")
            name = name.replace("mlp.2", "mlp.fc2").replace("patch_embed.attn.proj.", "patch_embed.proj.")
            state[name] = torch.randn(v.shape, generator=g)
    return state


def test_timm_weights_load_into_the_backbone(tmp_path):
    model = MultiTokenViT(CFG)
    state = _timm_state(model, grid=8)  # a 8x8 checkpoint grid, resized to the model's 4x4
    save_file(state, str(tmp_path / "vit.safetensors"))
    load_vit_weights(model, tmp_path / "vit.safetensors")
    torch.testing.assert_close(model.blocks[1].qkv.weight, state["blocks.1.attn.qkv.weight"])
    torch.testing.assert_close(model.blocks[2].mlp[2].bias, state["blocks.2.mlp.fc2.bias"])
    torch.testing.assert_close(model.embed.weight, state["patch_embed.proj.weight"])
    assert torch.equal(model.tokens[0, -1], state["cls_token"][0, 0])  # class tokens from the cls token
    assert model.pos.shape == (1, model.n_prefix + 16, 16)
    wrong = MultiTokenViT(ViTConfig(image_size=32, patch=8, dim=32, depth=3, heads=2, n_classes=3))
    with pytest.raises(DataError, match="model.dim=32"):
        load_vit_weights(wrong, tmp_path / "vit.safetensors")


def test_saved_models_round_trip(tmp_path):
    model = MultiTokenViT(CFG)
    save_model(model, tmp_path / "m" / "lam.safetensors", {"method": "lam"})
    other = load_model(MultiTokenViT(CFG), tmp_path / "m" / "lam.safetensors")
    for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(DataError, match="bad.safetensors"):
        load_model(MultiTokenViT(CFG), tmp_path / "bad.safetensors")


def test_load_data_reads_a_voc_folder_resized(tmp_path):
    root = make_voc(tmp_path / "voc", n=4)
    train, val = load_data(DataConfig(source="voc", path=str(root), size=32))
    images, masks, labels = train.batch(np.arange(4))
    assert images.shape == (4, 32, 32, 3) and masks.shape == (4, 32, 32) and labels.shape == (4, 20)
    assert set(np.unique(masks)) <= {0, 1, 2, 3, 4, 255} and len(val) == 4
    with pytest.raises(DataError, match="data.path"):
        load_data(DataConfig(source="voc"))
