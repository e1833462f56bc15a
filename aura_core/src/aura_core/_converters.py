"""The cattrs machinery shared by the brief loader and provider settings: strict leaf types, one-line messages.

Private: ``loader`` and ``settings`` build their converters from here, so a brief's tables and a
provider's ``[providers.<name>]`` table are checked by the same rules and report problems the same way
(``plan.duration: expected a number, got 'soon'``).
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cattrs
from attrs import frozen
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from aura_core.specs import control_character

#: The longest path text taken (PATH_MAX on Linux): no file can have a longer name.
MAX_PATH_CHARS = 4096


def structure_float(value: Any, _type: type) -> float:
    """A finite number (an int is taken as a float); a bool is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def structure_int(value: Any, _type: type) -> int:
    """A whole number; a bool or a float is not one."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


def structure_bool(value: Any, _type: type) -> bool:
    """``true`` or ``false`` as TOML writes them; cattrs' own ``bool("no")`` would be True."""
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def structure_str(value: Any, _type: type) -> str:
    """Text as written."""
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    return value


def path_text(value: Any) -> str:
    """The text of a path: bounded, no control characters."""
    text = structure_str(value, str)
    if len(text) > MAX_PATH_CHARS:
        raise ValueError(f"must be at most 4,096 characters, got {len(text):,}")
    found = control_character(text)
    if found is not None:
        raise ValueError(f"must not contain control characters, got {found}")
    return text


def structure_path(value: Any, _type: type) -> Path:
    """A path as written (the caller resolves it)."""
    return Path(path_text(value))


def one_of(allowed: tuple[Any, ...], value: Any) -> str:
    """The problem line for ``value`` outside ``allowed``."""
    return f"expected one of {', '.join(map(str, allowed))}, got {value!r}"


def _is_literal(hint: Any) -> bool:
    return typing.get_origin(hint) is typing.Literal


def _literal_hook(hint: Any) -> Callable[[Any, Any], Any]:
    allowed = typing.get_args(hint)

    def structure(value: Any, _type: Any) -> Any:
        # ``in`` alone would take True for 1; compare types too, so `fps = true` is not a literal 1.
        if not any(value == a and type(value) is type(a) for a in allowed):
            raise ValueError(one_of(allowed, value))
        return value

    return structure


def base_converter() -> cattrs.Converter:
    """A cattrs converter that refuses unknown keys and reports every problem, with strict leaf types."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(float, structure_float)
    converter.register_structure_hook(int, structure_int)
    converter.register_structure_hook(bool, structure_bool)
    converter.register_structure_hook(str, structure_str)
    converter.register_structure_hook(Path, structure_path)
    converter.register_structure_hook_factory(_is_literal, _literal_hook)
    return converter


@frozen
class Wording:
    """How ``messages`` names keys and phrases unknown and missing ones (the brief's words by default)."""

    #: The key a user writes for attribute ``name`` of class ``cls`` (a renamed setting differs).
    key: Callable[[type | None, str], str] = lambda _cls, name: name
    #: The problem for an unknown key of a table read into ``cls``.
    unknown: Callable[[type | None, str], str] = lambda _cls, _key: "unknown key"
    #: The problem for a required key missing from a table read into ``cls``.
    missing: Callable[[type | None, str], str] = lambda _cls, _name: "required key is missing"


BRIEF_WORDING = Wording()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def messages(
    exc: BaseException, path: str, wording: Wording = BRIEF_WORDING, cls: type | None = None
) -> list[str]:
    """Flatten a cattrs validation error tree into ``path: problem`` lines, one per problem."""
    if isinstance(exc, ForbiddenExtraKeysError):
        return [_join(path, key) + ": " + wording.unknown(exc.cl, key) for key in sorted(exc.extra_fields)]
    if isinstance(exc, ClassValidationError | IterableValidationError):
        inner_cls = exc.cl if isinstance(exc, ClassValidationError) else None
        lines: list[str] = []
        with_notes, without = exc.group_exceptions()
        for inner, note in with_notes:
            name = getattr(note, "name", None)
            index = getattr(note, "index", None)
            if name is not None:
                key = wording.key(inner_cls, name)
                if isinstance(inner, KeyError):
                    lines.append(_join(path, key) + ": " + wording.missing(inner_cls, name))
                    continue
                sub = _join(path, key)
            else:
                # a table's key as TOML writes a dotted path; a list's index in brackets
                sub = _join(path, index) if isinstance(index, str) else f"{path}[{index}]"
            lines.extend(messages(inner, sub, wording, None))
        for inner in without:
            lines.extend(messages(inner, path, wording, inner_cls))
        return lines
    if isinstance(exc, KeyError):
        return [f"{path}: {wording.missing(cls, '')}"]
    text = str(exc)
    attrs_validator = re.match(r"^'?(\w+)'? (must .*?)(?:: (.*))?$", text)
    if isinstance(exc, ValueError) and attrs_validator:
        name, rule, got = attrs_validator.groups()
        return [f"{_join(path, wording.key(cls, name))}: {rule}" + (f", got {got}" if got else "")]
    if isinstance(exc, TypeError) and "missing" in text and "required" in text:
        field = text.rsplit("'", 2)[-2] if "'" in text else "?"
        return [f"{_join(path, wording.key(cls, field))}: {wording.missing(cls, field)}"]
    return [f"{path}: {text}" if path else text]
