import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gptisyou.cli import cli

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus" / "whatsapp"


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch) -> Path:
    """Every test gets its own empty workspace through $GPTISYOU_HOME."""
    home = tmp_path / "workspace"
    monkeypatch.setenv("GPTISYOU_HOME", str(home))
    return home


@pytest.fixture
def run():
    """Invoke the CLI in-process; bugs raise (catch_exceptions=False), user errors give exit codes."""

    def invoke(*args: str | os.PathLike):
        return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)

    return invoke
