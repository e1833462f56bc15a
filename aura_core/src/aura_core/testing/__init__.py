"""Test helpers for aura and for third-party plugin authors: fake providers of every kind."""

from aura_core.testing.fakes import (
    FakeComposer,
    FakeIllustrator,
    FakeScriptWriter,
    FakeVoice,
    Faults,
    fake_providers,
    write_gradient_png,
    write_tone_wav,
)
from aura_core.usage import collect_usage

__all__ = [
    "FakeComposer",
    "FakeIllustrator",
    "FakeScriptWriter",
    "FakeVoice",
    "Faults",
    "collect_usage",
    "fake_providers",
    "write_gradient_png",
    "write_tone_wav",
]
