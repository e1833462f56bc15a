"""Title cards and the media folder: real PNGs of the asked size, with the heading drawn in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aura_core import ImageRequest, UserError
from aura_core.testing import configured
from aura_plugins_local.cards import CardsIllustrator, font_path
from aura_plugins_local.folder import FolderIllustrator, pick_image


def _request(
    out: Path, width: int, height: int, heading: str = "How bees dance", seed: int = 7
) -> ImageRequest:
    return ImageRequest(
        prompt="documentary photograph of honeybees on a comb",
        negative_prompt="",
        width=width,
        height=height,
        style="documentary",
        seed=seed,
        out_path=out,
        heading=heading,
    )


@pytest.mark.anyio
@pytest.mark.parametrize(("width", "height"), [(640, 360), (360, 640), (300, 300)])
async def test_card_has_the_asked_size_and_is_not_blank(tmp_path: Path, width: int, height: int) -> None:
    """The PNG on disk has the requested size in landscape, portrait and square, and many colours."""
    picture = await CardsIllustrator().generate(_request(tmp_path / "c.png", width, height))
    with Image.open(picture.path) as image:
        assert image.size == (width, height) == (picture.width, picture.height)
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    assert picture.source == "cards"
    assert picture.license == "CC0 (generated)"


@pytest.mark.anyio
async def test_card_heading_pixels_are_drawn_in_the_middle(tmp_path: Path) -> None:
    """With a heading the centre band differs strongly from the same card drawn without one."""
    with_text = await CardsIllustrator().generate(_request(tmp_path / "t.png", 640, 360))
    without = await CardsIllustrator().generate(_request(tmp_path / "n.png", 640, 360, heading=""))
    a = np.asarray(Image.open(with_text.path).convert("L"), dtype=np.int16)
    b = np.asarray(Image.open(without.path).convert("L"), dtype=np.int16)
    changed = np.abs(a - b) > 60
    assert changed[120:240].mean() > 0.03  # glyph strokes in the centre band
    assert changed[:40].mean() == 0
    assert changed[-40:].mean() == 0


@pytest.mark.anyio
async def test_cards_are_deterministic_and_vary_with_seed(tmp_path: Path) -> None:
    """The same request gives identical pixels; another seed another card."""
    first = await CardsIllustrator().generate(_request(tmp_path / "1.png", 320, 180))
    again = await CardsIllustrator().generate(_request(tmp_path / "2.png", 320, 180))
    other = await CardsIllustrator().generate(_request(tmp_path / "3.png", 320, 180, seed=8))
    assert np.array_equal(np.asarray(Image.open(first.path)), np.asarray(Image.open(again.path)))
    assert not np.array_equal(np.asarray(Image.open(first.path)), np.asarray(Image.open(other.path)))


def test_fonts_ship_with_the_package() -> None:
    """Both DejaVu fonts and their licence are inside the installed package."""
    assert font_path(True).is_file()
    assert font_path(False).is_file()
    assert (font_path().parent / "LICENSE-DejaVu.txt").read_text().count("Bitstream") > 0


def _media(folder: Path) -> None:
    folder.mkdir()
    Image.new("RGB", (400, 300), (200, 30, 30)).save(folder / "red-honeybee_comb.jpg")
    Image.new("RGB", (400, 300), (30, 200, 30)).save(folder / "green-meadow-flowers.png")
    Image.new("RGB", (300, 400), (30, 30, 200)).save(folder / "blue-sky.png")
    (folder / "notes.txt").write_text("not a picture")


@pytest.mark.anyio
async def test_folder_picks_by_keywords_and_crops_to_the_aspect(tmp_path: Path) -> None:
    """The file sharing most keywords with the scene is used, cropped and scaled to the asked size."""
    _media(tmp_path / "media")
    folder = configured(FolderIllustrator(), {"path": "media"}, tmp_path)
    request = _request(tmp_path / "out.png", 180, 320, heading="Flowers in the meadow")
    picture = await folder.generate(request)
    with Image.open(picture.path) as image:
        assert image.size == (180, 320)
        assert image.getpixel((90, 160)) == (30, 200, 30)
    assert picture.source.endswith("green-meadow-flowers.png")
    assert picture.license == "user-supplied"
    bees = await folder.generate(_request(tmp_path / "b.png", 160, 90, heading="Inside the hive"))
    assert bees.source.endswith("red-honeybee_comb.jpg")  # 'honeybees' and 'comb' from the prompt


def test_folder_tie_break_is_deterministic_by_seed(tmp_path: Path) -> None:
    """With no shared keyword the pick depends only on the seed, and is the same every time."""
    _media(tmp_path / "media")
    images = sorted((tmp_path / "media").glob("*.[pj]*g"))
    picks = {pick_image(images, "unrelated words", seed) for seed in range(12)}
    assert len(picks) > 1
    assert pick_image(images, "unrelated words", 3) == pick_image(images, "unrelated words", 3)


def test_folder_missing_or_empty_is_a_user_error(tmp_path: Path) -> None:
    """A missing folder, or one without pictures, raises UserError naming the folder."""
    with pytest.raises(UserError, match=r"^providers\.folder\.path: .*nowhere is not a folder$"):
        configured(FolderIllustrator(), {"path": "nowhere"}, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        UserError, match=r"^providers\.folder\.path: no pictures or videos \(.*\) in .*empty$"
    ):
        configured(FolderIllustrator(), {"path": "empty"}, tmp_path)


def test_folder_without_a_path_or_with_a_wrong_key_says_what_to_write(tmp_path: Path) -> None:
    """The folder is required: a brief that names the provider without it stops before any call."""
    with pytest.raises(UserError) as caught:
        configured(FolderIllustrator(), {"pth": "media"}, tmp_path)
    assert str(caught.value).splitlines() == [
        'providers.folder.path: required setting is missing: the folder of your pictures and videos, like path = "media"',
        "providers.folder.pth: unknown setting (did you mean path?); expected one of path",
    ]


def test_cards_take_no_settings(tmp_path: Path) -> None:
    """Cards declare no settings: any key but the middleware's is refused by the core, by name."""
    cards = CardsIllustrator()
    assert configured(cards, {"timeout": 5}, tmp_path) is cards
    with pytest.raises(UserError, match=r"^providers\.cards: this provider takes no settings, got colour$"):
        configured(cards, {"colour": "red"}, tmp_path)
