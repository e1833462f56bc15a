"""The ``[providers.openai]`` table of a brief, declared once as ``OpenAISettings`` and read by the core.

Every problem in the table is one line naming its key (``providers.openai.speed: expected a number
from 0.25 to 4, got 'fast'``), in the core's format (``aura_core.setting``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from attrs import frozen

from aura_core import Secret, setting, structure_settings

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
ImageQuality = Literal["auto", "low", "medium", "high", "standard", "hd"]
ImageStyle = Literal["vivid", "natural"]

#: The most a price may say, in US dollars (per million tokens or characters, or per picture).
_MAX_PRICE = (0, 1e6)


@frozen
class Price:
    """What one model costs, in US dollars: per million tokens in/out, per million characters, per image."""

    input: float = setting(0.0, between=_MAX_PRICE, help="US dollars per million tokens sent")
    output: float = setting(0.0, between=_MAX_PRICE, help="US dollars per million tokens received")
    characters: float = setting(0.0, between=_MAX_PRICE, help="US dollars per million characters spoken")
    image: float | None = setting(None, between=_MAX_PRICE, help="US dollars per picture")


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


def _image_size(text: str) -> None:
    """A ``ValueError`` unless ``text`` is ``auto`` or a size like ``1024x1024``."""
    width, sep, height = text.partition("x")
    if text != "auto" and not (sep and width.isdigit() and height.isdigit()):
        raise ValueError(f'expected "auto" or a size like "1024x1024", got {text!r}')


@frozen
class OpenAISettings:
    """Every setting of the ``openai`` providers, with its default; one table serves all three kinds.

    ``brief_base_url`` (the key ``base_url``), ``organization`` and ``project`` hold only what the brief
    says (None when it says nothing); the ``base_url``, ``organization_id`` and ``project_id`` properties
    add the environment's ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID``, read when
    used, as the SDK does. ``api_key_env`` names the key's variable; the key itself is read when used.
    """

    brief_base_url: str | None = setting(
        None, url=True, key="base_url", help="the server; default OPENAI_BASE_URL, else the OpenAI service"
    )
    api_key_env: Secret | None = setting(
        None, help="the environment variable holding the key; default OPENAI_API_KEY where it is sent"
    )
    organization: str | None = setting(None, help="sent as OpenAI-Organization; default OPENAI_ORG_ID")
    project: str | None = setting(None, help="sent as OpenAI-Project; default OPENAI_PROJECT_ID")
    model: str = setting("gpt-4o-mini", help="chat model for the script")
    tts_model: str = setting("gpt-4o-mini-tts", help="speech model")
    image_model: str = setting("gpt-image-1", help="image model")
    voice: str | None = setting(None, help="speech voice; default the brief's voice when OpenAI has it")
    speed: float = setting(1.0, between=(0.25, 4.0), help="multiplied by the brief's [voice] rate")
    audio_format: AudioFormat = setting("wav", help="the speech format asked for; pcm is wrapped into a WAV")
    tts_instructions: str | None = setting(None, help="speaking instructions, for models that take them")
    image_quality: ImageQuality | None = setting(None, help="image quality; default the model's")
    image_style: ImageStyle | None = setting(None, help="DALL-E 3 style; default the model's")
    image_size: str = setting("auto", check=_image_size, help='"auto" or a size like "1024x1024"')
    structured: Structured = setting("auto", help="how JSON is asked for")
    stream: bool = setting(True, help="stream the script, scene by scene")
    temperature: float | None = setting(None, between=(0.0, 2.0), help="sampling temperature")
    max_tokens: int | None = setting(None, between=(1, 1_000_000), help="answer limit in tokens")
    timeout: float = setting(120.0, between=(1.0, 3600.0), help="seconds per HTTP call")
    check_timeout: float = setting(5.0, between=(0.1, 120.0), help="seconds for aura doctor's check")
    concurrency: int | None = setting(None, between=(1, 64), help="calls at once per provider")
    prices: Mapping[str, Price] = setting(factory=dict, help="cost estimates: model = { input = …, … }")

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
            return self.api_key_env.env
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
        value = Secret(env).get()
        if value is None and self.api_key_env is None and not self.official:
            return PLACEHOLDER_KEY  # OPENAI_BASE_URL's server may need no key
        return value

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


def read_settings(values: Mapping[str, Any], base_dir: Path | None = None) -> OpenAISettings:
    """The ``[providers.openai]`` table read into ``OpenAISettings`` by the core, as a run reads it.

    Raises ``BriefError`` (a ``UserError``) with one line per problem: ``providers.openai.<key>: …``.
    """
    return structure_settings(OpenAISettings, values, provider="openai", base_dir=base_dir or Path.cwd())
