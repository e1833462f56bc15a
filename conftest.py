"""Root conftest: import the installed aura packages before pytest collects tests.

With ``--import-mode=importlib`` pytest names a test module after its path
(``aura_plugins_local.tests.test_x``) and inserts empty stand-ins for missing parents; importing
the real packages first keeps ``aura_plugins_local`` the installed package, not the folder.
"""

import importlib
import importlib.util

for _name in (
    "aura_core",
    "aura_plugins_local",
    "aura_plugins_ffmpeg",
    "aura_plugins_openai",
    "aura_plugins_elevenlabs",
    "aura_plugins_sd",
):
    if importlib.util.find_spec(_name) is not None:
        importlib.import_module(_name)
