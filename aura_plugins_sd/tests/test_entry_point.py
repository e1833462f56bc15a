"""The ``sd`` entry point stays light: registering its providers loads no SDK, HTTP client or array library."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("httpx", "PIL", "numpy", "torch", "diffusers", "transformers")
"""Top-level modules that only a call (configure, check, check, generate) may import."""

PROBE = """
import json, sys
from importlib.metadata import entry_points

(entry,) = [e for e in entry_points(group="aura") if e.name == sys.argv[1]]
module = entry.load()
registered = []
module.aura_register_providers(registered.append)
facts = [
    [p.kind, p.name, bool(getattr(p, "auto", False)), int(getattr(p, "concurrency", 1))] for p in registered
]
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2:]))
print(json.dumps({"module": module.__name__, "providers": facts, "heavy": loaded}))
"""


def test_registering_the_providers_imports_no_heavy_module() -> None:
    """In a fresh interpreter, loading the ``sd`` entry point and registering its providers
    (reading kind, name, auto and concurrency) leaves every vendor SDK, httpx, numpy and PIL unimported."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE, "sd", *HEAVY], capture_output=True, text=True, check=True
    )
    result = json.loads(run.stdout)
    assert result["module"] == "aura_plugins_sd.plugin"
    assert sorted((kind, name) for kind, name, _, _ in result["providers"]) == [("image", "sd")]
    assert result["heavy"] == []
