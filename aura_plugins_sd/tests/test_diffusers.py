"""The diffusers backend: a tiny randomly initialised pipeline saved to a folder, then loaded from it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from aura_core import ImageRequest, ProviderError, ProviderSettings, UserError
from aura_plugins_sd import SDProvider

HAVE_TORCH = all(importlib.util.find_spec(m) for m in ("torch", "diffusers", "transformers"))


def make(tmp_path: Path, model: Path, **values: Any) -> SDProvider:
    settings = {"backend": "diffusers", "model_path": str(model), **values}
    return SDProvider().configure(ProviderSettings(settings, tmp_path))


def request(tmp_path: Path, seed: int = 3) -> ImageRequest:
    return ImageRequest(
        prompt="a bee",
        negative_prompt="",
        width=48,
        height=32,
        style="minimal",
        seed=seed,
        out_path=tmp_path / f"scene-{seed}.png",
    )


@pytest.mark.anyio
@pytest.mark.skipif(HAVE_TORCH, reason="torch, diffusers and transformers are installed: the real test runs")
async def test_without_torch_check_and_generate_say_what_to_install(tmp_path: Path) -> None:
    """Without the optional extra, check() is not ok and generate() fails permanently naming the extra."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    provider = make(tmp_path, tmp_path / "model")
    availability = await provider.check()
    assert not availability.ok
    assert "aura-plugins-sd[diffusers]" in availability.detail
    with pytest.raises(ProviderError, match=r"aura-plugins-sd\[diffusers\]") as caught:
        await provider.generate(request(tmp_path))
    assert not caught.value.transient


def byte_symbols() -> list[str]:
    """The 256 printable stand-ins byte-level BPE tokenizers (GPT-2, CLIP) use for the bytes 0..255."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    extra = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(extra)) for b in range(256)]


def build_tiny_pipeline(folder: Path) -> None:
    """Save a randomly initialised, tiny Stable Diffusion pipeline (and a byte-level tokenizer) to ``folder``."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # type: ignore[import-not-found]

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
    )
    # A byte-level vocabulary written here: no tokenizer is fetched from anywhere.
    symbols = byte_symbols()
    vocab = {s: i for i, s in enumerate(symbols + [s + "</w>" for s in symbols])}
    vocab |= {"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1}
    (folder / "vocab").mkdir(parents=True)
    (folder / "vocab" / "vocab.json").write_text(json.dumps(vocab))
    (folder / "vocab" / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        str(folder / "vocab" / "vocab.json"), str(folder / "vocab" / "merges.txt"), model_max_length=77
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            pad_token_id=vocab["<|endoftext|>"],
            vocab_size=len(vocab),
            max_position_embeddings=77,
        )
    )
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=DDIMScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder / "tiny-sd")


@pytest.mark.anyio
@pytest.mark.skipif(
    not HAVE_TORCH, reason="torch, diffusers and transformers are not installed (optional extra)"
)
async def test_tiny_pipeline_loads_from_folder_and_is_reproducible(tmp_path: Path) -> None:
    """The backend loads a saved pipeline folder offline, fits its output, and a fixed seed repeats exactly."""
    from PIL import Image, ImageChops

    build_tiny_pipeline(tmp_path / "models")
    provider = make(tmp_path, tmp_path / "models" / "tiny-sd", sizes=["64x64"], steps=2, device="cpu")
    assert (await provider.check()).ok
    first = await provider.generate(request(tmp_path, seed=3))
    again = await provider.generate(request(tmp_path / "again", seed=3))
    other = await provider.generate(request(tmp_path / "other", seed=4))
    with Image.open(first.path) as a, Image.open(again.path) as b, Image.open(other.path) as c:
        assert a.size == (48, 32)
        assert ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None
        assert ImageChops.difference(a.convert("RGB"), c.convert("RGB")).getbbox() is not None
    assert first.source == "sd/diffusers:tiny-sd"


def test_folder_without_model_index_is_a_user_error(tmp_path: Path) -> None:
    """A model_path that is not a diffusers folder is refused when the brief is read."""
    (tmp_path / "weights").mkdir()
    with pytest.raises(UserError, match=r"model_index\.json"):
        make(tmp_path, tmp_path / "weights")
