"""The ``pexels`` provider over loopback against a server speaking the Pexels wire format: what it asks
(keywords, orientation, size, the key), which rendition it downloads, what it returns (a PNG of the frame or a
measured clip, credited), and that one video never shows a photo or a clip twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

from aura_core import Clip, ImageRequest, Picture, ProviderError
from aura_core.testing import configured
from aura_plugins_pexels import PexelsProvider

PROMPT = "documentary photograph, natural light: honeybees and flowers in a meadow, wide framing, no text"


def provider(pexels: Any, **settings: Any) -> PexelsProvider:
    """The provider configured as a run does, pointed at the fake server."""
    return configured(PexelsProvider(), {"url": pexels.url, **settings})


def request(
    tmp_path: Path,
    *,
    prompt: str = PROMPT,
    seed: int = 1,
    size: tuple[int, int] = (160, 90),
    clips: bool = False,
    duration: float = 0.0,
) -> ImageRequest:
    return ImageRequest(
        prompt=prompt,
        negative_prompt="",
        width=size[0],
        height=size[1],
        style="documentary",
        seed=seed,
        out_path=tmp_path / f"scene-{seed}.png",
        duration=duration,
        clips=clips,
    )


def colour_of(path: Path) -> tuple[int, int, int]:
    """The colour right of a picture's light band (its centre-right)."""
    with Image.open(path) as picture:
        rgb = picture.convert("RGB")
        pixel = rgb.getpixel((rgb.width * 3 // 4, rgb.height // 2))
    assert isinstance(pixel, tuple)
    return pixel[0], pixel[1], pixel[2]


def near(colour: tuple[int, int, int], expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


@pytest.mark.anyio
async def test_a_photo_is_searched_by_keywords_and_fitted_to_the_frame(pexels: Any, tmp_path: Path) -> None:
    """The query is the prompt's subject, the orientation the frame's, the key the whole Authorization header;
    the PNG is exactly the frame, from a landscape photo of the answer, credited to its photographer."""
    picture = await provider(pexels).generate(request(tmp_path))

    (search,) = pexels.http.calls("/v1/search")
    assert dict(search.args) == {
        "query": "honeybees flowers meadow",
        "orientation": "landscape",
        "per_page": "15",
        "page": "1",
    }
    assert search.headers["Authorization"] == pexels.key
    assert not pexels.http.calls("/videos/search")  # the request takes no clips: photos only

    assert isinstance(picture, Picture)
    assert (picture.path, picture.width, picture.height) == (tmp_path / "scene-1.png", 160, 90)
    with Image.open(picture.path) as png:
        assert (png.format, png.size) == ("PNG", (160, 90))
    chosen = next(p for p in pexels.photos if picture.link == pexels.url + p["url"])
    assert chosen["width"] > chosen["height"]  # landscape, as asked
    assert picture.author == chosen["photographer"]
    assert (picture.source, picture.license) == ("pexels", "Pexels License")
    assert near(colour_of(picture.path), chosen["_colour"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene-1.png"]  # nothing else left behind


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("frame", "rendition"),
    [
        ((160, 90), "auto=compress&cs=tinysrgb&h=130"),  # small: 195x130
        ((500, 300), "auto=compress&cs=tinysrgb&h=350"),  # medium: 525x350
        ((900, 600), "auto=compress&cs=tinysrgb&h=650&w=940"),  # large: 940x627
        ((1280, 720), "auto=compress&cs=tinysrgb&dpr=2&h=650&w=940"),  # large2x: 1880x1253
        ((1920, 1080), ""),  # the original: 4000x2667
    ],
)
async def test_the_smallest_photo_rendition_that_fills_the_frame_is_downloaded(
    pexels: Any, tmp_path: Path, frame: tuple[int, int], rendition: str
) -> None:
    pexels.photos = pexels.photos[:1]  # 4000x2667
    picture = await provider(pexels).generate(request(tmp_path, size=frame))
    expected = "/media/photos/11/pexels-photo-11.jpeg" + (f"?{rendition}" if rendition else "")
    assert pexels.downloads() == [expected]
    with Image.open(picture.path) as png:
        assert png.size == frame


@pytest.mark.anyio
async def test_a_photo_smaller_than_the_frame_is_enlarged_from_its_original(
    pexels: Any, tmp_path: Path
) -> None:
    pexels.photos = [p for p in pexels.photos if p["id"] == 14]  # 1500x1000
    picture = await provider(pexels).generate(request(tmp_path, size=(1920, 1080)))
    assert pexels.downloads() == ["/media/photos/14/pexels-photo-14.jpeg"]
    assert (picture.width, picture.height) == (1920, 1080)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("frame", "orientation", "photo"), [((90, 160), "portrait", 13), ((120, 120), "square", 15)]
)
async def test_the_orientation_follows_the_frame(
    pexels: Any, tmp_path: Path, frame: tuple[int, int], orientation: str, photo: int
) -> None:
    picture = await provider(pexels).generate(request(tmp_path, size=frame))
    assert pexels.http.calls("/v1/search")[0].args["orientation"] == orientation
    assert picture.link.endswith(f"-{photo}/")
    with Image.open(picture.path) as png:
        assert png.size == frame


@pytest.mark.anyio
async def test_a_scene_that_takes_clips_gets_the_smallest_mp4_that_fills_it_measured(
    pexels: Any, tmp_path: Path
) -> None:
    """Clips at least the scene's length come first: of the landscape videos, 21 (6 s) and 24 (5 s) last 4 s."""
    clip = await provider(pexels).generate(request(tmp_path, clips=True, duration=4.0))

    (search,) = pexels.http.calls("/videos/search")
    assert search.args["orientation"] == "landscape" and "size" not in search.args  # any file fills 160x90
    assert isinstance(clip, Clip)
    chosen = next(v for v in pexels.videos if clip.link == pexels.url + v["url"])
    assert chosen["id"] in (21, 24)
    smallest = min((s for s in chosen["_files"] if s[0] >= 160 and s[1] >= 90), key=lambda s: s[0] * s[1])
    assert pexels.downloads() == [f"/media/videos/{chosen['id']}/{smallest[0]}x{smallest[1]}.mp4"]
    assert clip.path == tmp_path / "scene-1.mp4"
    # Measured from the file, not taken from the answer (which says 25 fps).
    assert (clip.width, clip.height, clip.fps) == (*smallest, 10.0)
    assert clip.duration == pytest.approx(chosen["duration"], abs=0.15)
    assert (clip.author, clip.license, clip.start) == (chosen["user"]["name"], "Pexels License", 0.0)
    with av.open(str(clip.path)) as container:
        assert container.streams.video[0].codec_context.width == smallest[0]


@pytest.mark.anyio
async def test_a_full_hd_frame_asks_for_full_hd_videos(pexels: Any, tmp_path: Path) -> None:
    """``size=medium`` leaves out every video under Full HD: none left, so the scene gets a photo."""
    picture = await provider(pexels).generate(request(tmp_path, clips=True, size=(1920, 1080), duration=3))
    assert pexels.http.calls("/videos/search")[0].args["size"] == "medium"
    assert isinstance(picture, Picture) and (picture.width, picture.height) == (1920, 1080)


@pytest.mark.anyio
async def test_without_a_video_for_the_query_the_scene_gets_a_photo(pexels: Any, tmp_path: Path) -> None:
    visual = await provider(pexels).generate(request(tmp_path, prompt="a meadow", clips=True, duration=3))
    assert [c.path for c in pexels.http.requests if not c.path.startswith("/media/")] == [
        "/videos/search",
        "/v1/search",
    ]
    assert isinstance(visual, Picture) and visual.link.endswith("-11/")


@pytest.mark.anyio
async def test_no_clip_or_photo_is_shown_twice_in_one_video(pexels: Any, tmp_path: Path) -> None:
    """Three landscape videos, then three landscape photos, then nothing left: a permanent error, so the next
    provider of the chain takes the scene. A scene asking again gets its own back; the question is asked once."""
    stock = provider(pexels)
    visuals = [
        await stock.generate(request(tmp_path, seed=seed, clips=True, duration=1)) for seed in range(1, 7)
    ]
    assert [type(v).__name__ for v in visuals] == ["Clip"] * 3 + ["Picture"] * 3
    assert len({v.link for v in visuals}) == 6
    with pytest.raises(
        ProviderError,
        match=r"^pexels: every one of the 6 videos or photos found for 'honeybees flowers meadow' is already shown",
    ) as caught:
        await stock.generate(request(tmp_path, seed=7, clips=True, duration=1))
    assert caught.value.transient is False
    again = await stock.generate(request(tmp_path, seed=2, clips=True, duration=1))
    assert again.link == visuals[1].link
    assert len(pexels.http.calls("/videos/search")) == 1 and len(pexels.http.calls("/v1/search")) == 1


@pytest.mark.anyio
async def test_the_same_scene_gets_the_same_photo_in_the_next_run(pexels: Any, tmp_path: Path) -> None:
    """A run configures its own copy: nothing is taken yet, and the scene's seed picks the same photo; other
    seeds pick among the results."""
    first = await provider(pexels).generate(request(tmp_path, seed=5))
    second = await provider(pexels).generate(request(tmp_path / "again", seed=5))
    assert first.link == second.link
    links = {(await provider(pexels).generate(request(tmp_path / str(s), seed=s))).link for s in range(8)}
    assert len(links) > 1
