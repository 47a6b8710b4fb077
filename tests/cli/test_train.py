import re
from pathlib import Path

import pytest

from tests.conftest import not_private


def test_train_then_runs(run, learnable_chat, tiny_base, workspace, loose_umask):
    result = run("train", "--as", "Ann", "--base", tiny_base, "--max-steps", "3", "--learning-rate", "0.01")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"run: {workspace / 'runs' / 'Ann'}")
    assert lines[1].startswith("steps: 3; best validation loss ")
    run_dir = lines[0].removeprefix("run: ")
    assert lines[2] == (
        f"adapter: {run_dir}/adapter · loss curve: {run_dir}/loss.png · sample replies: {run_dir}/samples.md"
    )
    assert Path(run_dir, "loss.png").read_bytes().startswith(b"\x89PNG")
    assert "**Model's reply:**" in Path(run_dir, "samples.md").read_text()
    plan = next(line for line in result.stderr.splitlines() if "tokens per epoch" in line)
    assert re.search(r"3 steps on (cpu|cuda); the time left shows once the first steps are timed$", plan)
    second = run("train", "--as", "Ann", "--base", tiny_base, "--max-steps", "3", "--learning-rate", "0.01")
    assert " tokens/s of the last run" in second.stderr
    assert not_private(workspace) == []  # runs/, runs/Ann, every file of a run: 0700 and 0600 from the start
    table = run("runs").stdout.splitlines()
    assert table[0].split()[:4] == ["Run", "Persona", "Base", "Steps"]
    assert table[1].split()[1:4] == ["Ann", str(tiny_base), "3"]


def test_train_unknown_persona_is_one_line_exit_2(run, learnable_chat, tiny_base):
    result = run("train", "--as", "Nobody", "--base", tiny_base, "--max-steps", "1")
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (
        2,
        "Error: no participant 'Nobody' (known: Ann, Bob)",
    )


def test_no_runs_yet(run):
    assert run("runs").stdout == "No runs yet. Train one: gptisyou train --as NAME\n"


@pytest.mark.parametrize(
    "arguments",
    [
        ("train", "--as", "Ann", "--val-tokens", "0"),
        ("eval", "--as", "Ann", "--fit-tokens", "10"),
        ("eval", "--as", "Ann", "--max-new-tokens", "0"),
        ("eval", "--as", "Ann", "--temperature", "nan"),
    ],
)
def test_an_out_of_range_setting_is_refused_before_any_work(run, workspace, arguments):
    result = run(*arguments)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("Error: Invalid value for")
    assert not workspace.exists()  # nothing made, nothing stored
