"""Settings, native sizes, prompt building, fingerprints and plugin registration."""

from __future__ import annotations

import io
import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from aura_core import BriefError, ProviderSettings
from aura_plugins_sd import (
    NATIVE_SIZES,
    ComfyUISettings,
    SDProvider,
    StabilitySettings,
    WebUISettings,
    native_size,
)
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
    """A misspelled key is one line naming it, the key it resembles and the backend's keys."""
    with pytest.raises(BriefError) as caught:
        configure(tmp_path, stepz=20)
    (line,) = caught.value.problems
    assert line.startswith("providers.sd.stepz: unknown setting (did you mean steps?); expected one of ")
    assert "checkpoint" in line and "workflow" not in line  # the webui backend's keys


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        (
            {"backend": "midjourney"},
            "backend: expected one of webui, comfyui, stability, diffusers, got 'midjourney'",
        ),
        ({"family": "sd3"}, "family: expected one of sd15, sdxl, got 'sd3'"),
        ({"steps": "many"}, "steps: expected a whole number from 1 to 500, got 'many'"),
        ({"steps": 0}, "steps: expected a whole number from 1 to 500, got 0"),
        (
            {"sizes": ["640x480", "oops"]},
            "sizes: expected sizes like \"768x512\", multiples of 8 from 64 to 4096, got 'oops'",
        ),
        ({"sizes": []}, 'sizes: expected at least one size, like ["768x512", "512x768"]'),
        ({"sizes": [640]}, "sizes[0]: expected text, got 640"),
        (
            {"backend": "stability", "model": "dall-e"},
            "model: expected core, ultra or an sd3 model like sd3.5-large, got 'dall-e'",
        ),
        (
            {"backend": "diffusers"},
            "model_path: required setting is missing: "
            "the folder of a diffusers model (with model_index.json), relative to the brief",
        ),
        (
            {"backend": "stability", "checkpoint": "x"},
            "checkpoint: not read by backend stability, only by webui, comfyui",
        ),
        (
            {"url": "127.0.0.1:7860"},
            "url: expected an http:// or https:// URL like \"http://127.0.0.1:8080\", got '127.0.0.1:7860'",
        ),
        ({"cfg": 51}, "cfg: expected a number from 0 to 50, got 51"),
        ({"styles": {"noir": 1}}, "styles.noir: expected text, got 1"),
        ({"concurrency": True}, "concurrency: expected a whole number from 1 to 64, got True"),
    ],
)
def test_bad_settings_are_one_line_each_naming_the_key(
    tmp_path: Path, values: dict[str, Any], problem: str
) -> None:
    """Each bad value is one line, ``providers.sd.<key>: <problem>``, in the core's wording."""
    with pytest.raises(BriefError) as caught:
        configure(tmp_path, **values)
    assert caught.value.problems == (f"providers.sd.{problem}",)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Keys of other backends, unknown keys and bad values of one table come back together."""
    with pytest.raises(BriefError) as caught:
        configure(tmp_path, backend="stability", workflow="a.json", steps=9, price_usd=-1, sizez=1)
    assert [line.split(":")[0] for line in caught.value.problems] == [
        "providers.sd.steps",
        "providers.sd.workflow",
        "providers.sd.price_usd",
        "providers.sd.sizez",
    ]
    assert (
        caught.value.problems[0]
        == "providers.sd.steps: not read by backend stability, only by webui, comfyui, diffusers"
    )


def test_stability_key_comes_from_the_named_variable_never_the_brief(tmp_path: Path) -> None:
    """``api_key_env`` names the variable holding the Stability key; a pasted key is refused, not echoed."""
    pasted = "sk-" + "Ab3" * 12
    with pytest.raises(BriefError) as caught:
        configure(tmp_path, backend="stability", api_key_env=pasted)
    assert caught.value.problems[0].startswith("providers.sd.api_key_env: expected the NAME of")
    assert pasted not in str(caught.value)
    settings = configure(tmp_path, backend="stability", api_key_env="MY_STABILITY_KEY").settings
    assert isinstance(settings, StabilitySettings)
    assert settings.api_key.env == "MY_STABILITY_KEY"


def test_each_backend_has_its_own_defaults(tmp_path: Path) -> None:
    """Address, sampler, concurrency, price and licence follow the chosen backend, as before the brief sets them."""
    webui, comfyui = configure(tmp_path).settings, configure(tmp_path, backend="comfyui").settings
    stability = configure(tmp_path, backend="stability", model="ultra").settings
    assert isinstance(webui, WebUISettings) and isinstance(comfyui, ComfyUISettings)
    assert isinstance(stability, StabilitySettings)
    assert (webui.url, webui.sampler, webui.scheduler, webui.steps) == (
        "http://127.0.0.1:7860",
        "DPM++ 2M",
        "Karras",
        25,
    )
    assert (comfyui.url, comfyui.steps, comfyui.sampler) == ("http://127.0.0.1:8188", None, None)
    assert (stability.url, stability.concurrency, stability.price) == ("https://api.stability.ai", 4, 0.08)
    assert SDProvider(stability).concurrency == 4 and SDProvider(webui).concurrency == 1
    assert "OpenRAIL++" in configure(tmp_path, family="sdxl").settings.picture_license
    assert "Stability AI" in stability.picture_license
    assert configure(tmp_path, license="CC0").settings.picture_license == "CC0"


def test_sizes_setting_replaces_the_family(tmp_path: Path) -> None:
    """``sizes`` overrides the family's native sizes."""
    settings = configure(tmp_path, sizes=["768x768", " 1024X576 "]).settings
    assert isinstance(settings, WebUISettings)
    assert settings.native_sizes == ((768, 768), (1024, 576))
    assert configure(tmp_path, family="sdxl").settings.native_sizes == NATIVE_SIZES["sdxl"]


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


def test_a_comfyui_workflow_travels_as_the_text_read_with_the_brief(tmp_path: Path) -> None:
    """Pickled, a ComfyUI provider takes its workflow's text along: the copy needs no file and fingerprints the same."""
    import pickle

    flow: dict[str, Any] = {
        "1": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 7}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}},
    }
    (tmp_path / "mine.json").write_text(json.dumps(flow))
    provider = configure(tmp_path, backend="comfyui", workflow="mine.json")
    (tmp_path / "mine.json").unlink()
    copy = pickle.loads(pickle.dumps(provider))
    assert copy.fingerprint() == provider.fingerprint()
    assert copy.backend.template == flow
