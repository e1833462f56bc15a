"""An incremental reader of a streamed JSON script: each scene object is handed out as soon as it closes.

The script is ``{"scenes": [{...}, {...}]}`` (or, from a lenient server, a bare ``[{...}, ...]``).
The reader keeps the text seen so far and a stack of open containers; it tracks strings and escapes
so braces inside narration do not count, and when an object directly inside the ``scenes`` array
closes, that object's text is decoded with ``json.loads``. Everything else is checked at ``finish``.
"""

from __future__ import annotations

import json
from typing import Any

from attrs import define, field

from aura_core import SceneDraft


class ScriptParseError(ValueError):
    """The model's answer is not the JSON script that was asked for."""


_ALIASES: dict[str, tuple[str, ...]] = {
    "heading": ("heading", "title", "name"),
    "narration": ("narration", "text", "voiceover", "voice_over", "script"),
    "visual_prompt": ("visual_prompt", "visual", "image_prompt", "image", "visuals"),
}


def scene_from_object(obj: Any, index: int) -> SceneDraft:
    """A ``SceneDraft`` from one decoded scene object; a few common alternative key names are accepted."""
    if not isinstance(obj, dict):
        raise ScriptParseError(f"scene {index + 1} is not an object")
    found: dict[str, str] = {}
    for name, aliases in _ALIASES.items():
        value = next((obj[a] for a in aliases if isinstance(obj.get(a), str)), "")
        found[name] = value.strip()
    if not found["narration"]:
        raise ScriptParseError(f"scene {index + 1} has no narration")
    return SceneDraft(
        heading=found["heading"] or f"Scene {index + 1}",
        narration=found["narration"],
        visual_prompt=found["visual_prompt"] or found["narration"],
    )


@define
class _Frame:
    kind: str  # "{" or "["
    key: str | None  # the key this container sits under in its parent object
    expect_key: bool = True  # objects only: the next string is a key
    last_key: str | None = None
    start: int = 0


@define
class SceneStream:
    """Feed text chunks with ``feed``, which returns the scenes each chunk completes; then ``finish``."""

    _buffer: str = ""
    _pos: int = 0
    _stack: list[_Frame] = field(factory=list)
    _in_string: bool = False
    _escape: bool = False
    _string_start: int = 0
    _started: bool = False
    _done: bool = False
    _count: int = 0

    @property
    def count(self) -> int:
        """How many scenes have been handed out."""
        return self._count

    def text(self) -> str:
        """Everything fed so far."""
        return self._buffer

    def feed(self, chunk: str) -> list[SceneDraft]:
        """Read ``chunk``; return the scenes whose objects closed inside it, in order."""
        self._buffer += chunk
        text = self._buffer
        scenes: list[SceneDraft] = []
        for i in range(self._pos, len(text)):
            scene = self._step(text, i)
            if scene is not None:
                scenes.append(scene)
        self._pos = len(text)
        return scenes

    def _step(self, text: str, i: int) -> SceneDraft | None:
        ch = text[i]
        if self._in_string:
            if self._escape:
                self._escape = False
            elif ch == "\\":
                self._escape = True
            elif ch == '"':
                self._in_string = False
                self._string_closed(text[self._string_start : i + 1])
            return None
        if self._done:
            if not ch.isspace() and ch != "`":
                raise ScriptParseError(f"unexpected text after the JSON script: {text[i : i + 40]!r}")
            return None
        if not self._started:
            # Before the script: tolerate a Markdown fence or a sentence from a chatty local model.
            if ch not in "{[":
                return None
            self._started = True
        if ch == '"':
            self._in_string = True
            self._string_start = i
        elif ch in "{[":
            self._open(ch, i)
        elif ch in "}]":
            return self._close(ch, text, i)
        elif ch == "," and self._stack and self._stack[-1].kind == "{":
            self._stack[-1].expect_key = True
        return None

    def _string_closed(self, literal: str) -> None:
        top = self._stack[-1] if self._stack else None
        if top is not None and top.kind == "{" and top.expect_key:
            try:
                top.last_key = json.loads(literal)
            except ValueError as error:
                raise ScriptParseError(f"bad key {literal[:40]!r}: {error}") from None
            top.expect_key = False

    def _open(self, ch: str, i: int) -> None:
        parent = self._stack[-1] if self._stack else None
        key = parent.last_key if parent is not None and parent.kind == "{" else None
        if parent is not None and parent.kind == "{":
            parent.expect_key = False
        self._stack.append(_Frame(kind=ch, key=key, start=i))

    def _is_scene_list(self, depth: int) -> bool:
        """Whether the container at ``depth`` in the stack is the list of scenes."""
        frame = self._stack[depth]
        if frame.kind != "[":
            return False
        return depth == 0 or (depth == 1 and self._stack[0].kind == "{" and frame.key == "scenes")

    def _close(self, ch: str, text: str, i: int) -> SceneDraft | None:
        if not self._stack or self._stack[-1].kind != ("{" if ch == "}" else "["):
            raise ScriptParseError(f"unbalanced {ch!r} at character {i}")
        frame = self._stack.pop()
        if not self._stack:
            self._done = True
            return None
        if ch == "}" and self._is_scene_list(len(self._stack) - 1):
            try:
                obj = json.loads(text[frame.start : i + 1])
            except ValueError as error:
                raise ScriptParseError(f"scene {self._count + 1} is not valid JSON: {error}") from None
            scene = scene_from_object(obj, self._count)
            self._count += 1
            return scene
        return None

    def finish(self) -> None:
        """Check the whole answer once it has ended.

        Raises ``ScriptParseError`` when the answer is not one complete JSON script with at least one scene.
        """
        text = self.text()
        if not self._done:
            raise ScriptParseError("the answer ended before the JSON script was complete")
        start = min(i for i in (text.find("{"), text.find("[")) if i >= 0)
        body = text[start:].strip().rstrip("`").strip()
        try:
            document = json.loads(body)
        except ValueError as error:
            raise ScriptParseError(f"the answer is not valid JSON: {error}") from None
        items = document.get("scenes") if isinstance(document, dict) else document
        if not isinstance(items, list) or not items:
            raise ScriptParseError('the answer has no "scenes" list')
        if len(items) != self._count:
            raise ScriptParseError(f"expected {len(items)} scene objects, read {self._count}")
