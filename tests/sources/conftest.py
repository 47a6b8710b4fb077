"""What the tests of the sources share: the corpus of other apps' exports, and a fixed time zone."""

import json
import time

import pytest

from tests.conftest import ROOT

SOURCES = ROOT.parent / "shared" / "corpus" / "sources"
MANIFEST = json.loads((SOURCES / "manifest.json").read_text())["files"] if SOURCES.exists() else []
needs_corpus = pytest.mark.skipif(not SOURCES.exists(), reason="../shared/corpus/sources is not beside the checkout")


def entries(*formats: str) -> list[dict]:
    """The manifest's entries of these formats."""
    return [entry for entry in MANIFEST if entry["source_format"] in formats]


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Times stored in UTC are shown in the machine's zone: these tests pin it to UTC, the manifest's reading."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
