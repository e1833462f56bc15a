"""The minimal provider plugin of docs/writing-a-provider-plugin.md, taken from the page itself, works.

The code and its pyproject.toml are read from the page's "A minimal provider plugin" section, installed
with pip into a temp folder, listed by `aura plugins`, run through the contract suite on asyncio and trio,
and used by a real pipeline; a change to the page that breaks it fails here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from aura_core import Pipeline, parse_brief
from aura_core.testing import FakeComposer, FakeScriptWriter, FakeVoice, check_provider

from .conftest import install_into

PAGE = Path(__file__).resolve().parent.parent / "docs" / "writing-a-provider-plugin.md"
AURA = Path(sys.executable).with_name("aura")


def _blocks() -> tuple[str, str]:
    """The Python module and the pyproject.toml of the page's minimal plugin, as written there."""
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("\n## A minimal provider plugin\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    toml = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert code and toml, "the section lost its python or toml block"
    return code.group(1), toml.group(1)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The contract suite runs on both backends."""
    return str(request.param)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page's minimal plugin, pip-installed into a temp folder (never into the venv)."""
    code, toml = _blocks()
    source = tmp_path_factory.mktemp("shade-src")
    (source / "aura_plugin_shade.py").write_text(code, encoding="utf-8")
    (source / "pyproject.toml").write_text(toml, encoding="utf-8")
    return install_into(tmp_path_factory.mktemp("shade-site"), source)


@pytest.fixture(scope="module")
def plugin(site: Path) -> ModuleType:
    """The installed module, imported from the site folder."""
    spec = importlib.util.spec_from_file_location("aura_plugin_shade", site / "aura_plugin_shade.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_minimal_plugin_is_twelve_lines_of_code_or_fewer() -> None:
    """Counted without blank lines, which the formatter adds around the class and its method."""
    code, _toml = _blocks()
    assert len([line for line in code.splitlines() if line.strip()]) <= 12, code


def test_aura_plugins_lists_the_installed_minimal_plugin(site: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURA_") and k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    result = subprocess.run(
        [str(AURA), "plugins", "--plugins", "shade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"providers": [\n      "image:shade"\n    ]' in result.stdout, result.stdout
    assert '"distribution": "aura-plugin-shade"' in result.stdout


@pytest.mark.anyio
async def test_the_minimal_plugin_passes_the_contract_suite(plugin: ModuleType, tmp_path: Path) -> None:
    """Decoded PNG of the asked size, a 0x0 request refused permanently, nothing left after a cancellation."""
    report = await check_provider(plugin.Shade(), tmp_path)
    assert not report.failures
    assert report.status("result") == report.status("decode") == report.status("refusal") == "passed"


@pytest.mark.anyio
async def test_a_pipeline_illustrates_every_scene_with_the_minimal_plugin(
    plugin: ModuleType, tmp_path: Path
) -> None:
    pipeline = Pipeline([FakeScriptWriter(), FakeVoice(), plugin.Shade(), FakeComposer()], runs_dir=tmp_path)
    spec = parse_brief(
        {
            "brief": {"topic": "Shades"},
            "plan": {"duration": 8, "scenes": 2},
            "render": {"resolution": "96x54", "fps": 10},
            "providers": {"image": ["shade"]},
        }
    )
    await pipeline.run(spec)
    pictures = sorted((tmp_path / "shades").rglob("artifacts/*.png"))
    assert len(pictures) == 2
    for picture in pictures:
        with Image.open(picture) as image:
            assert image.size == (96, 54)
            column = [image.convert("L").getpixel((0, y)) for y in range(54)]
            assert column == sorted(column) and column[0] < 16 and column[-1] > 239  # dark to light
