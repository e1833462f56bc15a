"""The ``[providers.openai]`` table of a brief, read and checked once into ``OpenAISettings``."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from attrs import field, frozen

from aura_core import UserError

OFFICIAL_BASE_URL = "https://api.openai.com/v1"
"""The OpenAI service itself; any other ``base_url`` is an OpenAI-compatible server."""

OFFICIAL_HOST = urlsplit(OFFICIAL_BASE_URL).hostname
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
ORGANIZATION_ENV = "OPENAI_ORG_ID"
PROJECT_ENV = "OPENAI_PROJECT_ID"
"""The environment variables the official SDK, and every tool built on it, reads; the brief's settings win."""
PLACEHOLDER_KEY = "not-needed"
"""Sent to servers that need no key: the SDK insists on some key."""

Structured = Literal["auto", "json_schema", "json_object"]
AudioFormat = Literal["wav", "mp3", "opus", "aac", "flac", "pcm"]

_WHERE = "[providers.openai]"


@frozen
class Price:
    """What one model costs, in US dollars: per million tokens in/out, per million characters, per image."""

    input: float = 0.0
    output: float = 0.0
    characters: float = 0.0
    image: float | None = None


#: Published list prices at the time of writing, used for the ``cost_usd`` estimate only.
DEFAULT_PRICES: Mapping[str, Price] = {
    "gpt-4o-mini": Price(input=0.15, output=0.60),
    "gpt-4o": Price(input=2.50, output=10.00),
    "gpt-4.1-nano": Price(input=0.10, output=0.40),
    "gpt-4.1-mini": Price(input=0.40, output=1.60),
    "gpt-4.1": Price(input=2.00, output=8.00),
    "tts-1": Price(characters=15.0),
    "tts-1-hd": Price(characters=30.0),
    "gpt-4o-mini-tts": Price(characters=15.0),
    "dall-e-2": Price(image=0.020),
}

#: Image prices that depend on quality and size: (model, quality, square?) → USD per image.
IMAGE_PRICES: Mapping[tuple[str, str, bool], float] = {
    ("dall-e-3", "standard", True): 0.040,
    ("dall-e-3", "standard", False): 0.080,
    ("dall-e-3", "hd", True): 0.080,
    ("dall-e-3", "hd", False): 0.120,
    ("gpt-image-1", "low", True): 0.011,
    ("gpt-image-1", "low", False): 0.016,
    ("gpt-image-1", "medium", True): 0.042,
    ("gpt-image-1", "medium", False): 0.063,
    ("gpt-image-1", "high", True): 0.167,
    ("gpt-image-1", "high", False): 0.25,
}


@frozen
class OpenAISettings:
    """Every setting of the ``openai`` providers, with its default; one table serves all three kinds.

    ``base_url``, ``organization`` and ``project`` hold only what the brief says (None when it says
    nothing); the ``server``, ``organization_id`` and ``project_id`` properties add the environment's
    ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID``, read when used, as the SDK does.
    """

    brief_base_url: str | None = field(default=None, alias="base_url")
    api_key_env: str | None = None
    organization: str | None = None
    project: str | None = None
    model: str = "gpt-4o-mini"
    tts_model: str = "gpt-4o-mini-tts"
    image_model: str = "gpt-image-1"
    voice: str | None = None
    speed: float = 1.0
    audio_format: AudioFormat = "wav"
    tts_instructions: str | None = None
    image_quality: str | None = None
    image_style: str | None = None
    image_size: str = "auto"
    structured: Structured = "auto"
    stream: bool = True
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float = 120.0
    check_timeout: float = 5.0
    concurrency: int | None = None
    prices: Mapping[str, Price] = field(factory=dict)

    @property
    def base_url(self) -> str:
        """The server: the brief's ``base_url``, else ``OPENAI_BASE_URL``, else the OpenAI service."""
        if self.brief_base_url is not None:
            return self.brief_base_url
        return _environment(BASE_URL_ENV).rstrip("/") or OFFICIAL_BASE_URL

    @property
    def base_url_from_environment(self) -> bool:
        """True when the server comes from ``OPENAI_BASE_URL`` (the brief names none)."""
        return self.brief_base_url is None and bool(_environment(BASE_URL_ENV))

    def base_url_problem(self) -> str | None:
        """What is wrong with ``OPENAI_BASE_URL`` when the server comes from it and it is not a URL; else None."""
        if not self.base_url_from_environment or _is_url(self.base_url):
            return None
        return (
            f'{BASE_URL_ENV} is {self.base_url!r}: expected a URL like "http://127.0.0.1:11434/v1" '
            "(or set base_url in [providers.openai], which wins)"
        )

    @property
    def organization_id(self) -> str | None:
        """Sent as ``OpenAI-Organization``: the brief's ``organization``, else ``OPENAI_ORG_ID``, else none."""
        return self.organization if self.organization is not None else _environment(ORGANIZATION_ENV) or None

    @property
    def project_id(self) -> str | None:
        """Sent as ``OpenAI-Project``: the brief's ``project``, else ``OPENAI_PROJECT_ID``, else none."""
        return self.project if self.project is not None else _environment(PROJECT_ENV) or None

    @property
    def official(self) -> bool:
        """True when ``base_url`` is the OpenAI service itself (a key is then required)."""
        return urlsplit(self.base_url).hostname == OFFICIAL_HOST

    @property
    def key_env(self) -> str | None:
        """The environment variable the key is read from; None for a server that needs no key."""
        if self.api_key_env is not None:
            return self.api_key_env
        return DEFAULT_KEY_ENV if self.official or self.base_url_from_environment else None

    def api_key(self) -> str | None:
        """The key from the environment; the placeholder for a keyless server; None when one is missing.

        A server the brief names, other than OpenAI's, is never sent ``OPENAI_API_KEY`` unless
        ``api_key_env`` asks for it, so a shared brief cannot send a user's key to a third party.
        A server named by ``OPENAI_BASE_URL`` is the user's own choice, set beside the key, so it gets
        ``OPENAI_API_KEY`` as the SDK would send it, or the placeholder when that is not set.
        """
        env = self.key_env
        if env is None:
            return PLACEHOLDER_KEY
        value = os.environ.get(env, "").strip()
        if not value and self.api_key_env is None and not self.official:
            return PLACEHOLDER_KEY  # OPENAI_BASE_URL's server may need no key
        return value or None

    def price(self, model: str) -> Price:
        """The price of ``model``: the brief's ``prices`` entry, else the built-in one, else free."""
        return self.prices.get(model) or DEFAULT_PRICES.get(model) or Price()

    def effective_concurrency(self) -> int:
        """Calls at once: the setting, else 4 on the OpenAI service and 1 on a (usually local) server."""
        if self.concurrency is not None:
            return self.concurrency
        return 4 if self.official else 1


def _environment(name: str) -> str:
    return os.environ.get(name, "").strip()


def _is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{_WHERE} {key}: expected a non-empty string, got {value!r}")
    return value.strip()


def _number(low: float, high: float) -> Callable[[str, Any], float]:
    def check(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise UserError(f"{_WHERE} {key}: expected a number from {low:g} to {high:g}, got {value!r}")
        return float(value)

    return check


def _integer(low: int, high: int) -> Callable[[str, Any], int]:
    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise UserError(f"{_WHERE} {key}: expected a whole number from {low} to {high}, got {value!r}")
        return value

    return check


def _choice(*options: str) -> Callable[[str, Any], str]:
    def check(key: str, value: Any) -> str:
        if value not in options:
            expected = " | ".join(repr(o) for o in options)
            raise UserError(f"{_WHERE} {key}: expected one of {expected}, got {value!r}")
        return str(value)

    return check


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"{_WHERE} {key}: expected true or false, got {value!r}")
    return value


def _base_url(key: str, value: Any) -> str:
    url = _string(key, value).rstrip("/")
    if not _is_url(url):
        raise UserError(f'{_WHERE} {key}: expected a URL like "http://127.0.0.1:11434/v1", got {value!r}')
    return url


def _env_name(key: str, value: Any) -> str:
    name = _string(key, value)
    if not name.replace("_", "").isalnum():
        raise UserError(
            f"{_WHERE} {key}: expected the NAME of an environment variable (keys never go in the brief)"
        )
    return name


def _size(key: str, value: Any) -> str:
    text = _string(key, value)
    if text == "auto":
        return text
    width, sep, height = text.partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise UserError(f'{_WHERE} {key}: expected "auto" or a size like "1024x1024", got {value!r}')
    return text


_PRICE_KEYS = ("input", "output", "characters", "image")


def _prices(key: str, value: Any) -> Mapping[str, Price]:
    if not isinstance(value, Mapping):
        raise UserError(f"{_WHERE} {key}: expected a table of model = {{ input = …, output = … }}")
    prices: dict[str, Price] = {}
    for model, entry in value.items():
        where = f"{key}.{model}"
        if not isinstance(entry, Mapping):
            raise UserError(f"{_WHERE} {where}: expected a table with any of {', '.join(_PRICE_KEYS)}")
        unknown = sorted(set(entry) - set(_PRICE_KEYS))
        if unknown:
            raise UserError(
                f"{_WHERE} {where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(_PRICE_KEYS)}"
            )
        amounts = {k: _number(0.0, 1e6)(f"{where}.{k}", v) for k, v in entry.items()}
        prices[str(model)] = Price(**amounts)
    return prices


_READERS: Mapping[str, Callable[[str, Any], Any]] = {
    "base_url": _base_url,
    "api_key_env": _env_name,
    "organization": _string,
    "project": _string,
    "model": _string,
    "tts_model": _string,
    "image_model": _string,
    "voice": _string,
    "speed": _number(0.25, 4.0),
    "audio_format": _choice("wav", "mp3", "opus", "aac", "flac", "pcm"),
    "tts_instructions": _string,
    "image_quality": _choice("auto", "low", "medium", "high", "standard", "hd"),
    "image_style": _choice("vivid", "natural"),
    "image_size": _size,
    "structured": _choice("auto", "json_schema", "json_object"),
    "stream": _boolean,
    "temperature": _number(0.0, 2.0),
    "max_tokens": _integer(1, 1_000_000),
    "timeout": _number(1.0, 3600.0),
    "check_timeout": _number(0.1, 120.0),
    "concurrency": _integer(1, 64),
    "prices": _prices,
}


def read_settings(values: Mapping[str, Any]) -> OpenAISettings:
    """Check the brief's ``[providers.openai]`` table; a wrong or unknown key raises ``UserError``."""
    unknown = sorted(set(values) - set(_READERS))
    if unknown:
        raise UserError(
            f"{_WHERE}: unknown setting(s) {', '.join(unknown)}; known settings are {', '.join(_READERS)}"
        )
    return OpenAISettings(**{key: _READERS[key](key, value) for key, value in values.items()})
