"""`gptisyou bridge`: the command as a user starts it, on the tiny trained clone, against the fake Bot API."""

import os
import signal
import subprocess
import sys

import pytest

from tests.bridges.fake_telegram import FakeTelegram
from tests.conftest import not_private

TOKEN = "5550001:AAH-very-secret-token"


@pytest.fixture
def fake():
    server = FakeTelegram(TOKEN)
    yield server
    server.close()


def _bridge(workspace, api_url: str) -> subprocess.Popen:
    """`gptisyou bridge telegram --as Ann` as a user starts it, its log on a pipe."""
    arguments = ["bridge", "telegram", "--as", "Ann", "--allow", "42", "--api-url", api_url]
    command = [sys.executable, "-m", "gptisyou", *arguments]
    environment = os.environ | {"GPTISYOU_HOME": str(workspace), "TELEGRAM_BOT_TOKEN": TOKEN}
    return subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # a real bridge process that loads torch: in `make test` and CI, not in `make test-fast`
def test_the_telegram_bridge_discloses_replies_and_stops_cleanly_on_sigterm(trained, workspace, fake):
    bridge = _bridge(workspace, fake.url)
    try:
        fake.says(42, "w3")
        fake.wait_for(lambda f: len(f.texts(42)) >= 2, timeout=120)
    finally:
        bridge.send_signal(signal.SIGTERM)
        _, stderr = bridge.communicate(timeout=60)
    assert bridge.returncode == 0, stderr
    first, *reply = fake.texts(42)
    assert first.startswith("I am an AI imitation of Ann")
    assert all(bubble.strip() == bubble != "" for bubble in reply)
    assert fake.bot_name == "Ann (AI)"
    assert "stopped" in stderr
    assert TOKEN not in stderr
    assert "w3" not in stderr  # what people write is not logged
    assert (workspace / "bridges" / "Ann" / "telegram.json").is_file()
    assert not_private(workspace / "bridges") == []


def test_without_a_token_it_says_where_one_goes(run):
    result = run("bridge", "telegram", "--as", "Ann", "--allow", "42")
    assert result.exit_code != 0
    assert result.stderr == "Error: no bot token: set $TELEGRAM_BOT_TOKEN, or give --token-file PATH\n"


def test_a_token_file_others_can_read_is_refused(run, tmp_path, loose_umask):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o644)
    result = run("bridge", "discord", "--as", "Ann", "--token-file", token_file)
    assert result.exit_code != 0
    assert result.stderr == f"Error: {token_file}: readable by others; chmod 600 it first (the token is a password)\n"
    assert TOKEN not in result.output


def test_the_token_is_no_option(run):
    result = run("bridge", "telegram", "--as", "Ann", "--token", TOKEN)
    assert result.exit_code == 2
    assert "No such option '--token'." in result.stderr
    assert TOKEN not in result.output


@pytest.mark.parametrize("url", ["ftp://api.example.org", "api.telegram.org", "http://"])
def test_an_api_url_that_is_not_http_is_a_usage_error(run, url):
    result = run("bridge", "telegram", "--as", "Ann", "--allow", "42", "--api-url", url)
    assert result.exit_code == 2
    assert f"'{url}' is not an http:// or https:// URL" in result.stderr


@pytest.mark.slow  # a real bridge process that loads torch
def test_sigterm_stops_the_bridge_within_seconds_while_the_bot_api_cannot_be_reached(trained, workspace):
    bridge = _bridge(workspace, "http://127.0.0.1:1")
    try:
        for line in bridge.stderr:  # up and retrying
            if "network trouble" in line:
                break
        bridge.send_signal(signal.SIGTERM)
        _, stderr = bridge.communicate(timeout=10)
    finally:
        bridge.kill()
    assert bridge.returncode == 0, stderr
    assert "stopped" in stderr
