"""The ``sd`` entry point stays light: registering its providers loads no HTTP client, image library or diffusers stack."""

from __future__ import annotations

from aura_core.testing import probe_entry_point

HEAVY = ("httpx", "PIL", "numpy", "torch", "diffusers", "transformers")
"""Top-level modules that only a call (configure, check, write_script, synthesize, generate) may import."""


def test_registering_the_providers_imports_no_heavy_module() -> None:
    """In a fresh interpreter, loading the ``sd`` entry point and registering its providers
    (reading kind, name, auto and concurrency) leaves every module of ``HEAVY`` unimported."""
    probe = probe_entry_point("sd", HEAVY)
    assert probe.module == "aura_plugins_sd.plugin"
    assert probe.providers == [("image", "sd")]
    assert probe.heavy == []
