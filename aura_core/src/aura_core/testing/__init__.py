"""Test helpers for aura and for third-party plugin authors: fake providers of every kind and the contract suite."""

from aura_core.testing.configuring import configured
from aura_core.testing.contract import (
    CHECKS,
    CheckResult,
    ContractReport,
    ContractViolation,
    check_provider,
)
from aura_core.testing.entry_point import EntryPointProbe, probe_entry_point
from aura_core.testing.fakes import (
    FakeClipIllustrator,
    FakeComposer,
    FakeIllustrator,
    FakeMixingComposer,
    FakeScriptWriter,
    FakeSoundtrackStream,
    FakeStreamingComposer,
    FakeVoice,
    Faults,
    fake_providers,
    write_gradient_png,
    write_test_clip,
    write_tone_wav,
)
from aura_core.usage import collect_usage

__all__ = [
    "CHECKS",
    "CheckResult",
    "ContractReport",
    "ContractViolation",
    "EntryPointProbe",
    "FakeClipIllustrator",
    "FakeComposer",
    "FakeIllustrator",
    "FakeMixingComposer",
    "FakeScriptWriter",
    "FakeSoundtrackStream",
    "FakeStreamingComposer",
    "FakeVoice",
    "Faults",
    "check_provider",
    "collect_usage",
    "configured",
    "fake_providers",
    "probe_entry_point",
    "write_gradient_png",
    "write_test_clip",
    "write_tone_wav",
]
