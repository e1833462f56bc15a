"""The compatibility promise of clips: illustrators written against the contract before clips keep working
unchanged in a whole run whose composer takes clips.

Two of them: the docs' example plugin (``docs/examples/aura-plugin-stripes``, pip-installed as a third
party would) and a probe written from ``docs/writing-a-provider-plugin.md`` alone (``generate(request) ->
Picture``, nothing more). The composer is the real ffmpeg composer declaring ``clips = True`` (as it does
itself once it renders clips); the video it renders is decoded.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import anyio
import attrs
import av
import pytest
from PIL import Image

from aura_core import ImageRequest, Picture, Pipeline, optional_member, parse_brief
from aura_core.testing import FakeScriptWriter, FakeVoice
from aura_plugins_ffmpeg.composer import FfmpegComposer

from .conftest import install_into

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "aura-plugin-stripes"


@pytest.fixture
def anyio_backend() -> str:
    """The ffmpeg composer is an asyncio provider."""
    return "asyncio"


@attrs.frozen
class ClipsFfmpeg(FfmpegComposer):
    """The ffmpeg composer, declaring that it takes moving clips."""

    clips: bool = attrs.field(default=True, init=False)


class DocsProbe:
    """An illustrator as docs/writing-a-provider-plugin.md describes one: kind, name and generate."""

    kind = "image"
    name = "probe"

    def __init__(self) -> None:
        self.asked: list[ImageRequest] = []

    async def generate(self, request: ImageRequest) -> Picture:
        """A flat-topped gradient PNG at exactly ``request.out_path``, described as measured."""
        self.asked.append(request)

        def draw() -> None:
            image = Image.linear_gradient("L").resize((request.width, request.height)).convert("RGB")
            image.save(request.out_path, format="PNG")

        await anyio.to_thread.run_sync(draw)
        return Picture(request.out_path, request.width, request.height, source="probe", license="CC0")


@pytest.fixture(scope="module")
def stripes(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The example plugin's illustrator class, pip-installed into a temp folder and imported from there."""
    site = install_into(tmp_path_factory.mktemp("stripes-site"), EXAMPLE)
    sys.path.insert(0, str(site))
    try:
        return importlib.import_module("aura_plugin_stripes.plugin").StripesIllustrator
    finally:
        sys.path.remove(str(site))


def _brief(image: str) -> Any:
    return parse_brief(
        {
            "brief": {"topic": "Honeybees"},
            "plan": {"duration": "12s", "scenes": 3},
            "render": {"resolution": "96x54", "fps": 10, "captions": "off", "credits": True},
            "providers": {"image": [image], "composer": ["ffmpeg"]},
        },
        None,
    )


def _frames(path: Path) -> tuple[int, tuple[int, int]]:
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return len(frames), (frames[0].width, frames[0].height)


@pytest.mark.anyio
@pytest.mark.parametrize("which", ["stripes", "probe"])
async def test_an_illustrator_written_before_clips_works_unchanged_with_a_composer_that_takes_clips(
    tmp_path: Path, stripes: Any, which: str
) -> None:
    """The run finishes; every scene shows the illustrator's picture (asked without clips, as before);
    the video decodes at the asked size and length; the credits name the illustrator."""
    composer = ClipsFfmpeg()
    assert optional_member(composer, "clips") is True
    illustrator = stripes() if which == "stripes" else DocsProbe()
    pipeline = Pipeline([FakeScriptWriter(), FakeVoice(), illustrator, composer], runs_dir=tmp_path)
    video = await pipeline.run(_brief(which), run_dir=tmp_path / "run")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["state"] == "succeeded"
    assert [s["visual"] for s in report["scenes"]] == ["picture"] * 3
    assert [s["picture_provider"] for s in report["scenes"]] == [which] * 3
    assert all(s["picture"].endswith(".png") for s in report["scenes"])
    if isinstance(illustrator, DocsProbe):
        assert len(illustrator.asked) == 3 and not any(r.clips for r in illustrator.asked)
    count, size = _frames(video.path)
    assert size == (96, 54)
    assert count == pytest.approx(video.duration * 10, abs=1)
    assert [c["source"] for c in report["credits"]] == [which]
    assert (tmp_path / "run" / "final.credits.txt").read_text().startswith("Visuals\nScenes 1, 2, 3: ")
