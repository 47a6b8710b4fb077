"""Hosted fine-tuning end to end against a fake OpenAI-compatible provider on 127.0.0.1."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from gptisyou.cli import cli
from tests.conftest import live_server, not_private
from tests.fake_openai import FakeProvider

KEY = "sk-fake"


@pytest.fixture
def provider():
    return FakeProvider(KEY)


@pytest.fixture
def base_url(provider):
    with live_server(provider.app()) as url:
        yield f"{url}/v1"


@pytest.fixture
def hosted(base_url, learnable_chat, monkeypatch):
    """`gptisyou openai …` against the fake provider; extra arguments go to the subcommand."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, ["openai", "--base-url", base_url, *args], input=input, catch_exceptions=False)

    return invoke


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_the_whole_route_then_forget_leaves_nothing_behind(
    hosted, provider, base_url, tmp_path, workspace, loose_umask
):
    started = hosted("train", "--as", "Ann", "--poll-seconds", "0", input="yes\n")
    assert started.exit_code == 0, started.output
    assert f"What would be sent to {base_url} (compatible):" in started.output
    assert "redaction on:" in started.output
    assert "Type yes if everyone in these chats agreed to that" in started.output
    job_id = next(iter(provider.jobs))
    assert f"job {job_id} started for Ann on gpt-4o-mini-2024-07-18" in started.output
    model = provider.jobs[job_id]["fine_tuned_model"]
    assert f"fine-tuned model: {model}" in started.output
    assert "The job has successfully completed" in started.output  # events were shown while following
    sent = provider.contents[provider.jobs[job_id]["training_file"]].decode()
    assert '"role": "assistant"' in sent
    assert provider.jobs[job_id]["hyperparameters"]["n_epochs"] == 3

    status = hosted("status")
    assert f"status: succeeded\nbase model: gpt-4o-mini-2024-07-18\nfine-tuned model: {model}" in status.output
    events = hosted("events", job_id).output.splitlines()
    assert events[0].endswith("Validating training file")
    assert events[-1].endswith("The job has successfully completed")
    results = hosted("results", job_id)
    assert results.exit_code == 0, results.output
    assert "2.400" in results.output
    assert "0.550" in results.output  # token accuracy 0.25 → 0.55, as in the original experiment
    plot = results.output.strip().splitlines()[-1].removeprefix("plot: ")
    assert Path(plot).read_bytes().startswith(b"\x89PNG")
    assert not_private(workspace) == []  # hosted/, its uploads and the plot

    chat = invoke("chat", "--as", "Ann", "--backend", "openai", input="w3\n/quit\n")
    assert chat.exit_code == 0, chat.output
    assert "Ann: sure thing — from the hosted model" in chat.output

    forgotten = invoke("forget", "--as", "Ann", "--remote", "--yes")
    assert forgotten.exit_code == 0, forgotten.output
    assert provider.files == {}  # uploads and the result file
    assert provider.tuned_models() == []
    assert not Path(plot).exists()  # the plot went with the persona's hosted files


def test_consent_with_standard_input_closed_is_no_consent(hosted, provider):
    refused = hosted("train", "--as", "Ann", input=None)
    assert refused.exit_code == 3
    assert refused.output.strip().splitlines()[-1] == "Error: nothing was sent"
    assert provider.requests == []


def test_no_consent_sends_nothing(hosted, provider):
    refused = hosted("train", "--as", "Ann", input="no\n")
    assert refused.exit_code == 3
    assert refused.output.strip().splitlines()[-1] == "Error: nothing was sent"
    assert [path for method, path in provider.requests if method != "GET"] == []
    assert provider.requests == []


def test_an_upload_failing_midway_leaves_no_orphan_after_forget(hosted, provider):
    provider.fail["upload"] = [None] + [500] * 10  # the training file goes up, the validation file never does
    failed = hosted("train", "--as", "Ann", "--yes")
    assert failed.exit_code == 5
    assert "Error: upload: the provider answered 500" in failed.output
    assert len(provider.user_files()) == 1  # the training file is there, and recorded in the workspace
    assert provider.jobs == {}
    forgotten = invoke("forget", "--as", "Ann", "--remote", "--yes")
    assert forgotten.exit_code == 0, forgotten.output
    assert provider.user_files() == []


def test_a_failed_job_says_why(hosted, provider):
    provider.fail["job"] = "failed"
    result = hosted("train", "--as", "Ann", "--yes", "--poll-seconds", "0")
    assert result.exit_code == 5
    assert result.output.strip().splitlines()[-1] == (
        f"Error: job {next(iter(provider.jobs))} failed: Training file has too few examples"
    )


def test_rate_limits_are_retried(hosted, provider):
    provider.fail["rate_limit"] = 2
    result = hosted("train", "--as", "Ann", "--yes", "--no-wait")
    assert result.exit_code == 0, result.output
    assert len(provider.jobs) == 1


def test_permission_denied_explains_the_wind_down(hosted, provider):
    provider.fail["create_job"] = 403
    result = hosted("train", "--as", "Ann", "--yes")
    assert result.exit_code == 5
    message = result.output.strip().splitlines()[-1]
    assert message.startswith("Error: job creation: permission denied (403). OpenAI stopped new fine-tuning jobs")
    assert "2027-01-06" in message
    assert "gptisyou train --as NAME" in message


def test_a_wrong_key_is_one_clear_line(hosted, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    result = hosted("train", "--as", "Ann", "--yes")
    assert result.exit_code == 5
    assert result.output.strip().splitlines()[-1].startswith("Error: upload: the provider rejected the API key (401)")


def test_missing_key_or_url_are_input_errors(learnable_chat, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = invoke("openai", "train", "--as", "Ann", "--yes")
    assert (result.exit_code, result.output.strip()) == (2, "Error: no API key: set $OPENAI_API_KEY or pass --api-key")
    result = invoke("openai", "--provider", "compatible", "--api-key", "k", "status")
    assert result.output.strip() == "Error: a compatible provider needs --base-url (or $OPENAI_BASE_URL)"


def test_the_legacy_route_sends_prompt_completion_pairs(hosted, provider):
    result = hosted("train", "--as", "Ann", "--model", "davinci-002", "--epochs", "1", "--yes", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "legacy training examples" in result.output
    job = next(iter(provider.jobs.values()))
    first = provider.contents[job["training_file"]].decode().splitlines()[0]
    assert '"prompt": "Bob: w' in first
    assert first.endswith(' ###"}')
    assert (job["model"], job["hyperparameters"]["n_epochs"]) == ("davinci-002", 1)


def test_forgetting_locally_warns_about_what_stays_at_the_provider(hosted, provider, workspace):
    assert hosted("train", "--as", "Ann", "--yes", "--no-wait").exit_code == 0
    result = CliRunner().invoke(cli, ["forget", "--as", "Ann", "--yes"])
    assert result.exit_code == 0
    assert "stay at the provider" in result.stderr
    assert "add --remote to delete them too" in result.stderr
    assert not (workspace / "hosted" / "Ann").exists()
    assert len(provider.user_files()) == 2  # nothing was deleted there


def test_forget_needs_to_know_what(workspace):
    for args in ([], ["--as", "Ann", "--all"]):
        result = invoke("forget", "--yes", *args)
        assert (result.exit_code, result.output.strip()) == (2, "Error: say what to forget: --as NAME, or --all")
