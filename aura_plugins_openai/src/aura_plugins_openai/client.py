"""Opening the OpenAI SDK's async client: retries off, explicit timeout, key from the environment."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aura_core import Availability, ProviderError
from aura_plugins_openai.failures import to_provider_error
from aura_plugins_openai.settings import OpenAISettings

if TYPE_CHECKING:
    import openai


def missing_key_message(settings: OpenAISettings) -> str:
    """What to say when the key's environment variable is empty."""
    return f"{settings.key_env} is not set"


def open_client(settings: OpenAISettings, *, timeout: float | None = None) -> openai.AsyncOpenAI:
    """A new ``AsyncOpenAI`` for one call (use it with ``async with``); the core middleware owns retries.

    The server, organization and project are the brief's settings, else ``OPENAI_BASE_URL``,
    ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID``, as the SDK reads them.
    Raises a permanent ``ProviderError`` when the key the server needs is not in the environment,
    or ``OPENAI_BASE_URL`` is not a URL.
    The SDK is imported here, on first use, so that registering the providers stays quick.
    """
    import openai

    problem = settings.base_url_problem()
    if problem is not None:
        raise ProviderError(f"openai: {problem}", transient=False)
    key = settings.api_key()
    if key is None:
        raise ProviderError(
            f"openai: {missing_key_message(settings)}: export the key in the environment "
            "(keys never go in the brief)",
            transient=False,
        )
    return openai.AsyncOpenAI(
        api_key=key,
        base_url=settings.base_url,
        organization=settings.organization_id,
        project=settings.project_id,
        max_retries=0,
        timeout=timeout if timeout is not None else settings.timeout,
    )


async def check_service(settings: OpenAISettings, *, model: str, model_key: str) -> Availability:
    """Whether the service is usable: key present, server reachable (models listed with a short timeout)."""
    import openai

    problem = settings.base_url_problem()
    if problem is not None:
        return Availability(False, problem)
    if settings.api_key() is None:
        return Availability(False, missing_key_message(settings))
    try:
        async with open_client(settings, timeout=settings.check_timeout) as client:
            page = await client.models.list()
    except openai.OpenAIError as error:
        reason = to_provider_error(error, settings, model=model, model_key=model_key).message
        return Availability(False, reason)
    offered = {entry.id for entry in page.data}
    if offered and model not in offered:
        # Some servers load models on demand and list only the loaded ones: a hint, not a failure.
        return Availability(True, f"{settings.base_url} is reachable, but does not list model '{model}'")
    return Availability(True, f"{settings.base_url}: model '{model}'")


def fingerprint_of(kind: str, settings: OpenAISettings, **output_settings: object) -> str:
    """A stable text naming the server, the model and every setting that changes ``kind``'s output."""
    payload = {"kind": kind, "base_url": settings.base_url, **output_settings}
    return "openai:" + json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
