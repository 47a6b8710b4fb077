"""`chat`, `ask` and `serve` on a tiny trained run."""

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gptisyou.cli import cli
from gptisyou.engine.responder import Sampling


def chat(*lines: str, options=()):
    """The REPL with these lines typed; a bug raises here (catch_exceptions=False), a user error is an exit code."""
    return CliRunner().invoke(
        cli,
        ["chat", "--as", "Ann", "--seed", "1", *options],
        input="".join(f"{line}\n" for line in lines),
        catch_exceptions=False,
    )


def test_the_repl_answers_in_the_persona_name_and_saves_the_conversation(trained, tmp_path):
    saved = tmp_path / "talk.txt"
    result = chat("w3", "/temp 0", "w4", "/base", "w5", f"/save {saved}", "/reset", "/quit")
    assert result.exit_code == 0, result.output
    assert f"Talking to Ann (model: {trained.name}, torch) as Bob." in result.output  # a model directory: torch
    assert result.output.count("Bob> ") == 8  # the prompt: you are who Ann writes with most
    assert result.output.count("\nAnn: ") >= 3
    assert "Ann (base model): " in result.output
    assert "Temperature 0.0." in result.output
    transcript = saved.read_text().splitlines()
    assert [line.split(":")[0] for line in transcript] == ["Bob", "Ann"] * 3
    assert transcript[0] == "Bob: w3"
    assert oct(saved.stat().st_mode & 0o777) == "0o600"


def test_end_of_input_ends_the_repl_cleanly(trained):
    result = chat("w3")  # then the input ends, as Ctrl-D ends it
    assert result.exit_code == 0
    assert result.output.rstrip().splitlines()[-1].startswith("Bob>")  # asked again, then left quietly


def test_bad_temperature_is_explained_not_fatal(trained):
    result = chat("/temp hot", "/quit")
    assert result.exit_code == 0
    assert f"/temp takes a number from 0 to 2 (now {Sampling().temperature})." in result.output


def test_ask_a_preset_and_a_question(run, trained):
    result = run("ask", "--as", "Ann", "--preset", "cold-reply", "--seed", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Bob: Well that was worth a try?"
    assert result.stdout.splitlines()[1].startswith("Ann: ")
    topics = run("ask", "--as", "Ann", "--preset", "topics")
    assert "(answered from the chats, not by the clone: gptisyou portrait --as Ann)" in topics.stdout
    personality = run("ask", "--as", "Ann", "--preset", "personality")
    assert personality.exit_code == 0, personality.output
    assert "• Ann answers fast: within the minute (median), against 1 min for Bob." in personality.stdout
    assert run("ask", "--as", "Ann", "w3 w4", "--me", "Carol").stdout.startswith("Carol: w3 w4\nAnn: ")


def test_ask_needs_exactly_one_question(run, trained):
    result = run("ask", "--as", "Ann")
    assert (result.exit_code, result.stderr.strip()) == (
        2,
        "Error: give a QUESTION or a --preset (personality, topics, cold-reply), not both",
    )


def test_llama_cpp_is_refused_in_one_line_for_a_base_that_is_no_gguf(run, trained):
    pytest.importorskip(
        "llama_cpp", reason="needs llama-cpp-python, built by `make fast` (a C++ compiler and minutes)"
    )
    from gptisyou.engine import llama_engine

    if llama_engine.has_amx_kernels():
        pytest.skip("this llama-cpp-python has the AMX kernels that crash: refused before the base is looked at")
    result = run("ask", "--as", "Ann", "w3", "--engine", "llama.cpp")
    assert (result.exit_code, result.stderr.strip()) == (
        2,
        f"Error: --engine llama.cpp runs a GGUF base; {trained.name} was trained on a model directory",
    )


def test_no_trained_model_is_one_line_exit_2(run, learnable_chat):
    result = run("chat", "--as", "Bob")
    assert (result.exit_code, result.stderr.strip()) == (
        2,
        "Error: no trained model of Bob yet: gptisyou train --as Bob",
    )


@contextlib.contextmanager
def serving(workspace, *options: str):
    """`gptisyou serve --as Ann` in its own process on a free port of 127.0.0.1: (its /v1 URL, its stderr lines so
    far, read once it stopped)."""
    import openai

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "gptisyou", "serve", "--as", "Ann", "--port", str(port), *options]
    server = subprocess.Popen(
        command, env=os.environ | {"GPTISYOU_HOME": str(workspace)}, stderr=subprocess.PIPE, text=True
    )
    stderr: list[str] = []
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0)
        deadline = time.monotonic() + 60
        while True:
            try:
                client.models.list()
                break
            except openai.APIConnectionError:
                assert server.poll() is None, "the server stopped"
                assert time.monotonic() < deadline, "the server did not start in a minute"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1", stderr
    finally:
        server.terminate()
        stderr.extend(server.communicate(timeout=30)[1].splitlines())


@pytest.mark.slow  # a real server process that loads torch: in `make test` and CI, not in `make test-fast`
def test_serve_answers_the_official_client(trained, workspace):
    import openai

    with serving(workspace, "--api-key", "k") as (url, stderr):
        client = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
        assert [model.id for model in client.models.list()] == ["ann"]
        reply = client.chat.completions.create(model="ann", messages=[{"role": "user", "content": "w3"}], seed=1)
        # a turn of Ann's: words of the chat's vocabulary, without a header, a marker or the next speaker
        content = reply.choices[0].message.content
        assert content.strip() == content != ""
        assert re.fullmatch(r"[\w: ]+", content), content
        assert "<eot>" not in content
        assert "Bob" not in content
    assert f"as model 'ann': {url.removesuffix('/v1')}/" in "\n".join(stderr)
    assert Path(workspace).is_dir()


@pytest.mark.slow  # the served tiny model stands in for Ollama: a real OpenAI-compatible server on 127.0.0.1
def test_chat_through_a_local_endpoint_prompted_with_how_the_persona_writes(trained, workspace):
    with serving(workspace) as (url, _):
        result = chat("w3", "w7", "/quit", options=["--backend", "endpoint", "--base-url", url, "--model", "ann"])
    assert result.exit_code == 0, result.output
    assert f"(model: ann at {url}, prompted)" in result.output
    replies = [line for line in result.output.splitlines() if line.startswith("Ann: ")]
    assert len(replies) == 2, result.output
    assert all(re.fullmatch(r"Ann: [\w: \n]+", reply) for reply in replies), replies


def test_serve_answers_only_its_own_host_names_by_default():
    from gptisyou.serve.hosts import served_host_names

    assert served_host_names("127.0.0.1") == {"127.0.0.1", "localhost", "::1"}
    assert served_host_names("192.168.1.5", ("clone.lan",)) == {
        "192.168.1.5",
        "clone.lan",
        "127.0.0.1",
        "localhost",
        "::1",
    }
    assert served_host_names("0.0.0.0") is None  # every address: the host names cannot be known, a warning says so
    assert served_host_names("127.0.0.1", ("*",)) is None


@pytest.mark.parametrize("pages", [("--portrait",), ("--quiz",), ("--portrait", "--quiz")])
def test_pages_of_real_messages_are_not_served_beyond_this_machine_without_a_key(run, pages):
    result = run("serve", "--as", "Ann", "--host", "0.0.0.0", *pages)
    assert result.exit_code == 2
    shown = " and ".join(pages)
    assert (
        result.stderr == f"Error: {shown} show real messages: on 0.0.0.0, beyond this machine, only with --api-key\n"
    )


def test_removing_a_correction_that_is_not_there_is_one_line(run, workspace):
    from gptisyou.store.database import Store

    with Store.open(workspace) as store:
        store.corrections.add("Ann", [("Bob", "hi")], "yo", None, via="web")
    result = run("corrections", "--as", "Ann", "--remove", "999")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: no correction 999 of Ann's clone (gptisyou corrections --as Ann lists them)\n",
    )
    huge = run("corrections", "--as", "Ann", "--remove", "99999999999999999999999")
    assert huge.exit_code == 2
    assert "is not in the range" in huge.stderr
    nobody = run("corrections", "--as", "Nobody")
    assert nobody.exit_code == 2
    assert nobody.stderr.startswith("Error: no participant 'Nobody' in any chat")
    assert run("corrections", "--as", "Ann", "--remove", "1").stdout == "1 correction(s) deleted\n"
