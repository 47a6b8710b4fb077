import json
import subprocess
import sys
import zipfile

import pytest

from gptisyou import cli as cli_module
from gptisyou.store.database import Store
from tests.conftest import FIXTURES

GROUP = FIXTURES / "whatsapp" / "android_dmy_24h_group.txt"
FRENCH = FIXTURES / "whatsapp" / "android_fr.txt"
HEAVY = [
    "torch",
    "transformers",
    "peft",
    "accelerate",
    "datasets",
    "matplotlib",
    "sklearn",
    "fastapi",
    "uvicorn",
    "openai",
]


def _message_count(workspace) -> int:
    with Store.open(workspace) as store:
        return store.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]


def test_import_reports_each_file(run):
    result = run("import", GROUP, FRENCH)
    assert result.exit_code == 0
    assert result.stdout == (
        "android_dmy_24h_group.txt → chat 1 'android_dmy_24h_group' (new): 13 messages read, 13 new, "
        "2024-03-12 → 2024-03-13\n"
        "android_fr.txt → chat 2 'android_fr' (new): 5 messages read, 5 new, 2017-07-12 → 2017-07-13\n"
    )
    assert "1 line(s) look like a damaged message header (line 10)" in result.stderr


def test_reimport_says_nothing_new(run):
    run("import", GROUP)
    result = run("import", GROUP)
    assert result.stdout.endswith(
        "13 messages, 0 new, 2024-03-12 → 2024-03-13 (this very file was imported before: not read again)\n"
    )


def test_chats_and_people_tables(run):
    run("import", GROUP)
    chats = run("chats").stdout.splitlines()
    assert chats[0].split() == ["ID", "Title", "Source", "People", "Messages", "First", "Last"]
    assert chats[1].split() == ["1", "android_dmy_24h_group", "whatsapp", "3", "13", "2024-03-12", "2024-03-13"]
    people = [line.split() for line in run("people").stdout.splitlines()]
    assert people == [
        ["Chat", "Name", "Messages", "Words", "First", "Last"],
        ["1", "android_dmy_24h_group", "Alex", "Martin", "4", "12", "2024-03-12", "2024-03-13"],
        ["1", "android_dmy_24h_group", "+44", "7700", "900123", "2", "15", "2024-03-12", "2024-03-12"],
        ["1", "android_dmy_24h_group", "Dr:Who", "🌀", "2", "11", "2024-03-12", "2024-03-13"],
    ]


def test_empty_workspace_says_how_to_start(run):
    assert run("chats").stdout == "No chats yet. Import one: gptisyou import 'WhatsApp Chat with Alex.zip'\n"


def test_show_previews_the_latest_messages(run):
    run("import", GROUP)
    result = run("show", "--chat", "1", "--last", "3")
    assert result.stdout == (
        "2024-03-13 18:31  · +44 7700 900123 left\n"
        "2024-03-13 18:32  Dr:Who 🌀: <media: IMG-20240313-WA0007.jpg> IMG-20240313-WA0007.jpg (file attached)\n"
        "                  Look at this view\n"
        "2024-03-13 18:33  Alex Martin: First line\n"
        "                  \n"
        "                  after a blank line\n"
    )


def test_show_json_gives_every_message(run):
    run("import", GROUP)
    lines = run("show", "--chat", "1", "--json").stdout.splitlines()
    expected = json.loads((FIXTURES / "whatsapp" / "expected.json").read_text())["android_dmy_24h_group.txt"]
    assert [json.loads(line) for line in lines] == [{"chat": 1, **message} for message in expected]


def test_show_needs_a_chat_when_there_are_several(run):
    run("import", GROUP, FRENCH)
    result = run("show")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: --chat is needed: the workspace has 2 chats (see gptisyou chats)\n",
    )
    result = run("show", "--chat", "9")
    assert (result.exit_code, result.stderr) == (2, "Error: no chat 9 in the workspace (known: 1, 2)\n")


def _zip_without_chat(path):
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("IMG-0001.jpg", b"\xff\xd8\xff")


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("empty.txt", lambda p: p.write_bytes(b""), "empty file, no messages to import"),
        ("photo.txt", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00"), "binary file, not a chat export"),
        ("media.zip", _zip_without_chat, "the zip archive holds no chat export gptisyou reads"),
        ("broken.zip", lambda p: p.write_bytes(b"PK\x03\x04 truncated"), "not a readable zip archive"),
        (
            "result.json",
            lambda p: p.write_text('{"name": "Alex", "messages": [{"text": "hi"}]}'),
            "a JSON file, but not an export of Telegram, Messenger, Instagram or Discord",
        ),
        ("notes.txt", lambda p: p.write_text("shopping list\n- milk\n- eggs\n"), "not a WhatsApp chat export"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_stores_nothing(run, workspace, tmp_path, name, make, reason):
    run("import", GROUP)
    bad = tmp_path / name
    make(bad)
    result = run("import", FRENCH, bad)  # every file is checked before any is imported
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}: {reason}")
    assert result.stderr.count("\n") == 1
    assert _message_count(workspace) == 13


def test_missing_file_is_a_usage_error(run, tmp_path):
    result = run("import", tmp_path / "nope.txt")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_undecidable_date_order_warns_and_can_be_overridden(run, tmp_path):
    export = tmp_path / "chat.txt"
    export.write_text("03/04/2021, 10:00 - Ann: hi\n", encoding="utf-8")
    result = run("import", export)
    assert "assumed day-first (use --date-order mdy if that is wrong)" in result.stderr
    assert "2021-04-03" in result.stdout
    result = run("import", "--date-order", "mdy", export)
    assert "2021-03-04" in result.stdout


def test_workspace_option_wins_over_the_environment(run, tmp_path, workspace):
    other = tmp_path / "elsewhere"
    run("--workspace", other, "import", GROUP)
    assert _message_count(other) == 13
    assert not workspace.exists()


def _every_command(group=None, prefix=()):
    from gptisyou.cli import cli

    group = group or cli
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if hasattr(command, "commands"):
            yield from _every_command(command, (*prefix, name))


@pytest.mark.parametrize("command", list(_every_command()), ids=" ".join)
def test_every_command_has_help(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: cli {' '.join(command)}")
    summary = result.stdout.split("\n\n")[1].strip()
    assert summary[:1].isupper()  # a sentence that says what the command does
    assert summary.endswith((".", ":", ")", "?"))
    listed = result.stdout.split("Options:")[1]
    for option in _command(command).params:
        if option.param_type_name == "option" and not option.hidden:
            assert option.opts[-1] in listed, f"{option.opts[-1]} is not in --help"


def _command(path: tuple[str, ...]):
    command = cli_module.cli
    for name in path:
        command = command.commands[name]
    return command


def test_there_are_all_the_commands_of_the_design():
    names = {" ".join(command) for command in _every_command()}
    assert names >= {
        "import",
        "chats",
        "people",
        "show",
        "dataset",
        "validate",
        "train",
        "runs",
        "chat",
        "ask",
        "serve",
        "eval",
        "openai",
        "openai train",
        "forget",
        "demo",
    }


def test_internal_error_is_one_line_with_a_hint(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr("gptisyou.store.database.Store.chats", broken)
    monkeypatch.setattr(sys, "argv", ["gptisyou", "chats"])
    monkeypatch.delenv("GPTISYOU_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli_module.main()
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == (
        "Error: internal error: ZeroDivisionError: oops (set GPTISYOU_DEBUG=1 for the traceback)\n"
    )


def test_cli_import_stays_light():
    code = f"import sys, gptisyou.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_names_and_texts_are_printed_literally_never_as_markup(run, tmp_path):
    from datetime import datetime, timedelta

    from gptisyou.messages import Message
    from gptisyou.sources import whatsapp_writer

    start = datetime(2024, 3, 1, 9)
    senders = ["Ann", "~ [/]", "[bold red]Eve[/]"]
    messages = [Message(senders[i % 3], start + timedelta(minutes=i), f"hi [/] \x1b[2J {i}") for i in range(6)]
    path = tmp_path / "WhatsApp Chat with \x1b[31mgroup.txt"
    whatsapp_writer.write_file(messages, path, whatsapp_writer.VARIANTS[0])
    imported = run("import", path)
    assert imported.exit_code == 0, imported.output
    assert "\x1b" not in imported.output
    assert "\\x1b[31mgroup" in imported.stdout
    people = run("people")
    assert people.exit_code == 0, people.output
    assert "~ [/]" in people.stdout
    assert "[bold red]Eve[/]" in people.stdout
    shown = run("show", "--chat", "1")
    assert "hi [/] \\x1b[2J 0" in shown.stdout
    assert "\x1b" not in shown.stdout


def test_a_reply_is_printed_literally_in_the_repl():
    import io

    from rich.console import Console

    from gptisyou.cli.talk import _speak

    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    assert _speak(console, "[b]Ann", iter(["[red]hi[/red] ", "\x1b[2Jthere"])) == "[red]hi[/red] \x1b[2Jthere"
    assert out.getvalue() == "[b]Ann: [red]hi[/red] \\x1b[2Jthere\n"


def test_import_bounds_what_a_zip_may_unpack_to(run, tmp_path, workspace):
    import zipfile

    archive = tmp_path / "WhatsApp Chat with Bob.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("WhatsApp Chat with Bob.txt", "01/02/2023, 10:00 - Ann: hi\n" * 60_000)  # 1.7 MB
    refused = run("import", "--max-unzipped-mb", "1", archive)
    assert refused.exit_code == 2
    assert "unpacks to 2 MB, over the 1 MB limit (--max-unzipped-mb raises it)" in refused.stderr
    assert run("import", archive).exit_code == 0


def test_chats_remove_says_what_it_deletes_and_asks_first(run, workspace):
    run("import", GROUP, FRENCH)
    refused = run("chats", "--remove", "2", input="n\n")
    assert refused.exit_code == 3
    assert "chat 2 'android_fr' (whatsapp): 5 messages from 2 people, 2017-07-12 → 2017-07-13" in refused.stderr
    assert _message_count(workspace) == 18
    removed = run("chats", "--remove", "2", input="y\n")
    assert removed.exit_code == 0, removed.output
    assert _message_count(workspace) == 13
    assert [line.split()[0] for line in run("chats").stdout.splitlines()[1:]] == ["1"]
    assert run("chats", "--remove", "9", "--yes").stderr == "Error: no chat 9 in the workspace (known: 1)\n"


def test_newlines_and_bidi_overrides_in_names_are_shown_escaped(run, tmp_path):
    path = tmp_path / "chat.csv"
    path.write_text(
        'author,date,body\n"Eve\u202egnp.exe",2024-01-01T10:00:00,hi\n"two\nlines",2024-01-01T10:01:00,yo\n',
        encoding="utf-8",
    )
    assert run("import", path).exit_code == 0
    shown = run("people").stdout
    assert "Eve\\u202egnp.exe" in shown
    assert "two\\nlines" in shown
    assert "\u202e" not in shown


@pytest.mark.parametrize("value", ["nan", "NaN"])
def test_a_number_that_is_not_finite_is_a_usage_error(run, value):
    """--style-strength nan passed the range check and export wrote NaN weights."""
    result = run("export", "--as", "Ann", "--to", "adapter", "-o", "x.zip", "--style-strength", value)
    assert result.exit_code == 2
    assert "is not a finite number" in result.stderr


def test_serve_on_an_address_it_cannot_listen_on_is_a_usage_error(run):
    """`serve --host 999.1.1.1` exited 3, the code of a consent not given."""
    result = run("serve", "--as", "Ann", "--host", "999.1.1.1")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --host 999.1.1.1 --port 8000: cannot listen there")
