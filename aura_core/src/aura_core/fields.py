"""Fields added to a released contract or brief class, and whether they take part in cache keys.

A content key (``ArtifactIndex.key``) is hashed from every field of a request, nested classes included.
A field added later would change every key, and with them every result made before it: so a field added
with ``added_field`` is left out of keys while it holds its default (``"when-set"``), or always
(``"never"``: it changes no provider's result).
"""

from __future__ import annotations

from typing import Any, Literal

from attrs import field

#: The ``metadata`` key under which an added field says when it is part of a key.
KEY = "aura_key"

KeyRule = Literal["when-set", "never"]


def added_field(default: Any, *, key: KeyRule = "when-set") -> Any:
    """A field added to a released class after the fact, with ``default``; ``key`` as in ``KEY``."""
    return field(default=default, metadata={KEY: key})


def keyed(attribute: Any, value: Any) -> bool:
    """Whether the attrs field ``attribute`` holding ``value`` is part of a content key."""
    rule = attribute.metadata.get(KEY)
    if rule == "never":
        return False
    return not (rule == "when-set" and value == attribute.default)
