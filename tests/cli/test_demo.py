"""`gptisyou demo`: export → import → train → eval → next steps, on the real sample chat and a tiny model."""

import json

import pytest

pytest.importorskip("chitchat_dataset")
pytest.importorskip("peft")
pytest.importorskip("sklearn")


@pytest.mark.slow  # minutes of CPU: in `make test` and CI, not in `make test-fast`
def test_the_demo_goes_from_export_to_an_evaluated_clone(run, workspace, tiny_base):
    result = run("demo", "--base", tiny_base, "--minutes", "0.05", "--samples", "2")
    assert result.exit_code == 0, result.stderr
    assert "4,981" in result.stdout or "4981" in result.stdout.replace(",", "")  # the import's people table
    assert "Predicting Sam's real words: perplexity " in result.stdout
    assert f"gptisyou --workspace {workspace} chat --as Sam" in result.stdout
    [metrics_path] = workspace.glob("runs/Sam/*/eval/metrics.json")
    assert len(json.loads(metrics_path.read_text())["samples"]) == 2


def test_import_only(run, workspace):
    result = run("demo", "--import-only")
    assert result.exit_code == 0, result.stderr
    assert not (workspace / "runs").exists()
