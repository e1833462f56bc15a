"""Where a finished video may be written: ``out`` is checked before a run starts, never after the render.

A copy of the video at ``out`` must not replace one of the run's inputs (the brief, the music, a file a
provider reads), must carry the suffix of the container the codec is written in, and must land in a
folder that exists or can be made.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from aura_core.credits import CREDITS_SUFFIX
from aura_core.errors import UserError
from aura_core.runner import video_suffix
from aura_core.specs import BriefFile

#: Captions and credits are published beside ``out`` under these suffixes: they must not replace an input either.
_SIDECARS = (".srt", ".vtt", ".ass", CREDITS_SUFFIX)


def check_out(out: str | Path, spec: BriefFile, run_dir: Path) -> Path:
    """``out`` as a path, or ``UserError`` (one line naming it and what to do) when it cannot be used."""
    target = Path(out).expanduser()
    wanted = video_suffix(spec.render)
    for written in (target, *(target.with_suffix(s) for s in _SIDECARS)):
        for source in _inputs(spec):
            if _same_file(written, source):
                raise UserError(
                    f"--out {target}: would overwrite {source}, an input of this run; choose another file"
                )
        if _inside(written, run_dir):
            raise UserError(
                f"--out {target}: is inside the run directory {run_dir} (the run keeps its own final{wanted});"
                " choose a file outside it"
            )
    if target.suffix.lower() != wanted:
        raise UserError(
            f"--out {target}: codec {spec.render.codec} writes {wanted[1:].upper()} video;"
            f" name the file with {wanted} (for example {target.with_suffix(wanted).name})"
        )
    if target.is_dir():
        raise UserError(
            f"--out {target}: is a folder; name the video file (for example {target / ('video' + wanted)})"
        )
    _check_folder(target)
    return target


def _inputs(spec: BriefFile) -> Iterator[Path]:
    """The files this brief reads: the brief itself, its music and every provider setting naming a file."""
    if spec.source is not None:
        yield spec.source
    if spec.render.music is not None:
        yield spec.render.music
    base = spec.source.parent if spec.source is not None else Path.cwd()
    for settings in spec.providers.settings.values():
        for value in settings.values():
            if isinstance(value, str) and value:
                path = Path(value).expanduser()
                yield path if path.is_absolute() else base / path


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through links and ``..`` too)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where the names lead
        return a.resolve() == b.resolve()


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _check_folder(target: Path) -> None:
    """The folder of ``target`` exists or can be made (it is made when the video is published)."""
    folder = target.resolve().parent
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"--out {target}: {existing} is a file, not a folder; choose a file in a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"--out {target}: the folder {existing} is not writable; choose a writable folder")
