"""The exceptions aura raises and the ones providers raise to it."""

from __future__ import annotations

import datetime
import email.utils
import time
from collections.abc import Iterable


class AuraError(Exception):
    """Base class of every error aura raises on purpose."""

    exit_code = 1


class UserError(AuraError):
    """A mistake the user can fix (bad brief, unknown plugin, locked run): exit code 2, no traceback."""

    exit_code = 2


class BriefError(UserError):
    """A brief file that cannot be used; ``problems`` holds one line per problem, each naming its path."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class ProviderError(AuraError):
    """Raised by a provider for a failed call.

    ``transient`` says whether the same call may succeed later (rate limit, server down);
    ``retry_after`` is the server's hint in seconds, when it gave one.
    """

    def __init__(self, message: str, transient: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """The seconds an HTTP ``Retry-After`` value asks to wait (a number, or an HTTP date from now),
    never below 0; None when there is no value or it is neither. For ``ProviderError.retry_after``."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date without a zone is UTC
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - time.time())


class RunFailed(AuraError):
    """A run that could not finish; finished work stays in the run directory for ``aura resume``."""

    exit_code = 1
