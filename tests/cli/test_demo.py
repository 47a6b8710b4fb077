"""`gptisyou demo`: export → import → train → eval → next steps, on the real sample chat and a tiny model."""

import json

import pytest


@pytest.mark.slow  # minutes of CPU: in `make test` and CI, not in `make test-fast`
def test_the_demo_goes_from_export_to_an_evaluated_clone(run, workspace, tiny_base):
    result = run("demo", "--base", tiny_base, "--minutes", "0.05", "--samples", "2")
    assert result.exit_code == 0, result.stderr
    assert "4,981" in result.stdout or "4981" in result.stdout.replace(",", "")  # the import's people table
    assert "Predicting Sam's real words: perplexity " in result.stdout
    assert f"gptisyou --workspace {workspace} chat --as Sam" in result.stdout
    [metrics_path] = workspace.glob("runs/Sam/*/eval/metrics.json")
    assert len(json.loads(metrics_path.read_text())["samples"]) == 2
    portrait = metrics_path.parent / "portrait.html"  # the demo pair's portrait, beside the report
    assert "<bdi>Sam</bdi>, as your chats show them" in portrait.read_text()
    assert oct(portrait.stat().st_mode & 0o777) == "0o600"


def test_import_only_imports_the_demo_pair_and_trains_nothing(run, workspace):
    result = run("demo", "--import-only")
    assert result.exit_code == 0, result.stderr
    assert not (workspace / "runs").exists()
    people = run("people").stdout
    assert "Sam" in people
    assert "Alex" in people
    assert "4,981" in run("chats").stdout  # every message of the pair


def test_the_demo_asks_for_more_replies_where_llama_cpp_writes_them_fast(workspace, monkeypatch):
    from gptisyou.cli.demo import default_samples
    from gptisyou.engine import llama_engine
    from tests.conftest import fake_trained_run

    fake_trained_run(workspace, "Sam")
    assert default_samples(workspace) == 24  # its base is no GGUF: torch
    monkeypatch.setattr(llama_engine, "runs_on", lambda run: True)
    assert default_samples(workspace) == 100
