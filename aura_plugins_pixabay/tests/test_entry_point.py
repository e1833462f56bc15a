"""The ``pixabay`` entry point stays light: registering its provider loads no HTTP client or media library."""

from __future__ import annotations

from aura_core.testing import probe_entry_point

HEAVY = ("httpx", "av", "PIL", "numpy")
"""Top-level modules that only a call (configure, check, generate) may import."""


def test_registering_the_provider_imports_no_heavy_module() -> None:
    """In a fresh interpreter, loading the ``pixabay`` entry point and registering its provider leaves every
    module of ``HEAVY`` unimported."""
    probe = probe_entry_point("pixabay", HEAVY)
    assert probe.module == "aura_plugins_pixabay.plugin"
    assert probe.providers == [("image", "pixabay")]
    assert probe.heavy == []
