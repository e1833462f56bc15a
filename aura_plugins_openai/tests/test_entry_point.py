"""The ``openai`` entry point stays light: registering its providers loads no SDK, HTTP client or array library."""

from __future__ import annotations

from aura_core.testing import probe_entry_point

HEAVY = ("openai", "httpx", "httpx2", "pydantic", "PIL", "av", "numpy")
"""Top-level modules that only a call (configure, check, write_script, synthesize, generate) may import."""


def test_registering_the_providers_imports_no_heavy_module() -> None:
    """In a fresh interpreter, loading the ``openai`` entry point and registering its providers
    (reading kind, name, auto and concurrency) leaves every module of ``HEAVY`` unimported."""
    probe = probe_entry_point("openai", HEAVY)
    assert probe.module == "aura_plugins_openai.plugin"
    assert probe.providers == [("image", "openai"), ("llm", "openai"), ("tts", "openai")]
    assert probe.heavy == []
