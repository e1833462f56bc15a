"""Check that a plugin's entry point stays light: registering its providers imports nothing heavy.

``aura plugins`` and every ``aura`` command load all installed plugins; a plugin that imports its
vendor SDK at registration makes every command slower. Heavy imports belong inside the calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable

from attrs import frozen

_PROBE = """
import json, sys
from importlib.metadata import entry_points

from aura_core.members import optional_member

(entry,) = [e for e in entry_points(group="aura") if e.name == sys.argv[1]]
module = entry.load()
registered = []
module.aura_register_providers(registered.append)
facts = [
    [p.kind, p.name, bool(optional_member(p, "auto")), int(optional_member(p, "concurrency"))] for p in registered
]
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[2:]))
print(json.dumps({"module": module.__name__, "providers": facts, "heavy": loaded}))
"""


@frozen
class EntryPointProbe:
    """What a fresh interpreter saw: the plugin module, its providers (kind, name) and the heavy modules loaded."""

    module: str
    providers: list[tuple[str, str]]
    heavy: list[str]


def probe_entry_point(plugin: str, heavy: Iterable[str]) -> EntryPointProbe:
    """Load entry point ``plugin`` in a fresh interpreter, register its providers (reading kind, name, auto,
    concurrency), and report which of the ``heavy`` top-level modules that imported."""
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, plugin, *heavy],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    data = json.loads(run.stdout)
    providers = sorted((kind, name) for kind, name, _auto, _concurrency in data["providers"])
    return EntryPointProbe(module=data["module"], providers=providers, heavy=data["heavy"])
