"""``aura_core.stock``: the query from a visual prompt, the orientation, the rendition, which result a scene
gets (deterministic, never twice in one video), and ``fetch_stock`` turning a downloaded photo into an
exact-size PNG and a downloaded video into a measured ``Clip``, over loopback."""

from __future__ import annotations

from pathlib import Path

import anyio
import av
import pytest
from attrs import evolve
from PIL import Image

from aura_core import (
    Clip,
    ImageRequest,
    MediaKind,
    Picture,
    ProviderError,
    Rendition,
    StockItem,
    StockPicker,
    fetch_stock,
    find_stock,
    orientation_of,
    pick_rendition,
    search_words,
)
from aura_core.testing.http import FakeHTTPServer, Response
from aura_core.testing.stock import clip_bytes, photo_bytes


def _request(tmp_path: Path, seed: int = 1, width: int = 160, height: int = 90) -> ImageRequest:
    return ImageRequest(
        prompt="bees",
        negative_prompt="",
        width=width,
        height=height,
        style="",
        seed=seed,
        out_path=tmp_path / f"scene-{seed}.png",
    )


def _item(
    key: str, *, kind: str = "photo", width: int = 1920, height: int = 1080, duration: float = 0.0
) -> StockItem:
    return StockItem(
        key=key,
        kind=kind,  # type: ignore[arg-type]
        width=width,
        height=height,
        renditions=(Rendition(f"http://cdn.invalid/{key}", width, height),),
        duration=duration,
    )


@pytest.mark.parametrize(
    ("prompt", "query"),
    [
        (
            "A cinematic photo of honeybees dancing on a honeycomb, 4k, dramatic lighting",
            "honeybees dancing honeycomb",
        ),
        ("Close-up: a bee's wings, in the style of a watercolour", "bee wings"),
        ("bees bees BEES and more bees", "bees"),
        ("Überraschung im Café", "überraschung im café"),
        (
            "sunrise over the mountains seen from a small lake at dawn with mist",
            "sunrise mountains small lake dawn",
        ),
        (  # the local template's prompts: a style prefix, the subject, mood and framing
            "documentary photograph, natural light, real textures: an eye-catching establishing view of "
            "honeybees and flowers, informative mood, wide 16:9 framing, no text",
            "honeybees flowers",
        ),
        ("river, at night", "river night"),
        ("a photo of it", ""),
    ],
)
def test_the_query_is_a_few_keywords_of_the_prompt(prompt: str, query: str) -> None:
    assert search_words(prompt) == query


@pytest.mark.parametrize(
    ("size", "orientation"),
    [
        ((1920, 1080), "landscape"),
        ((1080, 1920), "portrait"),
        ((1080, 1080), "square"),
        ((1000, 960), "square"),
    ],
)
def test_the_orientation_follows_the_frame(size: tuple[int, int], orientation: str) -> None:
    assert orientation_of(*size) == orientation


def test_the_smallest_rendition_that_fills_the_frame_is_chosen_else_the_largest() -> None:
    renditions = [
        Rendition("4k", 3840, 2160),
        Rendition("hd", 1280, 720),
        Rendition("fhd", 1920, 1080),
        Rendition("sd", 640, 360),
        Rendition("", 9999, 9999),  # no address: never chosen
        Rendition("narrow", 1920, 800),  # wide enough, not tall enough for 1280x720? it is: 800 >= 720
    ]
    assert pick_rendition(renditions, 1280, 720).url == "hd"  # type: ignore[union-attr]
    assert pick_rendition(renditions, 1281, 720).url == "narrow"  # type: ignore[union-attr]
    assert pick_rendition(renditions, 1920, 1080).url == "fhd"  # type: ignore[union-attr]
    assert pick_rendition(renditions, 5000, 3000).url == "4k"  # type: ignore[union-attr]
    assert pick_rendition([], 10, 10) is None


def test_a_scene_gets_the_same_item_whatever_order_the_library_answers_in(tmp_path: Path) -> None:
    items = [_item(str(n)) for n in range(10)]
    chosen = {
        StockPicker().choose(order, _request(tmp_path, seed=42))
        for order in (items, items[::-1], items[3:] + items[:3])
    }
    assert len(chosen) == 1
    seeds = {StockPicker().choose(items, _request(tmp_path, seed=seed)).key for seed in range(20)}  # type: ignore[union-attr]
    assert len(seeds) > 3  # the seed picks among the results, not always the first


def test_no_item_is_given_to_two_scenes_and_a_scene_asking_again_gets_its_own(tmp_path: Path) -> None:
    picker = StockPicker()
    items = [_item(str(n)) for n in range(3)]
    first = [picker.choose(items, _request(tmp_path, seed=seed)) for seed in (1, 2, 3)]
    assert None not in first and len({i.key for i in first if i}) == 3
    assert picker.choose(items, _request(tmp_path, seed=4)) is None  # every one taken
    assert [picker.choose(items, _request(tmp_path, seed=seed)) for seed in (1, 2, 3)] == first
    assert picker.taken() == 3


def test_orientation_and_length_come_before_the_seed(tmp_path: Path) -> None:
    items = [
        _item("portrait", kind="video", width=1080, height=1920, duration=30),
        _item("short", kind="video", duration=2),
        _item("long", kind="video", duration=12),
    ]
    for seed in range(10):
        assert StockPicker().choose(items, _request(tmp_path, seed=seed), min_duration=5).key == "long"  # type: ignore[union-attr]
    # Nothing long enough of the right orientation: a short clip of the right orientation beats a long portrait one.
    assert StockPicker().choose(items[:2], _request(tmp_path), min_duration=5).key == "short"  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_photo_becomes_a_png_of_exactly_the_frame_cropped_not_stretched(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    """A 300x100 photo (left third light) fills a 160x90 frame: scaled to 270x90 and cropped at the centre,
    so its light third (90 of 270 px) shows 90 - 55 = 35 px of 160; stretched it would show 53."""
    fake_http_server.route("/p.jpg", lambda _r: Response(photo_bytes(300, 100), content_type="image/jpeg"))
    item = StockItem(
        key="7",
        kind="photo",
        width=300,
        height=100,
        renditions=(Rendition(f"{fake_http_server.url}/p.jpg", 300, 100),),
        author="Ann",
        link="http://stock.invalid/photo/7",
    )
    request = _request(tmp_path)

    picture = await fetch_stock(item, request, source="stock", license="Stock License", max_bytes=10**6)

    assert picture == Picture(
        request.out_path, 160, 90, "stock", "Stock License", "Ann", "http://stock.invalid/photo/7"
    )
    with Image.open(request.out_path) as png:
        assert (png.format, png.size) == ("PNG", (160, 90))
        row = [png.getpixel((x, 45)) for x in range(160)]
    light = [x for x, pixel in enumerate(row) if pixel[2] > 200]  # type: ignore[index]
    assert 33 <= len(light) <= 37 and light[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene-1.png"]


@pytest.mark.anyio
async def test_a_video_is_written_beside_the_picture_path_and_measured(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    fake_http_server.route(
        "/v.mp4", lambda _r: Response(clip_bytes(96, 54, 2.0, 12), content_type="video/mp4")
    )
    item = StockItem(
        key="9",
        kind="video",
        width=1920,  # the vendor's word for the original; the clip is measured as it is
        height=1080,
        renditions=(Rendition(f"{fake_http_server.url}/v.mp4", 1920, 1080),),
        duration=2,
        author="Bo",
        link="http://stock.invalid/video/9",
    )
    request = _request(tmp_path)

    clip = await fetch_stock(item, request, source="stock", license="L", max_bytes=10**6)

    assert isinstance(clip, Clip)
    assert clip.path == request.out_path.with_suffix(".mp4")
    assert (clip.width, clip.height, clip.fps) == (96, 54, 12.0)
    assert clip.duration == pytest.approx(2.0, abs=0.1)
    assert (clip.author, clip.link, clip.license, clip.start) == (
        "Bo",
        "http://stock.invalid/video/9",
        "L",
        0.0,
    )
    with av.open(str(clip.path)) as container:
        assert len(list(container.decode(video=0))) == 24


@pytest.mark.anyio
async def test_a_download_that_is_not_a_photo_is_permanent_and_leaves_nothing(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    fake_http_server.route("/p.jpg", lambda _r: Response(b"<html>sign in</html>", content_type="text/html"))
    item = StockItem("7", "photo", 300, 100, (Rendition(f"{fake_http_server.url}/p.jpg", 300, 100),))

    with pytest.raises(ProviderError, match="not a picture that can be read") as caught:
        await fetch_stock(item, _request(tmp_path), source="stock", license="L", max_bytes=10**6)
    assert caught.value.transient is False
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_a_download_that_is_not_a_video_is_permanent_and_leaves_nothing(
    fake_http_server: FakeHTTPServer, tmp_path: Path
) -> None:
    fake_http_server.route("/v.mp4", lambda _r: Response(photo_bytes(64, 36), content_type="video/mp4"))
    item = StockItem("9", "video", 64, 36, (Rendition(f"{fake_http_server.url}/v.mp4", 64, 36),), duration=3)

    with pytest.raises(ProviderError, match=r"scene-1\.mp4") as caught:
        await fetch_stock(item, _request(tmp_path), source="stock", license="L", max_bytes=10**6)
    assert caught.value.transient is False
    assert list(tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_find_stock_asks_for_videos_first_then_photos_with_the_prompts_keywords(tmp_path: Path) -> None:
    asked: list[tuple[str, str]] = []
    library = {"video": [_item("v1", kind="video", duration=10)], "photo": [_item("p1"), _item("p2")]}

    async def search(kind: MediaKind, query: str, _request: ImageRequest) -> list[StockItem]:
        asked.append((kind, query))
        return library[kind]

    picker = StockPicker()
    clip_request = evolve(_request(tmp_path, seed=1), prompt="bees over a river, 4k", clips=True, duration=5)
    assert (await find_stock(clip_request, search, picker, vendor="lib")).key == "v1"
    # The only video is taken: the next scene that takes clips gets a photo.
    assert (await find_stock(evolve(clip_request, seed=2), search, picker, vendor="lib")).kind == "photo"
    assert asked == [("video", "bees river"), ("photo", "bees river")]  # each question once


@pytest.mark.anyio
async def test_find_stock_asks_with_the_heading_when_the_prompt_has_no_keywords(tmp_path: Path) -> None:
    asked: list[str] = []

    async def search(_kind: MediaKind, query: str, _request: ImageRequest) -> list[StockItem]:
        asked.append(query)
        return [_item("p1")]

    request = evolve(_request(tmp_path), prompt="a cinematic photo", heading="The waggle dance")
    await find_stock(request, search, StockPicker(), vendor="lib")
    assert asked == ["waggle dance"]
    with pytest.raises(
        ProviderError, match=r"^lib: nothing to search for in the visual prompt 'a photo'$"
    ) as caught:
        await find_stock(evolve(request, prompt="a photo", heading=""), search, StockPicker(), vendor="lib")
    assert caught.value.transient is False


@pytest.mark.anyio
async def test_find_stock_refuses_an_empty_frame_before_searching(tmp_path: Path) -> None:
    async def search(_kind: MediaKind, _query: str, _request: ImageRequest) -> list[StockItem]:
        raise AssertionError("searched")

    with pytest.raises(ProviderError, match=r"^lib: 0x90 is too small") as caught:
        await find_stock(evolve(_request(tmp_path), width=0), search, StockPicker(), vendor="lib")
    assert caught.value.transient is False


@pytest.mark.anyio
async def test_scenes_asking_the_same_question_at_once_share_one_search(tmp_path: Path) -> None:
    """Three scenes at once, one question: asked once, three different items; a search that failed is
    asked again by the next scene."""
    calls: list[str] = []

    async def search(_kind: MediaKind, query: str, _request: ImageRequest) -> list[StockItem]:
        calls.append(query)
        await anyio.sleep(0.05)
        if query == "broken" and calls.count("broken") == 1:
            raise ProviderError("down", transient=True)
        return [_item(str(n)) for n in range(5)]

    picker = StockPicker()
    chosen: list[StockItem] = []

    async def scene(seed: int) -> None:
        chosen.append(
            await find_stock(
                evolve(_request(tmp_path, seed=seed), prompt="bees"), search, picker, vendor="lib"
            )
        )

    async with anyio.create_task_group() as group:
        for seed in (1, 2, 3):
            group.start_soon(scene, seed)
    assert calls == ["bees"] and len({item.key for item in chosen}) == 3

    broken = evolve(_request(tmp_path, seed=9), prompt="broken")
    with pytest.raises(ProviderError, match="down"):
        await find_stock(broken, search, picker, vendor="lib")
    assert (await find_stock(broken, search, picker, vendor="lib")).kind == "photo"
    assert calls == ["bees", "broken", "broken"]
