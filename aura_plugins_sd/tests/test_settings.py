"""Settings, native sizes, prompt building, fingerprints and plugin registration."""

from __future__ import annotations

import io
import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from aura_core import ProviderSettings, UserError
from aura_plugins_sd import NATIVE_SIZES, SDProvider, native_size
from aura_plugins_sd.prompts import STYLE_PRESETS, full_negative, full_prompt
from aura_plugins_sd.sizing import fit_png


def configure(tmp_path: Path, **values: Any) -> SDProvider:
    return SDProvider().configure(ProviderSettings(values, tmp_path))


@pytest.mark.parametrize(
    ("family", "want", "native"),
    [
        ("sd15", (1920, 1080), (768, 512)),
        ("sd15", (1080, 1920), (512, 768)),
        ("sd15", (1080, 1080), (512, 512)),
        ("sdxl", (1920, 1080), (1344, 768)),
        ("sdxl", (1080, 1920), (768, 1344)),
        ("sdxl", (1000, 1000), (1024, 1024)),
    ],
)
def test_native_size_follows_the_aspect(family: str, want: tuple[int, int], native: tuple[int, int]) -> None:
    """The family's trained size nearest the requested aspect is chosen."""
    assert native_size(*want, NATIVE_SIZES[family]) == native


def test_fit_crops_the_centre_and_scales(tmp_path: Path) -> None:
    """A 300x100 picture with a white middle third fitted to 100x100 is all white (sides cropped)."""
    image = Image.new("RGB", (300, 100), (0, 0, 0))
    image.paste((255, 255, 255), (100, 0, 200, 100))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    native = fit_png(buffer.getvalue(), 50, 50, tmp_path / "out.png")
    assert native == (300, 100)
    with Image.open(tmp_path / "out.png") as fitted:
        assert fitted.size == (50, 50)
        low, high = fitted.convert("L").getextrema()
        assert low >= 240 and high == 255


def test_bytes_that_are_not_an_image_are_refused(tmp_path: Path) -> None:
    """A server answer that does not decode raises ValueError and writes nothing."""
    with pytest.raises(ValueError, match="not an image"):
        fit_png(b"<html>oops</html>", 10, 10, tmp_path / "out.png")
    assert not (tmp_path / "out.png").exists()


def test_prompt_gets_style_words_and_negative_is_merged() -> None:
    """Known styles add their preset, unknown ones "<style> style"; negative terms appear once."""
    assert full_prompt("a bee", "Minimal", STYLE_PRESETS) == f"a bee, {STYLE_PRESETS['minimal']}"
    assert full_prompt("a bee", "vaporwave", STYLE_PRESETS) == "a bee, vaporwave style"
    assert full_negative("text, people", "blurry, Text") == "text, people, blurry"


def test_unknown_setting_is_named(tmp_path: Path) -> None:
    """A misspelled key is a user error naming it."""
    with pytest.raises(UserError, match="stepz"):
        configure(tmp_path, stepz=20)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"backend": "midjourney"}, "backend"),
        ({"family": "sd3"}, "family"),
        ({"steps": "many"}, "steps"),
        ({"sizes": ["640x480", "oops"]}, "sizes"),
        ({"backend": "stability", "model": "dall-e"}, "model"),
        ({"backend": "diffusers"}, "model_path"),
        ({"backend": "stability", "checkpoint": "x"}, "checkpoint"),
        ({"url": "127.0.0.1:7860"}, "url"),
    ],
)
def test_bad_settings_are_user_errors(tmp_path: Path, values: dict[str, Any], match: str) -> None:
    """Each bad value is reported with the key it belongs to."""
    with pytest.raises(UserError, match=match):
        configure(tmp_path, **values)


def test_sizes_setting_replaces_the_family(tmp_path: Path) -> None:
    """``sizes`` overrides the family's native sizes."""
    provider = configure(tmp_path, sizes=["768x768", "1024x576"])
    assert provider.settings.sizes == ((768, 768), (1024, 576))


def test_fingerprint_follows_what_changes_the_picture(tmp_path: Path) -> None:
    """Steps, checkpoint, styles and workflow content change the fingerprint; the server address does not."""
    base = configure(tmp_path).fingerprint()
    assert base == configure(tmp_path).fingerprint()
    assert base == configure(tmp_path, url="http://10.0.0.2:7860").fingerprint()
    assert base != configure(tmp_path, steps=30).fingerprint()
    assert base != configure(tmp_path, checkpoint="a.safetensors").fingerprint()
    assert base != configure(tmp_path, styles={"documentary": "grainy film"}).fingerprint()
    assert base != configure(tmp_path, family="sdxl").fingerprint()
    flow: dict[str, Any] = {
        "1": {"class_type": "KSampler", "inputs": {"seed": 1}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}},
    }
    (tmp_path / "a.json").write_text(json.dumps(flow))
    first = configure(tmp_path, backend="comfyui", workflow="a.json").fingerprint()
    flow["1"]["inputs"]["seed"] = 2
    (tmp_path / "a.json").write_text(json.dumps(flow))
    assert first != configure(tmp_path, backend="comfyui", workflow="a.json").fingerprint()


def test_entry_point_registers_the_image_provider() -> None:
    """The ``aura`` entry point ``sd`` loads a plugin whose hook registers provider ``sd`` of kind image."""
    (point,) = [p for p in entry_points(group="aura") if p.name == "sd"]
    registered: list[Any] = []
    point.load().aura_register_providers(registered.append)
    assert [(p.kind, p.name) for p in registered] == [("image", "sd")]
    assert registered[0].concurrency == 1


def test_the_provider_travels_to_another_process_as_its_settings() -> None:
    """Pickled (as Ray does for a worker), only the settings go; the backend is rebuilt on the other side."""
    import pickle

    from aura_core import ProviderSettings
    from aura_plugins_sd.provider import SDProvider

    provider = SDProvider().configure(
        ProviderSettings(values={"backend": "webui", "url": "http://127.0.0.1:9"})
    )
    _ = provider.backend
    copy = pickle.loads(pickle.dumps(provider))
    assert copy.fingerprint() == provider.fingerprint()
    assert copy.backend is not provider.backend
    assert copy.resources == {}
