"""Turning what the OpenAI SDK raises into ``ProviderError``s that say what to fix, without secrets."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from aura_core import ProviderError, http_failure, is_transient_status
from aura_core import redact as core_redact
from aura_plugins_openai.settings import OpenAISettings

if TYPE_CHECKING:
    import openai


@cache
def transport_errors() -> tuple[type[Exception], ...]:
    """The HTTP library's request errors (the SDK uses httpx or httpx2, by version).

    The SDK wraps these into ``APIConnectionError`` except while a raw streamed body is read,
    as the voice does; there the provider catches them itself.
    """
    errors: list[type[Exception]] = []
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        errors.append(module.RequestError)
    return tuple(errors)


def from_transport_error(error: Exception, settings: OpenAISettings) -> ProviderError:
    """A transient ``ProviderError`` for a connection that timed out or broke while a body was read."""
    if "Timeout" in type(error).__name__:
        return ProviderError(
            f"openai: no data from {settings.base_url} within {settings.timeout:g}s (timeout)", transient=True
        )
    return ProviderError(
        f"openai: lost the connection to {settings.base_url}: {redact(str(error), settings)}", transient=True
    )


def redact(text: str, settings: OpenAISettings) -> str:
    """``text`` through the core's redactor, with the configured key among the secrets."""
    return core_redact(text, [settings.api_key()])


def server_message(error: openai.APIStatusError) -> str:
    """The human part of an error body (``error.message``), or the SDK's own text."""
    body = error.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return error.message


def _error_code(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return str(inner.get("code") or inner.get("type") or "")
    return ""


def is_response_format_rejection(error: openai.APIStatusError) -> bool:
    """True for a 400/422 that says the server does not take the requested ``response_format``."""
    if error.status_code not in (400, 422):
        return False
    text = f"{server_message(error)} {_error_code(error)}".lower()
    return "response_format" in text or "json_schema" in text


def to_provider_error(
    error: openai.OpenAIError, settings: OpenAISettings, *, model: str, model_key: str
) -> ProviderError:
    """The ``ProviderError`` for an SDK error: transient or not, ``retry_after``, and what to fix.

    ``model_key`` names the setting that chose ``model`` (``model``, ``tts_model``, ``image_model``).
    """
    import openai  # already loaded: ``error`` came from it

    where = settings.base_url
    if isinstance(error, openai.APITimeoutError):
        return ProviderError(
            f"openai: no answer from {where} within {settings.timeout:g}s (timeout); "
            "raise [providers.openai] timeout if the server is just slow",
            transient=True,
        )
    if isinstance(error, openai.APIConnectionError):
        cause = redact(str(error.__cause__ or error), settings)
        return ProviderError(
            f"openai: lost or could not open the connection to {where}: {cause}", transient=True
        )
    if isinstance(error, openai.APIStatusError):
        return _status_error(error, settings, model=model, model_key=model_key)
    if isinstance(error, openai.APIError):
        # An error event inside a stream: the server failed part-way, which usually passes.
        return ProviderError(f"openai: the server reported an error: {redact(error.message, settings)}", True)
    return ProviderError(f"openai: {type(error).__name__}: {redact(str(error), settings)}", transient=False)


def _status_error(
    error: openai.APIStatusError, settings: OpenAISettings, *, model: str, model_key: str
) -> ProviderError:
    status = error.status_code
    said = redact(server_message(error), settings)
    code = _error_code(error)
    env = settings.key_env or "api_key_env"
    if status == 429 and code == "insufficient_quota":
        return ProviderError(
            f"openai: the account has no quota left (429 insufficient_quota): check billing; "
            f"server said: {said}",
            transient=False,
        )
    if is_transient_status(status):
        what = "rate limited" if status == 429 else "server error" if status >= 500 else "busy"
        message = f"openai: {what} ({status}) at {settings.base_url}: {said}"
    elif status == 401:
        message = f"openai: the API key was rejected (401): set {env} to a valid key"
    elif status == 403:
        message = (
            f"openai: access denied (403) for model '{model}': check that the key in {env} may use it, "
            f"or change [providers.openai] {model_key}; server said: {said}"
        )
    elif status == 404:
        message = (
            f"openai: unknown model '{model}' (404): check [providers.openai] {model_key} "
            f"(and base_url {settings.base_url}); server said: {said}"
        )
    else:
        message = (
            f"openai: the request was refused ({status}) for model '{model}': {said}; "
            f"check [providers.openai] settings"
        )
    return http_failure(status, error.response.headers, message, secrets=[settings.api_key()])
