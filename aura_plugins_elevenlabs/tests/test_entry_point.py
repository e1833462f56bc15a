"""The ``elevenlabs`` entry point stays light: registering its providers loads no SDK, HTTP client or array library."""

from __future__ import annotations

from aura_core.testing import probe_entry_point

HEAVY = ("elevenlabs", "httpx", "pydantic", "av", "numpy", "PIL")
"""Top-level modules that only a call (configure, check, write_script, synthesize, generate) may import."""


def test_registering_the_providers_imports_no_heavy_module() -> None:
    """In a fresh interpreter, loading the ``elevenlabs`` entry point and registering its providers
    (reading kind, name, auto and concurrency) leaves every module of ``HEAVY`` unimported."""
    probe = probe_entry_point("elevenlabs", HEAVY)
    assert probe.module == "aura_plugins_elevenlabs.plugin"
    assert probe.providers == [("tts", "elevenlabs")]
    assert probe.heavy == []
