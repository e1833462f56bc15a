"""The ``folder`` illustrator: pictures and videos from the user's own media folder, matched by file name.

The file whose name shares the most keywords with the scene's prompt and heading wins; ties are
broken by a hash of the seed and the file name, so the same request picks the same file whatever the
composer. A picture is cropped to the requested aspect around its centre and scaled to the size.
A video becomes a moving clip when the request takes clips (a copy of the file, measured with
``probe_clip``: the composer crops, scales and cuts it); otherwise its middle frame is used as a
picture, so a folder of videos still illustrates a video made by a composer that takes no clips.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from attrs import frozen

from aura_core import (
    VIDEO_SUFFIXES,
    Clip,
    ClipProbeError,
    ImageRequest,
    Picture,
    ProviderError,
    ProviderSettings,
    UserError,
    Visual,
    probe_clip,
    setting,
    write_in_thread,
)
from aura_plugins_local.template import keywords

if TYPE_CHECKING:
    from PIL import Image as PILImage

#: File name endings read as pictures.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"})

#: Every file name ending the folder takes: pictures and videos.
MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES


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


def _media(folder: Path) -> list[Path]:
    """The pictures and videos directly inside ``folder``, sorted by name; ``ValueError`` saying why there are none."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES)
    if not files:
        raise ValueError(f"no pictures or videos ({', '.join(sorted(MEDIA_SUFFIXES))}) in {folder}")
    return files


def list_images(folder: Path) -> list[Path]:
    """The pictures and videos directly inside ``folder``, sorted by name; ``UserError`` when there are none."""
    try:
        return _media(folder)
    except ValueError as error:
        raise UserError(f"providers.folder.path: {error}") from None


def is_video(path: Path) -> bool:
    """Whether the folder reads ``path`` as a video (by its name's ending)."""
    return path.suffix.lower() in VIDEO_SUFFIXES


@frozen
class FolderSettings:
    """The ``[providers.folder]`` table: the folder is required, and must hold pictures or videos."""

    path: Path = setting(check=_media, help='the folder of your pictures and videos, like path = "media"')


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
    """kind ``image``, name ``folder``: the user's own pictures and videos, chosen by keywords in their file names."""

    kind = "image"
    name = "folder"
    auto = False
    deterministic = True  # the same request gives the same picture: a bad one is not retried
    concurrency = 2
    clips = True  # a video in the folder becomes a moving clip when the composer takes clips

    def __init__(self, path: Path | None = None) -> None:
        self.path = path

    def configure(self, settings: ProviderSettings) -> FolderIllustrator:
        """A folder illustrator reading the folder of the required ``path`` setting (relative to the brief).

        Its own ``configure``, not a declared ``settings`` member, because a provider with declared
        settings and no table is used as it is: this one must refuse to start without a folder.
        """
        return FolderIllustrator(settings.structure(FolderSettings).path)

    def fingerprint(self) -> str:
        """The folder and the names, sizes and times of its pictures and videos: adding one changes choices.

        A folder without videos keeps the fingerprint it had before videos were taken (and its cache)."""
        if self.path is None or not self.path.is_dir():
            return "folder/1:none"
        listing = "\n".join(
            f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
            for p in sorted(self.path.iterdir())
            if p.suffix.lower() in MEDIA_SUFFIXES
        )
        return f"folder/1:{self.path}:{hashlib.sha256(listing.encode()).hexdigest()[:16]}"

    async def generate(self, request: ImageRequest) -> Visual:
        """Pick a picture or video for ``request``: a video as a clip beside ``request.out_path`` when the
        request takes clips; otherwise a picture (a video's middle frame), cropped, scaled and written as
        PNG to ``request.out_path``."""
        if self.path is None:
            raise UserError(
                'providers.folder.path: set path = "media" to the folder of your pictures and videos'
            )
        folder = self.path
        if request.width < 1 or request.height < 1:
            # Refused before any work: fitting a picture into 0x0 pixels divides by zero.
            raise ProviderError(
                f"folder: {request.width}x{request.height} is too small: a picture needs at least 1x1 pixels",
                transient=False,
            )
        chosen = pick_image(list_images(folder), f"{request.heading} {request.prompt}", request.seed)
        if request.clips and is_video(chosen):
            return await _clip(chosen, request.out_path.with_suffix(chosen.suffix.lower()))

        def render(out_path: Path) -> None:
            from PIL import Image, ImageOps  # imported on first use, in the worker thread

            picture = _middle_frame(chosen) if is_video(chosen) else _open_picture(chosen, folder)
            fitted = ImageOps.fit(picture, (request.width, request.height), Image.Resampling.LANCZOS)
            fitted.save(out_path, format="PNG", compress_level=1)

        await write_in_thread(request.out_path, render)
        return Picture(
            path=request.out_path,
            width=request.width,
            height=request.height,
            source=str(chosen),
            license="user-supplied",
        )


async def _clip(chosen: Path, out: Path) -> Clip:
    """The user's video as a clip: measured where it is (a bad file is named as the user knows it), then
    copied beside ``out_path`` so the run's store keeps it with a checksum like any artifact."""

    def copy(path: Path) -> Clip:
        try:
            clip = probe_clip(chosen, source=str(chosen), license="user-supplied")
        except ClipProbeError as error:
            raise UserError(f"{error}; replace it or move it out of {chosen.parent}") from None
        shutil.copyfile(chosen, path)
        return clip

    clip = await write_in_thread(out, copy)
    return Clip(
        path=out,
        width=clip.width,
        height=clip.height,
        duration=clip.duration,
        fps=clip.fps,
        source=clip.source,
        license=clip.license,
    )


def _open_picture(chosen: Path, folder: Path) -> PILImage.Image:
    """The user's picture upright, in RGB; ``UserError`` naming it when it cannot be read."""
    from PIL import Image, ImageOps

    try:
        with Image.open(chosen) as original:
            return ImageOps.exif_transpose(original).convert("RGB")
    except OSError as error:
        raise UserError(f"{chosen}: not a readable picture ({error})") from None
    except Image.DecompressionBombError as error:  # Pillow refuses to decode it: too many pixels
        raise UserError(
            f"{chosen}: picture too large to open safely ({error}); shrink it or move it out of {folder}"
        ) from None


def _middle_frame(chosen: Path) -> PILImage.Image:
    """The frame of the user's video on screen halfway through, upright (its rotation applied), in RGB."""
    import av
    from PIL import Image

    try:
        clip = probe_clip(chosen, source=str(chosen), license="user-supplied")
        with av.open(str(chosen)) as container:
            stream = container.streams.video[0]
            assert stream.time_base is not None
            origin = stream.start_time or 0
            middle = float(origin * stream.time_base) + clip.duration / 2
            container.seek(origin + int(clip.duration / 2 / stream.time_base), stream=stream)
            shown = None
            for frame in container.decode(stream):  # from the key frame before the middle
                if shown is not None and frame.time is not None and frame.time > middle:
                    break
                shown = frame
            if shown is None:
                raise UserError(f"{chosen}: not a readable video (no frame decodes halfway through)")
            image = Image.fromarray(shown.to_ndarray(format="rgb24"))
            turned = shown.rotation
    except (ClipProbeError, av.error.FFmpegError) as error:
        raise UserError(f"{chosen}: not a readable video ({error})") from None
    return image.rotate(turned, expand=True) if turned % 360 else image
