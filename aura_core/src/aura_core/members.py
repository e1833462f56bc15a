"""The optional members of a provider, declared once with their defaults, and the one way to read them.

A provider must have ``kind``, ``name`` and its kind's methods; everything else is optional.
Each optional member is declared here with the value the core assumes when a provider lacks it,
so the registry, the calls, the dry run, the CLI, the Ray executor and the contract suite agree.
The table in ``docs/writing-a-provider-plugin.md`` is checked against this declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from attrs import field, frozen


def _frozen_mapping(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy, so a declaration cannot be changed after the fact."""
    return MappingProxyType(dict(values))


@frozen
class OptionalMember:
    """One optional provider member: its name, its default when absent (per kind where it differs), its meaning."""

    name: str
    default: Any
    meaning: str
    #: A default per provider kind; when set it replaces ``default`` for the kinds it names.
    by_kind: Mapping[str, Any] = field(factory=dict, converter=_frozen_mapping)

    def default_for(self, kind: str | None) -> Any:
        """The value the core assumes for a provider of ``kind`` that lacks this member."""
        if kind is not None and kind in self.by_kind:
            return self.by_kind[kind]
        return self.default


#: How many calls at once a provider gets when it does not say (``concurrency`` attribute).
DEFAULT_CONCURRENCY: Mapping[str, int] = MappingProxyType({"llm": 1, "tts": 4, "image": 4, "composer": 2})

_DECLARED = (
    OptionalMember(
        "check", None, "async check() -> Availability: is the key set, the server reachable, the binary found"
    ),
    OptionalMember("mix_soundtrack", None, "composers only: mix the soundtrack while segments still render"),
    OptionalMember(
        "stream_soundtrack",
        None,
        "composers with mix_soundtrack only: make the soundtrack as the scenes are placed",
    ),
    OptionalMember(
        "check_render", None, "composers only: check the brief's render settings before any paid call"
    ),
    OptionalMember(
        "fingerprint", None, "fingerprint() -> str for the cache key; without it the class name is used"
    ),
    OptionalMember(
        "concurrency",
        1,
        "how many calls at once the provider tolerates",
        by_kind=DEFAULT_CONCURRENCY,
    ),
    OptionalMember(
        "settings",
        None,
        "an instance of an attrs settings class: the core reads the brief's [providers.<name>] table into it",
    ),
    OptionalMember(
        "configure",
        None,
        "configure(settings) -> a configured copy from the brief's [providers.<name>] table",
    ),
    OptionalMember("auto", False, "True for offline providers used when a brief names no chain for the kind"),
    OptionalMember(
        "follows_plan", True, "llm only: False for a writer that does not follow the planned scenes and words"
    ),
    OptionalMember(
        "deterministic",
        False,
        "True when one request always gives the same result: a bad result is not retried",
    ),
    OptionalMember("resources", None, "Ray task options for each call, e.g. {'num_gpus': 1}"),
    OptionalMember(
        "clips",
        False,
        "composers: True when render_scene takes a moving Clip; illustrators: True when generate may return one",
    ),
)

#: Every optional provider member by name, in the order the docs table lists them.
OPTIONAL_MEMBERS: Mapping[str, OptionalMember] = MappingProxyType({m.name: m for m in _DECLARED})

_ABSENT = object()


def optional_member(provider: Any, name: str) -> Any:
    """The provider's ``name`` member, or its declared default (for the provider's kind) when it has none.

    ``name`` must be declared in ``OPTIONAL_MEMBERS``: a typo is a bug in the caller, not a missing member.
    """
    try:
        member = OPTIONAL_MEMBERS[name]
    except KeyError:
        raise ValueError(
            f"{name!r} is not an optional provider member (declared: {', '.join(OPTIONAL_MEMBERS)})"
        ) from None
    value = getattr(provider, name, _ABSENT)
    if value is _ABSENT:
        return member.default_for(getattr(provider, "kind", None))
    return value
