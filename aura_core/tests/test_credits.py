"""Credits of the visuals: in report.json (per scene and as a list), in report.html, and, with
``[render] credits = true``, as a text file beside the video."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from attrs import define, evolve
from PIL import Image

from aura_core import ImageRequest, Pipeline, Visual
from aura_core.testing import FakeClipIllustrator, FakeComposer, FakeIllustrator, FakeScriptWriter, FakeVoice

from .conftest import make_spec

pytestmark = pytest.mark.anyio


@define
class Stock(FakeClipIllustrator):
    """A stock library's fake: the clips of even scenes are by Ann (CC BY), those of odd scenes by Bo."""

    name: str = "stock"

    async def generate(self, request: ImageRequest) -> Visual:
        made = await FakeClipIllustrator.generate(self, request)
        ann = request.heading in ("Scene 1", "Scene 3", "Scene 5")
        return evolve(
            made,
            author="Ann Example" if ann else "Bo Example",
            link="https://stock.example/ann/1" if ann else "https://stock.example/bo/2",
            license="CC BY 4.0" if ann else "Stock licence",
        )


def stack(image: Any) -> list[Any]:
    return [FakeScriptWriter(), FakeVoice(), image, FakeComposer(clips=True)]


async def test_report_json_credits_each_scene_and_lists_each_credit_once(tmp_path: Path) -> None:
    """Each scene carries its visual's kind and credit; ``credits`` lists each distinct credit once, with
    the scenes that show it, in the order of their first scene; the rest of the report is as before."""
    await Pipeline(stack(Stock())).run(make_spec(), run_dir=tmp_path / "run")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    scenes = report["scenes"]
    assert [s["visual"] for s in scenes] == ["clip"] * 5
    assert scenes[0]["credit"] == {
        "source": "stock",
        "author": "Ann Example",
        "link": "https://stock.example/ann/1",
        "license": "CC BY 4.0",
    }
    assert report["credits"] == [
        {
            "scenes": [0, 2, 4],
            "source": "stock",
            "author": "Ann Example",
            "link": "https://stock.example/ann/1",
            "license": "CC BY 4.0",
        },
        {
            "scenes": [1, 3],
            "source": "stock",
            "author": "Bo Example",
            "link": "https://stock.example/bo/2",
            "license": "Stock licence",
        },
    ]
    assert set(scenes[0]) == {
        "index",
        "heading",
        "narration",
        "start",
        "duration",
        "speech_seconds",
        "voice_provider",
        "picture_provider",
        "picture",
        "visual",
        "credit",
    }


async def test_report_html_shows_clips_their_credits_and_the_credits_list(tmp_path: Path) -> None:
    """The contact sheet shows each clip's first frame as a thumbnail and its credit; the Credits section
    has one line per credit, its link a link."""
    await Pipeline(stack(Stock())).run(make_spec(), run_dir=tmp_path / "run")
    page = (tmp_path / "run" / "report.html").read_text()
    thumbnails = re.findall(r'<img src="data:image/jpeg;base64,([^"]+)" alt="clip of scene', page)
    assert len(thumbnails) == 5
    with Image.open(io.BytesIO(base64.b64decode(thumbnails[0]))) as frame:
        assert frame.size == (64, 36) and len(set(frame.convert("RGB").getdata())) > 10
    assert (
        page.count('<p class="credit">stock, by Ann Example, CC BY 4.0, https://stock.example/ann/1</p>') == 3
    )
    credits = page[page.index('<section id="credits">') :]
    assert (
        "<li>Scenes 1, 3, 5: stock, by Ann Example, CC BY 4.0, "
        '<a href="https://stock.example/ann/1">https://stock.example/ann/1</a></li>'
    ) in credits
    assert "<li>Scenes 2, 4: stock, by Bo Example, Stock licence," in credits


async def test_the_credits_file_is_written_beside_the_video_when_asked(tmp_path: Path) -> None:
    """``[render] credits = true``: final.credits.txt in the run and <out>.credits.txt beside --out, one
    line per credit; without it, no file."""
    out = tmp_path / "films" / "bees.mp4"
    await Pipeline(stack(Stock())).run(make_spec(render={"credits": True}), run_dir=tmp_path / "run", out=out)
    text = (tmp_path / "run" / "final.credits.txt").read_text()
    assert text.splitlines() == [
        "Visuals",
        "Scenes 1, 3, 5: stock, by Ann Example, CC BY 4.0, https://stock.example/ann/1",
        "Scenes 2, 4: stock, by Bo Example, Stock licence, https://stock.example/bo/2",
    ]
    assert (tmp_path / "films" / "bees.credits.txt").read_text() == text
    await Pipeline(stack(Stock())).run(make_spec(), run_dir=tmp_path / "plain")
    assert not (tmp_path / "plain" / "final.credits.txt").exists()


async def test_turning_credits_on_remakes_nothing(tmp_path: Path) -> None:
    """The credits setting changes no provider's result: a run with it on after one without makes no call."""
    await Pipeline(stack(Stock())).run(make_spec(), run_dir=tmp_path / "run")
    again = [FakeScriptWriter(), FakeVoice(), Stock(), FakeComposer(clips=True)]
    await Pipeline(again).run(make_spec(render={"credits": True}), run_dir=tmp_path / "run")
    assert [p.calls for p in again] == [0, 0, 0, 0]
    assert (tmp_path / "run" / "final.credits.txt").is_file()


async def test_pictures_without_credits_are_listed_by_source_and_licence(tmp_path: Path) -> None:
    """An illustrator that gives no author or link is credited by its source and licence alone."""
    providers = [FakeScriptWriter(), FakeVoice(), FakeIllustrator(), FakeComposer()]
    await Pipeline(providers).run(make_spec(render={"credits": True}), run_dir=tmp_path / "run")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert [s["visual"] for s in report["scenes"]] == ["picture"] * 5
    assert report["credits"] == [
        {"scenes": [0, 1, 2, 3, 4], "source": "fake", "author": "", "link": "", "license": "CC0"}
    ]
    assert (
        tmp_path / "run" / "final.credits.txt"
    ).read_text() == "Visuals\nScenes 1, 2, 3, 4, 5: fake, CC0\n"
