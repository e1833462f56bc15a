"""The one mapping of HTTP error answers to ``ProviderError``, and the one redactor it uses."""

from __future__ import annotations

import pytest

from aura_core import TRANSIENT_STATUSES, ProviderError, http_failure, is_transient_status, redact


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (400, False),
        (401, False),
        (402, False),
        (403, False),
        (404, False),
        (408, True),
        (409, True),
        (410, False),
        (413, False),
        (422, False),
        (425, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (520, True),
    ],
)
def test_status_decides_transient_and_only_a_transient_answer_carries_retry_after(
    status: int, transient: bool
) -> None:
    """Timeout, conflict, too early, rate limit and every 5xx pass by waiting; any other 4xx does not."""
    error = http_failure(status, {"Retry-After": "7"}, f"server said {status}")
    assert isinstance(error, ProviderError)
    assert is_transient_status(status) is transient
    assert error.transient is transient
    assert error.retry_after == (7.0 if transient else None)
    assert error.message == f"server said {status}"


def test_the_transient_4xx_statuses_are_the_documented_ones() -> None:
    """The set plugins and docs rely on."""
    assert frozenset({408, 409, 425, 429}) == TRANSIENT_STATUSES


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({}, None),
        (None, None),
        ({"Retry-After": "12"}, 12.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"RETRY-AFTER": "-3"}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
        ({"retry-after-ms": "x", "Retry-After": "9"}, 9.0),
    ],
)
def test_retry_after_is_read_from_the_headers(headers: dict[str, str] | None, wait: float | None) -> None:
    """``Retry-After`` in seconds or as an HTTP date (past dates mean now), ``retry-after-ms`` first."""
    assert http_failure(503, headers, "busy").retry_after == wait


def test_the_message_is_scrubbed_of_the_given_key_bearer_tokens_and_key_shaped_words() -> None:
    """A server may echo the key it was sent, an Authorization header or another key; none survives."""
    message = "bad key my-own-secret-value, Authorization: Bearer abc.def.ghi and sk-proj-0123456789"
    error = http_failure(401, {}, message, secrets=["my-own-secret-value", None, "ab"])
    assert error.message == "bad key ***, Authorization: Bearer *** and ***"
    assert redact("set api_key_env to a name") == "set api_key_env to a name"
