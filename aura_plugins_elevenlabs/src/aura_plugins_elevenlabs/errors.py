"""Map what the ElevenLabs SDK raises to ``ProviderError``s that say what to fix, never showing the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aura_core import ProviderError, http_failure, is_transient_status, redact

if TYPE_CHECKING:
    from elevenlabs.core.api_error import ApiError


def _detail(body: Any) -> tuple[str, str]:
    """The ``(status, message)`` of an error body ``{"detail": {"status": ..., "message": ...}}``."""
    detail = body.get("detail", body) if isinstance(body, Mapping) else body
    if isinstance(detail, Mapping):
        return str(detail.get("status") or detail.get("code") or ""), str(detail.get("message") or "")
    if isinstance(detail, list):  # request validation errors: [{"loc": [...], "msg": "..."}]
        parts = [str(item.get("msg", item)) if isinstance(item, Mapping) else str(item) for item in detail]
        return "invalid_request", "; ".join(parts)
    if isinstance(detail, str | bytes):
        text = detail.decode(errors="replace") if isinstance(detail, bytes) else detail
        return "", text.strip()
    return "", ""


def map_api_error(exc: ApiError, *, key: str | None, voice: str, model: str, key_env: str) -> ProviderError:
    """A ``ProviderError`` for an HTTP error answer of the API."""
    code = exc.status_code or 0
    status, vendor = _detail(exc.body)
    vendor = redact(vendor, [key])[:300]
    said = f" (server said: {vendor})" if vendor else ""
    tag = f"HTTP {code}" + (f" {status}" if status else "")
    if status == "quota_exceeded" or (code == 402 and "quota" in vendor.lower()):
        return ProviderError(
            f"ElevenLabs quota exceeded ({tag}): the account has no characters left for this text; "
            f"add credits or upgrade the plan, or put another voice before elevenlabs in providers.tts{said}"
        )
    if code == 402:
        return ProviderError(
            f"ElevenLabs needs a paid plan for this request ({tag}): check the subscription allows "
            f"model {model!r}, the voice and the output_format, or choose ones it allows{said}"
        )
    if code == 401:
        return ProviderError(
            f"ElevenLabs refused the API key ({tag}): "
            f"set a valid key in the environment variable {key_env}{said}"
        )
    if code == 403:
        return ProviderError(
            f"ElevenLabs forbids this request ({tag}): the key lacks the text_to_speech or voices_read "
            f"permission, or the voice is not shared with this account{said}"
        )
    if code == 404:
        if "model" in status or "model" in vendor.lower():
            return ProviderError(
                f"ElevenLabs has no model {model!r} ({tag}): set providers.elevenlabs.model to a model id "
                f"that supports text to speech, such as eleven_multilingual_v2{said}"
            )
        return ProviderError(
            f"ElevenLabs has no voice {voice!r} ({tag}): set providers.elevenlabs.voice to the id or name "
            f"of a voice in your ElevenLabs voice library{said}"
        )
    if is_transient_status(code):
        what = {
            429: "is rate limiting this account",
            409: "is busy with a conflicting request",
            425: "asked to send the request again later",
        }.get(code, "failed on its side")
        return http_failure(code, exc.headers, f"ElevenLabs {what} ({tag}){said}", secrets=[key])
    if code in (400, 422):
        return ProviderError(
            f"ElevenLabs rejected the request ({tag}): check the providers.elevenlabs settings "
            f"(model, output_format, voice settings, language) and the text{said}"
        )
    return ProviderError(f"ElevenLabs answered with an error ({tag}){said}")


def map_error(
    exc: BaseException, *, key: str | None, voice: str, model: str, key_env: str, base_url: str | None
) -> ProviderError | None:
    """A ``ProviderError`` for an exception raised by an SDK call, or None when it is not the API's doing."""
    import httpx  # both already loaded by the call that raised ``exc``
    from elevenlabs.core.api_error import ApiError

    if isinstance(exc, ApiError):
        return map_api_error(exc, key=key, voice=voice, model=model, key_env=key_env)
    if isinstance(exc, httpx.TransportError):
        where = base_url or "the ElevenLabs API"
        kind = "timed out talking to" if isinstance(exc, httpx.TimeoutException) else "could not talk to"
        reason = redact(str(exc), [key])[:200]
        return ProviderError(
            f"{kind.capitalize()} {where} ({type(exc).__name__}{': ' + reason if reason else ''})",
            transient=True,
        )
    return None
