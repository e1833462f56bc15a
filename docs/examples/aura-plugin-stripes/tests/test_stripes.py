"""Tests of the stripes provider: on its own, and inside a real pipeline next to aura's fake providers."""

from __future__ import annotations

from pathlib import Path

import pytest
from aura_core import ImageRequest, Pipeline, ProviderError, UserError, parse_brief
from aura_core.testing import (
    FakeComposer,
    FakeIllustrator,
    FakeScriptWriter,
    FakeVoice,
    Faults,
    check_provider,
    configured,
)
from PIL import Image

from aura_plugin_stripes.plugin import StripesIllustrator


def _request(tmp_path: Path, seed: int = 7, name: str = "a.png") -> ImageRequest:
    return ImageRequest(
        prompt="bees over a meadow",
        negative_prompt="",
        width=96,
        height=54,
        style="documentary",
        seed=seed,
        out_path=tmp_path / name,
    )


def _columns(path: Path) -> list[tuple[int, int, int]]:
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        return [rgb.getpixel((x, rgb.height // 2)) for x in range(rgb.width)]


@pytest.mark.anyio
async def test_stripes_keeps_the_provider_contract(tmp_path: Path) -> None:
    """aura's contract suite: a decoded PNG of the asked size, a 0x0 request refused with a permanent
    ProviderError, nothing left by a cancelled call, a fingerprint stable across processes."""
    report = await check_provider(StripesIllustrator(), tmp_path)
    assert not report.failures


@pytest.mark.anyio
async def test_same_request_draws_the_same_stripes_and_another_seed_does_not(tmp_path: Path) -> None:
    """The picture has the requested size, uses only palette colours, and depends on the seed alone."""
    stripes = StripesIllustrator()
    first = await stripes.generate(_request(tmp_path, 7, "a.png"))
    again = await stripes.generate(_request(tmp_path, 7, "b.png"))
    other = await stripes.generate(_request(tmp_path, 8, "c.png"))
    assert (first.width, first.height) == (96, 54)
    assert _columns(first.path) == _columns(again.path)
    assert _columns(first.path) != _columns(other.path)
    palette = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in stripes.settings.palette}
    assert set(_columns(first.path)) <= palette
    assert len(set(_columns(first.path))) >= 2


@pytest.mark.anyio
async def test_a_too_small_picture_is_a_permanent_error(tmp_path: Path) -> None:
    """A request that would fail again is not retried: transient is False, and no file is left."""
    request = ImageRequest("x", "", 1, 1, "documentary", 0, tmp_path / "x.png")
    with pytest.raises(ProviderError) as caught:
        await StripesIllustrator().generate(request)
    assert caught.value.transient is False
    assert not request.out_path.exists()


def test_settings_are_checked_and_change_the_fingerprint(tmp_path: Path) -> None:
    """The core reads palette and stripe into StripesSettings, names every mistake on its own line,
    and the fingerprint follows the settings."""
    base = StripesIllustrator()
    narrow = configured(base, {"palette": ["#000000", "#FFFFFF"], "stripe": 4}, tmp_path)
    assert narrow.settings.palette == ("#000000", "#FFFFFF")
    assert narrow.settings.stripe == 4
    assert narrow.fingerprint() != base.fingerprint()
    with pytest.raises(UserError) as caught:
        configured(base, {"colour": "red", "palette": ["#000000"], "stripe": 0}, tmp_path)
    assert str(caught.value).splitlines() == [
        "providers.stripes.palette: expected 2+ different colours like '#2a9d8f', got ['#000000']",
        "providers.stripes.stripe: expected a whole number of at least 1, got 0",
        "providers.stripes.colour: unknown setting; expected one of palette, stripe",
    ]


@pytest.mark.anyio
@pytest.mark.usefixtures("aura_no_backoff")
async def test_a_pipeline_falls_back_to_stripes_when_the_first_image_provider_keeps_failing(
    tmp_path: Path,
) -> None:
    """A flaky illustrator first in the chain fails every call; each scene's picture comes from stripes."""
    flaky = FakeIllustrator(name="flaky", faults=Faults(rate=1.0, transient=True))
    pipeline = Pipeline(
        [FakeScriptWriter(), FakeVoice(), flaky, StripesIllustrator(), FakeComposer()], runs_dir=tmp_path
    )
    spec = parse_brief(
        {
            "brief": {"topic": "Stripes"},
            "plan": {"duration": 12, "scenes": 3},
            "render": {"resolution": "96x54", "fps": 10},
            "providers": {"image": ["flaky", "stripes"], "flaky": {"attempts": 2}, "stripes": {"stripe": 8}},
        }
    )
    events: list[str] = []
    await pipeline.run(spec, on_event=lambda e: events.append(e.type))
    assert events.count("fallback") == 3
    pictures = sorted((tmp_path / "stripes" / "artifacts").glob("*.png"))
    assert len(pictures) == 3
    for picture in pictures:
        assert len(set(_columns(picture))) >= 2
