"""The ``folder`` illustrator: pictures from the user's own media folder, matched by file name.

The picture whose file name shares the most keywords with the scene's prompt and heading wins;
ties are broken by a hash of the seed and the file name, so the same request picks the same file.
The chosen picture is cropped to the requested aspect around its centre and scaled to the size.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from attrs import frozen

from aura_core import (
    ImageRequest,
    Picture,
    ProviderError,
    ProviderSettings,
    UserError,
    setting,
    write_in_thread,
)
from aura_plugins_local.template import keywords

#: File name endings read as pictures.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"})


def _stem_words(path: Path) -> set[str]:
    return set(keywords(re.sub(r"[_\-.]+", " ", path.stem)))


def _variants(word: str) -> set[str]:
    """``word`` and its simple singular, so ``bees`` matches ``bee``."""
    forms = {word}
    if word.endswith("ies") and len(word) > 4:
        forms.add(word[:-3] + "y")
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.add(word[:-1])
    return forms


def _pictures(folder: Path) -> list[Path]:
    """The pictures directly inside ``folder``, sorted by name; ``ValueError`` saying why there are none."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ValueError(f"no pictures ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return images


def list_images(folder: Path) -> list[Path]:
    """The pictures directly inside ``folder``, sorted by name; ``UserError`` when there are none."""
    try:
        return _pictures(folder)
    except ValueError as error:
        raise UserError(f"providers.folder.path: {error}") from None


@frozen
class FolderSettings:
    """The ``[providers.folder]`` table: the folder is required, and must hold pictures."""

    path: Path = setting(check=_pictures, help='the folder of your pictures, like path = "media"')


def pick_image(images: list[Path], text: str, seed: int) -> Path:
    """The image whose name shares the most keywords with ``text``; ties broken by ``seed``."""
    wanted: set[str] = set()
    for word in keywords(text):
        wanted |= _variants(word)

    def score(path: Path) -> tuple[int, str]:
        names: set[str] = set()
        for word in _stem_words(path):
            names |= _variants(word)
        tie = hashlib.sha256(f"{seed}\x1f{path.name}".encode()).hexdigest()
        return (-len(wanted & names), tie)

    return min(images, key=score)


class FolderIllustrator:
    """kind ``image``, name ``folder``: the user's own pictures, chosen by keywords in their file names."""

    kind = "image"
    name = "folder"
    auto = False
    deterministic = True  # the same request gives the same picture: a bad one is not retried
    concurrency = 2

    def __init__(self, path: Path | None = None) -> None:
        self.path = path

    def configure(self, settings: ProviderSettings) -> FolderIllustrator:
        """A folder illustrator reading the folder of the required ``path`` setting (relative to the brief).

        Its own ``configure``, not a declared ``settings`` member, because a provider with declared
        settings and no table is used as it is: this one must refuse to start without a folder.
        """
        return FolderIllustrator(settings.structure(FolderSettings).path)

    def fingerprint(self) -> str:
        """The folder and the names, sizes and times of its pictures: adding a picture changes choices."""
        if self.path is None or not self.path.is_dir():
            return "folder/1:none"
        listing = "\n".join(
            f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
            for p in sorted(self.path.iterdir())
            if p.suffix.lower() in IMAGE_SUFFIXES
        )
        return f"folder/1:{self.path}:{hashlib.sha256(listing.encode()).hexdigest()[:16]}"

    async def generate(self, request: ImageRequest) -> Picture:
        """Pick, crop and scale a picture for ``request`` and write it as PNG to ``request.out_path``."""
        if self.path is None:
            raise UserError('providers.folder.path: set path = "media" to the folder of your pictures')
        folder = self.path
        if request.width < 1 or request.height < 1:
            # Refused before any work: fitting a picture into 0x0 pixels divides by zero.
            raise ProviderError(
                f"folder: {request.width}x{request.height} is too small: a picture needs at least 1x1 pixels",
                transient=False,
            )

        def render(out_path: Path) -> Path:
            from PIL import Image, ImageOps  # imported on first use, in the worker thread

            chosen = pick_image(list_images(folder), f"{request.heading} {request.prompt}", request.seed)
            try:
                with Image.open(chosen) as original:
                    picture = ImageOps.exif_transpose(original).convert("RGB")
            except OSError as error:
                raise UserError(f"{chosen}: not a readable picture ({error})") from None
            except Image.DecompressionBombError as error:  # Pillow refuses to decode it: too many pixels
                raise UserError(
                    f"{chosen}: picture too large to open safely ({error}); shrink it or move it out of {folder}"
                ) from None
            fitted = ImageOps.fit(picture, (request.width, request.height), Image.Resampling.LANCZOS)
            fitted.save(out_path, format="PNG", compress_level=1)
            return chosen

        chosen = await write_in_thread(request.out_path, render)
        return Picture(
            path=request.out_path,
            width=request.width,
            height=request.height,
            source=str(chosen),
            license="user-supplied",
        )
