import json
import os
import re
import stat

import pytest

from gptisyou.data import pricing


@pytest.fixture
def imported(run, tmp_path):
    """A two-person chat long enough for a dataset: the round-trip writer renders it as a real export."""
    from datetime import datetime, timedelta

    from gptisyou.messages import Message
    from gptisyou.sources import whatsapp_writer

    start = datetime(2023, 5, 1, 18, 0)  # fourteen evenings of eight messages
    messages = [
        Message(
            "Ann" if i % 2 == 0 else "Bob",
            start + timedelta(days=i // 8, minutes=20 * (i % 8)),
            f"message {i}, call +44 20 7946 0958",
        )
        for i in range(112)
    ]
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(messages, path, whatsapp_writer.VARIANTS_BY_NAME["android-dmy-24h"])
    assert run("import", path).exit_code == 0
    return path


def test_dataset_writes_a_private_redacted_valid_file(run, imported, tmp_path, workspace):
    out = tmp_path / "ann.jsonl"
    result = run("dataset", "--as", "Ann", "-o", out)
    assert (result.exit_code, result.stdout) == (
        0,
        f"wrote 12 openai examples to {out}\n",
    )  # 2 of 14 evenings held out: 8 of Ann's 56 turns (a third evening would pass 20 %)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "7946" not in out.read_text()
    assert "[PHONE_1]" in out.read_text()
    mapping = workspace / "redaction" / "Ann.json"
    assert json.loads(mapping.read_text()) == {"+442079460958": "[PHONE_1]"}
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o600
    assert run("validate", out).stdout == f"{out}: valid for gpt-4o-mini-2024-07-18\n"


def test_local_formats_are_not_redacted_unless_asked(run, imported, tmp_path):
    out = tmp_path / "ann.jsonl"
    run("dataset", "--as", "Ann", "--format", "sharegpt", "-o", out)
    assert "+44 20 7946 0958" in out.read_text()
    run("dataset", "--as", "Ann", "--format", "sharegpt", "--redact", "-o", out)
    assert "+44 20 7946 0958" not in out.read_text()


def test_stats_show_examples_tokens_cost_and_previews(run, imported):
    result = run("dataset", "--as", "Bob", "--format", "legacy", "--stats")
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "persona: Bob in chat(s) 1",
        (
            "conversations: 12 for training, 2 held out (spread across the chat: one from each stretch of its time, "
            "so it is judged on the whole of it)"
        ),
        "persona turns: 48 to learn from, 8 held out for validation",
        "examples (legacy): 48",
    ]
    assert lines[4].startswith("tokens: ")
    assert "tiktoken cl100k_base" in lines[4]
    tokens = int(lines[4].split()[1].replace(",", ""))
    cost = pricing.training_cost_usd(tokens, "gpt-4o-mini-2024-07-18", 3)
    assert lines[5].startswith(f"estimated hosted cost: ${cost:,.2f} for gpt-4o-mini-2024-07-18, 3 epoch(s)")
    # previews in the legacy form, the phone number a pseudonym
    assert re.search(r'"prompt": "(Ann: message \d+, call \[PHONE_1\]\\n)+\\n###\\n\\n"', result.stdout)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--as", "Nobody", "--stats"], "Error: no participant 'Nobody' (known: Ann, Bob)\n"),
        (
            ["--as", "Ann", "--chat", "5", "--stats"],
            "Error: --chat 5: Ann did not write in that chat (their chats: 1)\n",
        ),
    ],
)
def test_bad_persona_or_chat_is_one_line_exit_2(run, imported, args, error):
    result = run("dataset", *args)
    assert (result.exit_code, result.stderr) == (2, error)


def test_dataset_needs_an_output_or_stats(run, imported):
    result = run("dataset", "--as", "Ann")
    assert result.exit_code == 2
    assert "give -o PATH to write the dataset, or --stats to look at it" in result.stderr


def test_validate_lists_every_problem_and_exits_2(run, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n')
    result = run("validate", bad)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{bad}:1: no assistant message to learn from",
        f"{bad}:2: not valid JSON (Expecting value)",
        f"{bad}: 2 examples; OpenAI needs at least 10",
        f"Error: {bad}: 3 problem(s), see above",
    ]


def test_hf_format_saves_a_loadable_private_dataset(run, imported, tmp_path):
    import datasets

    out = tmp_path / "ann-hf"
    assert run("dataset", "--as", "Ann", "--format", "hf", "-o", out).exit_code == 0
    loaded = datasets.load_from_disk(str(out))
    assert loaded.column_names == ["chat", "text", "targets"]
    first = loaded[0]
    spans = [first["text"][start:end] for start, end in first["targets"]]
    numbers = [int(re.fullmatch(r" message (\d+), call \+44 20 7946 0958<eot>", span)[1]) for span in spans]
    assert numbers == list(range(numbers[0], numbers[0] + 8, 2))  # Ann's four turns of the first window, whole
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in out.rglob("*") if path.is_file())
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


def test_cli_choices_match_the_library():
    """The CLI repeats the formats so that starting it imports no dataset code."""
    import importlib

    from gptisyou.data import formats as dataset_formats

    assert importlib.import_module("gptisyou.cli.dataset").FORMATS == dataset_formats.FORMATS


def test_a_device_is_refused_not_replaced(run, imported, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # a special file anyone may create; /dev/null is the same case for root
    result = run("dataset", "--as", "Ann", "-o", fifo)
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {fifo}: is a device or other special file; give a regular file\n",
    )
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("folder", "{path}: is a folder; give a file name"),
        ("missing/ann.jsonl", "{path}: the folder {parent} does not exist"),
    ],
)
def test_a_folder_or_a_missing_folder_is_one_line(run, imported, tmp_path, target, message):
    (tmp_path / "folder").mkdir()
    path = tmp_path / target
    result = run("dataset", "--as", "Ann", "-o", path)
    assert (result.exit_code, result.stderr) == (2, "Error: " + message.format(path=path, parent=path.parent) + "\n")


def test_the_hf_format_never_replaces_a_folder_of_something_else(run, imported, tmp_path):

    folder = tmp_path / "Documents"
    folder.mkdir()
    (folder / "letter.txt").write_text("keep me")
    result = run("dataset", "--as", "Ann", "--format", "hf", "-o", folder)
    assert result.exit_code == 2
    assert "holds something other than a saved dataset" in result.stderr
    assert (folder / "letter.txt").read_text() == "keep me"
    assert run("dataset", "--as", "Ann", "--format", "hf", "-o", tmp_path / "ann-hf").exit_code == 0
    assert run("dataset", "--as", "Ann", "--format", "hf", "-o", tmp_path / "ann-hf").exit_code == 0  # replaced


def test_the_dataset_holds_out_what_train_holds_out_and_cuts_examples_as_asked(run, tmp_path, workspace):
    from datetime import datetime, timedelta

    from gptisyou.data.dataset import DatasetConfig, build
    from gptisyou.messages import Message
    from gptisyou.sources import whatsapp_writer
    from gptisyou.store.database import Store

    start = datetime(2023, 1, 1, 18, 0)  # sixty evenings: the held-out rule (5 evenings, 7 days) is far below a third
    messages = [
        Message("Ann" if i % 2 == 0 else "Bob", start + timedelta(days=i // 6, minutes=10 * (i % 6)), f"message {i}")
        for i in range(360)
    ]
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    whatsapp_writer.write_file(messages, path, whatsapp_writer.VARIANTS_BY_NAME["android-dmy-24h"])
    run("import", path)
    with Store.open(workspace) as store:
        held_out_from = build(store, DatasetConfig("Ann", hold_out="latest")).held_out_from  # what train holds out
        spread = build(store, DatasetConfig("Ann")).val
    assert held_out_from == datetime(2023, 2, 22, 18, 0)  # the last 7 evenings: 7 days
    latest = run("dataset", "--as", "Ann", "--hold-out", "latest", "--stats").stdout
    assert f"held out (the latest, from {held_out_from:%Y-%m-%d %H:%M} on)" in latest
    assert f"{len(spread)} held out (spread across the chat" in run("dataset", "--as", "Ann", "--stats").stdout

    out = tmp_path / "ann.jsonl"
    run("dataset", "--as", "Ann", "--format", "sharegpt", "--window-turns", "2", "-o", out)
    examples = [json.loads(line)["conversations"] for line in out.read_text().splitlines()]
    assert max(map(len, examples)) == 2
