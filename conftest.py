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
