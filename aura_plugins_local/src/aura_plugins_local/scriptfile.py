"""The ``scriptfile`` writer: the user brings the script as Markdown; aura voices, illustrates and renders it.

The format::

    # Title of the video
    ## First scene heading
    Narration, one or more paragraphs.
    [visual: what the picture should show]
    ## Second scene heading
    ...

Anything before the first ``##`` other than the ``#`` title is ignored, as are HTML comments.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from attrs import frozen

from aura_core import SceneDraft, ScriptRequest, UserError, setting

_VISUAL = re.compile(r"^\[\s*visual\s*:\s*(?P<text>.*?)\s*\]\s*$", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# C0 and C1 control characters but tab, line feed and carriage return: no voice can say them, and
# some (NUL) break the speech engines outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")


@frozen
class ParsedScript:
    """A script file read into a title and scenes."""

    title: str
    scenes: tuple[SceneDraft, ...]


def parse_script(text: str, name: str = "script.md") -> ParsedScript:
    """Read Markdown ``text`` into scenes; ``UserError("name:line: what is wrong")`` when it is malformed."""
    # blank out comments but keep their newlines so line numbers stay right
    text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    control = _CONTROL.search(text)
    if control:
        number = text.count("\n", 0, control.start()) + 1
        raise UserError(
            f"{name}:{number}: a control character (U+{ord(control.group()):04X}) in the script; "
            "remove it and save the file as plain text"
        )
    title = ""
    scenes: list[SceneDraft] = []
    heading: str | None = None
    heading_line = 0
    narration: list[str] = []
    visual: str | None = None

    def close_scene() -> None:
        if heading is None:
            return
        body = " ".join(" ".join(narration).split())
        if not body:
            raise UserError(f"{name}:{heading_line}: scene {heading!r} has no narration")
        scenes.append(
            SceneDraft(heading=heading, narration=body, visual_prompt=visual or f"{title}: {heading}")
        )

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("## ") or line == "##":
            close_scene()
            heading, heading_line, narration, visual = line[2:].strip(), number, [], None
            if not heading:
                raise UserError(f"{name}:{number}: a scene heading '##' needs a name")
            continue
        if line.startswith("# "):
            if title or heading is not None:
                raise UserError(f"{name}:{number}: a second '# title'; scenes start with '## '")
            title = line[2:].strip()
            continue
        if re.match(r"^#{3,6}(\s|$)", line):
            raise UserError(
                f"{name}:{number}: unexpected heading {line.split()[0]!r}; use '# Title' or '## Scene'"
            )
        match = _VISUAL.match(line)
        if match:
            if heading is None:
                raise UserError(f"{name}:{number}: [visual: …] before the first '## ' scene")
            if not match.group("text"):
                raise UserError(f"{name}:{number}: [visual: …] is empty")
            if visual is not None:
                raise UserError(f"{name}:{number}: a second [visual: …] in scene {heading!r}")
            visual = match.group("text")
            continue
        if line.lower().startswith("[visual"):
            raise UserError(f"{name}:{number}: malformed visual line; write [visual: what the picture shows]")
        if heading is not None and line:
            narration.append(line)
    close_scene()
    if not scenes:
        raise UserError(f"{name}:1: no scenes; start each scene with a '## Heading' line")
    return ParsedScript(title=title, scenes=tuple(scenes))


def read_script(path: Path) -> ParsedScript:
    """Read and parse the script file at ``path``; every problem is a ``UserError`` naming the file."""
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: script file not found") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read the script file ({error.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UserError(
            f"{name}:{line}: not UTF-8 text (byte {error.start}); save the file as UTF-8"
        ) from None
    return parse_script(text, name)


@frozen
class ScriptFileSettings:
    """The ``[providers.scriptfile]`` table, read by the core."""

    path: Path | None = setting(None, help='the Markdown script file, like path = "script.md"')


class ScriptFileWriter:
    """kind ``llm``, name ``scriptfile``: yields the scenes of the user's Markdown script file."""

    kind = "llm"
    name = "scriptfile"
    auto = False
    follows_plan = False  # the user's scenes as written: the plan's scene count and word target do not apply
    deterministic = True  # the same file gives the same script: a bad one is not retried
    concurrency = 4

    def __init__(self, path: Path | None = None) -> None:
        self.settings = ScriptFileSettings(path)

    def fingerprint(self) -> str:
        """The file's path and content hash: editing the script re-makes what depends on it."""
        path = self.settings.path
        if path is None:
            return "scriptfile/1:none"
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        except OSError:
            digest = "missing"
        return f"scriptfile/1:{path}:{digest}"

    async def write_script(self, request: ScriptRequest) -> AsyncIterator[SceneDraft]:
        """Yield the scenes of the user's script in order; ``scene_count`` and ``word_target`` are ignored."""
        path = self.settings.path
        if path is None:
            raise UserError('providers.scriptfile: set path = "script.md" to the script file')
        script = await anyio.to_thread.run_sync(read_script, path)
        for scene in script.scenes:
            yield scene


__all__ = ["ParsedScript", "ScriptFileSettings", "ScriptFileWriter", "parse_script", "read_script"]
