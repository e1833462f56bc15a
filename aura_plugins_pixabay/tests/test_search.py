"""The ``pixabay`` provider over loopback against a server speaking the Pixabay wire format: what it asks
(keywords, orientation, the key), which rendition it downloads, what it returns (a PNG of the frame or a
measured clip, credited), and that one video never shows a photo or a clip twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

from aura_core import Clip, ImageRequest, Picture, ProviderError
from aura_core.testing import configured
from aura_plugins_pixabay import PixabayProvider

PROMPT = "documentary photograph, natural light: honeybees and flowers in a meadow, wide framing, no text"


def provider(pixabay: Any, **settings: Any) -> PixabayProvider:
    """The provider configured as a run does, pointed at the fake server."""
    return configured(PixabayProvider(), {"url": pixabay.url, **settings})


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
async def test_a_photo_is_searched_by_keywords_and_fitted_to_the_frame(pixabay: Any, tmp_path: Path) -> None:
    """The query is the prompt's subject, the orientation the frame's, the key a parameter; the PNG is exactly
    the frame, from a horizontal photo of the answer, credited to its author and page."""
    picture = await provider(pixabay).generate(request(tmp_path))

    (search,) = pixabay.http.calls("/api/")
    assert dict(search.args) == {
        "key": pixabay.key,
        "q": "honeybees flowers meadow",
        "image_type": "photo",
        "orientation": "horizontal",
        "safesearch": "true",
        "per_page": "20",
        "page": "1",
    }
    assert not pixabay.http.calls("/api/videos/")  # the request takes no clips: photos only

    assert isinstance(picture, Picture)
    with Image.open(picture.path) as png:
        assert (png.format, png.size) == ("PNG", (160, 90))
    chosen = next(p for p in pixabay.photos if picture.link.endswith(f"-{p['id']}/"))
    assert chosen["width"] > chosen["height"]
    assert (picture.author, picture.source, picture.license) == (
        f"user{chosen['id']}",
        "pixabay",
        "Pixabay Content License",
    )
    assert near(colour_of(picture.path), chosen["colour"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene-1.png"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("frame", "full_access", "file"),
    [
        ((160, 90), False, "101_640"),  # webformat 640x427 (the 150 px preview is too small)
        ((1280, 720), False, "101_1280"),  # largeImageURL 1280x853
        ((1920, 1080), False, "101_1280"),  # nothing fills it: the largest there is
        ((1920, 1080), True, "101_1920"),  # fullHDURL 1920x1280
        ((2560, 1440), True, "101_0"),  # imageURL, the original 5000x3333
    ],
)
async def test_the_smallest_photo_rendition_that_fills_the_frame_is_downloaded(
    pixabay: Any, tmp_path: Path, frame: tuple[int, int], full_access: bool, file: str
) -> None:
    pixabay.photos = pixabay.photos[:1]
    pixabay.full_access = full_access
    picture = await provider(pixabay).generate(request(tmp_path, size=frame))
    assert pixabay.downloads() == [f"/files/photo/{file}.jpg"]
    with Image.open(picture.path) as png:
        assert png.size == frame


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("frame", "orientation", "photo"), [((90, 160), "vertical", 103), ((120, 120), "all", None)]
)
async def test_the_photo_orientation_follows_the_frame(
    pixabay: Any, tmp_path: Path, frame: tuple[int, int], orientation: str, photo: int | None
) -> None:
    picture = await provider(pixabay).generate(request(tmp_path, size=frame))
    assert pixabay.http.calls("/api/")[0].args["orientation"] == orientation
    if photo is not None:
        assert picture.link.endswith(f"-{photo}/")
    with Image.open(picture.path) as png:
        assert png.size == frame


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("frame", "sizes"), [((160, 90), {201: "tiny", 204: "tiny"}), ((400, 225), {201: "medium", 204: "large"})]
)
async def test_a_scene_that_takes_clips_gets_the_smallest_file_that_fills_it_measured(
    pixabay: Any, tmp_path: Path, frame: tuple[int, int], sizes: dict[int, str]
) -> None:
    """Pixabay's video search has no orientation: the provider prefers landscape clips itself, then clips at
    least the scene's length (201: 6 s, 204: 5 s; 202 lasts 3 s), then the smallest file filling the frame
    (204 has no medium file)."""
    clip = await provider(pixabay).generate(request(tmp_path, size=frame, clips=True, duration=4.0))

    (search,) = pixabay.http.calls("/api/videos/")
    assert search.args["q"] == "honeybees flowers meadow" and search.args["video_type"] == "all"
    assert isinstance(clip, Clip)
    chosen = next(v for v in pixabay.videos if clip.link.endswith(f"-{v['id']}/"))
    assert chosen["id"] in sizes
    name = sizes[chosen["id"]]
    assert pixabay.downloads() == [f"/files/video/{chosen['id']}_{name}.mp4"]
    assert clip.path == tmp_path / "scene-1.mp4"
    assert (clip.width, clip.height, clip.fps) == (*chosen["sizes"][name], 10.0)
    assert clip.duration == pytest.approx(chosen["duration"], abs=0.15)
    assert (clip.author, clip.license) == (f"filmer{chosen['id']}", "Pixabay Content License")
    with av.open(str(clip.path)) as container:
        assert container.streams.video[0].codec_context.height == chosen["sizes"][name][1]


@pytest.mark.anyio
async def test_a_portrait_frame_gets_the_portrait_clip(pixabay: Any, tmp_path: Path) -> None:
    clip = await provider(pixabay).generate(request(tmp_path, size=(90, 160), clips=True, duration=2))
    assert isinstance(clip, Clip) and clip.link.endswith("-203/")
    assert (clip.width, clip.height) == (108, 192)


@pytest.mark.anyio
async def test_without_a_video_for_the_query_the_scene_gets_a_photo(pixabay: Any, tmp_path: Path) -> None:
    visual = await provider(pixabay).generate(request(tmp_path, prompt="a meadow", clips=True, duration=3))
    assert [c.path for c in pixabay.http.requests if not c.path.startswith("/files/")] == [
        "/api/videos/",
        "/api/",
    ]
    assert isinstance(visual, Picture) and visual.link.endswith("-101/")


@pytest.mark.anyio
async def test_no_clip_or_photo_is_shown_twice_in_one_video(pixabay: Any, tmp_path: Path) -> None:
    """Four videos (the portrait one last), then three horizontal photos, then nothing left: a permanent
    error, so the next provider of the chain takes the scene. A scene asking again gets its own back."""
    stock = provider(pixabay)
    visuals = [
        await stock.generate(request(tmp_path, seed=seed, clips=True, duration=1)) for seed in range(1, 8)
    ]
    assert [type(v).__name__ for v in visuals] == ["Clip"] * 4 + ["Picture"] * 3
    assert visuals[3].link.endswith("-203/")  # the wrong orientation only when no other is left
    assert len({v.link for v in visuals}) == 7
    with pytest.raises(
        ProviderError,
        match=r"^pixabay: every one of the 7 videos or photos found for 'honeybees flowers meadow' is already shown",
    ) as caught:
        await stock.generate(request(tmp_path, seed=8, clips=True, duration=1))
    assert caught.value.transient is False
    assert (await stock.generate(request(tmp_path, seed=2, clips=True, duration=1))).link == visuals[1].link
    assert len(pixabay.http.calls("/api/videos/")) == 1 and len(pixabay.http.calls("/api/")) == 1


@pytest.mark.anyio
async def test_the_same_scene_gets_the_same_photo_in_the_next_run(pixabay: Any, tmp_path: Path) -> None:
    first = await provider(pixabay).generate(request(tmp_path, seed=5))
    second = await provider(pixabay).generate(request(tmp_path / "again", seed=5))
    assert first.link == second.link
    links = {(await provider(pixabay).generate(request(tmp_path / str(s), seed=s))).link for s in range(8)}
    assert len(links) > 1
