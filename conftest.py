"""Root conftest: import the installed aura packages before pytest collects tests.

With ``--import-mode=importlib`` pytest names a test module after its path
(``aura_plugins_local.tests.test_x``) and inserts empty stand-ins for missing parents; importing
the real packages first keeps ``aura_plugins_local`` the installed package, not the folder.
Every distribution of the repository is one: each ``aura_*`` folder with a ``pyproject.toml`` (as the
Makefile finds them), whose package has the folder's name.
"""

import importlib
import importlib.util
from pathlib import Path

for _folder in sorted(Path(__file__).parent.glob("aura_*/pyproject.toml")):
    _name = _folder.parent.name
    if importlib.util.find_spec(_name) is not None:
        importlib.import_module(_name)


def pytest_collection_modifyitems(items: list) -> None:  # type: ignore[type-arg]
    """Ray's tests run first. Ray starts its processes with a ``preexec_fn`` (Python run in the forked
    child); in a process where a video codec's threads (PyAV encoding test clips) have run, that child
    can deadlock and ``ray.init`` hangs. Before every other test, no such thread exists. The sort is
    stable: every other test keeps its order."""
    items.sort(key=lambda item: 0 if item.path.name == "test_ray.py" else 1)
