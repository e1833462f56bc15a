"""Declared provider settings: a provider's ``[providers.<name>]`` table, checked into an attrs class.

A provider declares its settings once, as a frozen attrs class. Each field's type says what a value
must be (``float``, ``int``, ``bool``, ``str``, ``Path``, a ``Literal``, a tuple, a mapping, another
attrs class, ``Secret``); ``setting()`` adds a range, choices, a URL check, a rename or a check of
its own, and a line of help. The core's cattrs machinery, the one that reads the brief, turns the
table into an instance and reports every problem at once, one line each, naming its path::

    providers.stripes.stripe: expected a whole number of at least 1, got 0
    providers.stripes.colour: unknown setting; expected one of palette, stripe

A provider whose ``settings`` member is such an instance and that has no ``configure`` of its own is
configured by the core: it gets a copy with ``settings`` read from the brief. A provider with its own
``configure`` calls ``settings.structure(MySettings)`` (``ProviderSettings.structure``) inside it.

Secrets never go in a brief: a ``Secret`` field holds the NAME of an environment variable, which the
brief may change (``api_key_env = "MY_KEY"``); the value is read when it is used, and is never part of a
repr, a log line or a message.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import typing
from collections.abc import Callable, Collection, Mapping, MutableMapping
from contextvars import ContextVar
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
from attrs import NOTHING, frozen
from cattrs.gen import make_dict_structure_fn, make_mapping_structure_fn, override

from aura_core._converters import Wording, base_converter, messages, one_of, path_text, structure_str
from aura_core.errors import BriefError, ProviderError

T = TypeVar("T")

#: The attrs metadata key under which ``setting()`` stores a field's ``Rule``.
SETTING_METADATA = "aura_setting"

#: What a ``Secret`` field takes: the name of an environment variable, never a key.
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
#: A name that looks like a key itself, refused without being echoed: a key prefix (``sk_``), mixed case
#: with digits over 20 characters, or 32 characters without an underscore (names are UPPER_SNAKE words).
_KEY_LIKE = re.compile(r"^(?:sk|key|api_?key)_|^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{20,}$|^[^_]{32,}$")


@frozen
class Rule:
    """What ``setting()`` declares about one field, beyond its type."""

    between: tuple[float, float] | None = None
    at_least: float | None = None
    choices: tuple[Any, ...] | None = None
    url: bool = False
    allow_empty: bool = False
    check: Callable[[Any], object] | None = None
    key: str | None = None
    help: str = ""


def setting(
    default: Any = NOTHING,
    *,
    factory: Callable[[], Any] | None = None,
    between: tuple[float, float] | None = None,
    at_least: float | None = None,
    choices: Collection[Any] | None = None,
    url: bool = False,
    allow_empty: bool = False,
    check: Callable[[Any], object] | None = None,
    key: str | None = None,
    help: str = "",
) -> Any:
    """A field of a settings class, with what its value must be beyond its type.

    - ``default`` / ``factory``: the value when the brief does not set it; with neither, the brief must.
    - ``between=(low, high)``: a number within both bounds, inclusive; ``at_least=low``: at least ``low``.
    - ``choices``: one of these values (for a fixed set a ``Literal`` type does the same).
    - ``url=True``: an ``http://`` or ``https://`` URL with a host; a trailing ``/`` is removed.
    - ``allow_empty=True``: text may be empty (text is otherwise stripped and must not be empty).
    - ``check``: called with the typed value; a ``ValueError`` it raises becomes the setting's message.
    - ``key``: the key in the brief when it differs from the field's name.
    - ``help``: one line saying what the setting does, shown when a required one is missing.

    A ``Path`` field is resolved from the brief's folder (``~`` expanded).
    """
    if between is not None and at_least is not None:
        raise TypeError("setting() takes between or at_least, not both")
    rule = Rule(
        between=between,
        at_least=at_least,
        choices=tuple(choices) if choices is not None else None,
        url=url,
        allow_empty=allow_empty,
        check=check,
        key=key,
        help=help,
    )
    return attrs.field(default=default, factory=factory, metadata={SETTING_METADATA: rule})


@frozen
class Secret:
    """A secret read from the environment variable ``env`` when it is used; only the name is kept.

    The value is never stored, so no repr, log line or message of the settings can show it.
    """

    env: str

    def get(self) -> str | None:
        """The secret's value, stripped; None when the variable is unset or blank."""
        return os.environ.get(self.env, "").strip() or None

    def value(self) -> str:
        """The secret's value; a permanent ``ProviderError`` naming the variable when it is not set
        (the call fails and the next provider of the chain takes it)."""
        found = self.get()
        if found is None:
            raise ProviderError(self.missing, transient=False)
        return found

    @property
    def missing(self) -> str:
        """The line saying the variable is not set, for ``check()`` and errors."""
        return f"{self.env} is not set: export the key in the environment (keys never go in the brief)"


def secret(env: str, *, key: str | None = None, help: str = "") -> Any:
    """A ``Secret`` field read from ``env`` by default; the brief may name another variable (never a key)."""
    return setting(Secret(env), key=key, help=help)


def structure_settings(
    cls: type[T],
    values: Mapping[str, Any],
    *,
    provider: str,
    base_dir: Path,
    current: T | None = None,
) -> T:
    """The ``[providers.<provider>]`` table ``values`` read into the attrs class ``cls``.

    Paths are resolved from ``base_dir`` (the brief's folder). A key the brief leaves out takes its
    value from ``current`` when given (the provider's settings so far), else the field's default.
    Raises ``BriefError`` (a ``UserError``, exit code 2) listing every problem, one line each:
    ``providers.<provider>.<key>: <problem>``; an unknown key is named with the expected ones.
    """
    where = f"providers.{provider}" if provider else "settings"
    if not isinstance(values, Mapping):
        raise BriefError([f"{where}: expected a table, got {values!r}"])
    given = dict(values)
    if current is not None:
        for field in attrs.fields(typing.cast("type[attrs.AttrsInstance]", cls)):
            name = _key(field)
            if name not in given:
                given[name] = _Kept(getattr(current, field.name))
    token = _base_dir.set(base_dir)
    try:
        result: T = _converter.structure(given, cls)
    except Exception as exc:  # noqa: BLE001 - every validation failure becomes a message line
        raise BriefError(messages(exc, where, _WORDING, cls)) from None
    finally:
        _base_dir.reset(token)
    return result


def with_settings(provider: T, settings: Any) -> T:
    """A copy of ``provider`` with its ``settings`` replaced: ``attrs.evolve`` for an attrs class, else a
    shallow copy with the attribute set (the registered provider itself is never changed)."""
    cls = type(provider)
    if attrs.has(cls) and "settings" in attrs.fields_dict(cls):
        return attrs.evolve(provider, settings=settings)  # type: ignore[misc] # an attrs instance, checked above
    configured = copy.copy(provider)
    try:
        object.__setattr__(configured, "settings", settings)
    except AttributeError:  # a slotted class whose settings is a class attribute: a bug in the provider
        raise TypeError(
            f"provider {cls.__qualname__}: settings must be an attrs field or an instance attribute"
        ) from None
    return configured


def settings_keys(cls: type) -> list[str]:
    """The keys a brief may set for the settings class ``cls``, in declaration order."""
    return [_key(field) for field in attrs.fields(cls)]


@frozen
class _Kept:
    """A value taken as it is (the provider's current setting), not read from the brief."""

    value: Any


#: The brief's folder while a table is read: ``Path`` fields are resolved from it.
_base_dir: ContextVar[Path] = ContextVar("aura_settings_base_dir")


def _rule(field: attrs.Attribute[Any]) -> Rule:
    rule = field.metadata.get(SETTING_METADATA)
    return rule if isinstance(rule, Rule) else Rule()


def _key(field: attrs.Attribute[Any]) -> str:
    return _rule(field).key or field.name


def _field(cls: type | None, name: str) -> attrs.Attribute[Any] | None:
    if cls is None or not attrs.has(cls):
        return None
    return next((f for f in attrs.fields(cls) if f.name == name), None)


def _word_key(cls: type | None, name: str) -> str:
    field = _field(cls, name)
    return name if field is None else _key(field)


def _word_unknown(cls: type | None, key: str) -> str:
    known = settings_keys(cls) if cls is not None and attrs.has(cls) else []
    if not known:
        return "unknown setting; this provider takes no settings"
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown setting{hint}; expected one of {', '.join(known)}"


def _word_missing(cls: type | None, name: str) -> str:
    field = _field(cls, name)
    help_text = _rule(field).help if field is not None else ""
    return "required setting is missing" + (f": {help_text}" if help_text else "")


_WORDING = Wording(key=_word_key, unknown=_word_unknown, missing=_word_missing)


def _structure_text(value: Any, _type: type) -> str:
    return structure_str(value, str).strip()


def _structure_path(value: Any, _type: type) -> Path:
    path = Path(path_text(value)).expanduser()
    return path if path.is_absolute() else (_base_dir.get(Path.cwd()) / path).resolve()


def _structure_secret(value: Any, _type: type) -> Secret:
    # The value may be the key itself, pasted by mistake: never echo it.
    if not isinstance(value, str) or not _ENV_NAME.match(value.strip()) or _KEY_LIKE.match(value.strip()):
        raise ValueError(
            'expected the NAME of an environment variable, like "MY_API_KEY" (keys never go in the brief)'
        )
    return Secret(value.strip())


def _scalar(hint: Any) -> Any:
    """``hint`` without ``None`` when it is ``X | None``."""
    if typing.get_origin(hint) in (typing.Union, UnionType):
        args = [a for a in typing.get_args(hint) if a is not NoneType]
        if len(args) == 1:
            return args[0]
    return hint


def _expected(hint: Any, rule: Rule) -> str | None:
    """What a value must be, in words, when the rule says more than the type; None when it does not."""
    whole = _scalar(hint) is int
    number = "a whole number" if whole else "a number"
    if rule.between is not None:
        low, high = rule.between
        return f"{number} from {_written(low)} to {_written(high)}"
    if rule.at_least is not None:
        return f"{number} of at least {_written(rule.at_least)}"
    if rule.url:
        return 'an http:// or https:// URL like "http://127.0.0.1:8080"'
    return None


def _written(bound: float) -> str:
    """A bound as a user writes it: 1000000 and 0.00001, not 1e+06 and 1e-05."""
    return f"{bound:.12f}".rstrip("0").rstrip(".")


def _checked(value: Any, written: Any, hint: Any, rule: Rule, expected: str | None) -> Any:
    """``value`` (already of its type; ``written`` as the brief has it) held to ``rule``; a ``ValueError``
    with the problem otherwise."""
    if value is None:
        return value
    if isinstance(value, str) and not value and not rule.allow_empty and _scalar(hint) is str:
        raise ValueError("must not be empty")
    low, high = rule.between or (rule.at_least, None)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"expected {expected}, got {written!r}")
    if rule.choices is not None and value not in rule.choices:
        raise ValueError(one_of(rule.choices, value))
    if rule.url:
        value = value.rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected {expected}, got {written!r}")
    if rule.check is not None:
        rule.check(value)
    return value


def _field_hook(hint: Any, rule: Rule) -> Callable[[Any, Any], Any]:
    expected = _expected(hint, rule)

    def structure(value: Any, _type: Any) -> Any:
        if isinstance(value, _Kept):
            return value.value
        try:
            typed = _converter.structure(value, hint)
        except ValueError:
            if expected is None:
                raise
            raise ValueError(f"expected {expected}, got {value!r}") from None
        return _checked(typed, value, hint, rule, expected)

    return structure


def _class_hook(cls: type) -> Callable[[Any, Any], Any]:
    hints = typing.get_type_hints(cls)
    overrides: dict[str, Any] = {
        field.name: override(
            rename=_rule(field).key, struct_hook=_field_hook(hints[field.name], _rule(field))
        )
        for field in attrs.fields(cls)
    }
    structure: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls, _converter, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True, **overrides
    )
    return _table_only(structure)


def _is_mapping(hint: Any) -> bool:
    return typing.get_origin(hint) in (dict, Mapping, MutableMapping)


def _mapping_hook(hint: Any) -> Callable[[Any, Any], Any]:
    return _table_only(make_mapping_structure_fn(hint, _converter, detailed_validation=True))


def _table_only(structure: Callable[[Any, Any], T]) -> Callable[[Any, Any], T]:
    """``structure`` for a TOML table only: anything else is one line saying a table was expected."""

    def table(value: Any, hint: Any) -> T:
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a table, got {value!r}")
        return structure(value, hint)

    return table


_converter = base_converter()
_converter.register_structure_hook(str, _structure_text)
_converter.register_structure_hook(Path, _structure_path)
_converter.register_structure_hook(Secret, _structure_secret)
_converter.register_structure_hook_factory(attrs.has, _class_hook)
_converter.register_structure_hook_factory(_is_mapping, _mapping_hook)
