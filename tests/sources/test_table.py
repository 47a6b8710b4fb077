"""Any app's messages as a CSV or JSON Lines table: columns found by their usual names or mapped with --columns."""

import json

import pytest

from gptisyou.errors import InputError, ParseError
from gptisyou.sources import detect, table
from gptisyou.sources.types import ParseReport, ReadOptions


def read(path, columns=()):
    return [
        (chat, list(messages)) for chat, messages in table.chats(path, ReadOptions(columns=columns), ParseReport())
    ]


def test_a_csv_with_usual_column_names_is_detected_and_read(tmp_path):
    path = tmp_path / "signal.csv"
    path.write_text(
        "date,author,message\n"
        '2024-03-01T09:00:00+01:00,Zoë,"morning, you"\n'
        '1709283660,Sam,"hey\nthere"\n'
        "1709283720000,,Sam changed the group name\n",
        encoding="utf-8",
    )
    assert detect(path)[0] == "table"
    [(chat, messages)] = read(path)
    assert chat.title == "signal"
    assert [(m.sender, m.timestamp.isoformat(), m.text, m.kind, m.line) for m in messages] == [
        ("Zoë", "2024-03-01T08:00:00", "morning, you", "text", 2),  # the offset, shown in the machine's zone
        ("Sam", "2024-03-01T09:01:00", "hey\nthere", "text", 4),  # epoch seconds; a quoted line break kept
        (None, "2024-03-01T09:02:00", "Sam changed the group name", "system", 5),  # epoch milliseconds
    ]


def test_json_lines_with_a_chat_column_and_a_column_mapping(tmp_path, run, workspace):
    path = tmp_path / "export.jsonl"
    rows = [
        {"who": "Ann", "when": "2024-01-01 10:00:00", "what": "hi", "room": "family"},
        {"who": "Bob", "when": "2024-01-01 10:01:00", "what": "yo", "room": "work"},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(InputError, match="map them with --columns"):
        read(path)
    chats = read(path, columns=(("sender", "who"), ("timestamp", "when"), ("text", "what"), ("chat", "room")))
    assert [(chat.title, [m.text for m in messages]) for chat, messages in chats] == [
        ("family", ["hi"]),
        ("work", ["yo"]),
    ]
    result = run("import", path, "--columns", "sender=who,timestamp=when,text=what,chat=room")
    assert result.exit_code == 0, result.output
    assert "'family'" in result.output
    bad = run("import", path, "--columns", "speaker=who")
    assert bad.exit_code == 2
    assert "expected FIELD=COLUMN" in bad.output


def test_a_bad_time_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "chat.csv"
    path.write_text("timestamp,sender,text\n2024-01-01T10:00:00,Ann,hi\nyesterday,Bob,yo\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"chat\.csv:3: 'timestamp' is not an ISO 8601 time"):
        read(path)


def test_a_mapped_column_the_file_does_not_have_is_an_error_listing_its_columns(tmp_path, run, workspace):
    """`--columns sender=Author` for `author` imported every row as a system line, and exited 0."""
    path = tmp_path / "chat.csv"
    path.write_text("author,date,body\nAnn,2024-01-01T10:00:00,hi\n", encoding="utf-8")
    result = run("import", "--columns", "sender=Author,timestamp=date,text=body", path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {path}: no column 'Author' (--columns sender=Author); its columns are 'author', 'date', 'body'\n"
    )
    assert run("chats").stdout.startswith("No chats")


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (b"author,date,body\nAnn,2024-01-01T10:00:00,ok\nAnn,2024-01-01T10:01:00,caf\xe9\n", 3, "not UTF-8 text"),
        (b'{"author": "Ann", "date": "2024-01-01T10:00:00", "body": "x"}\n[1, 2]\n', 2, "not a JSON object"),
        (b'{"author": "Ann", "date": "2024-01-01T10:00:00", "body": "x"}\n"text"\n', 2, "not a JSON object"),
    ],
)
def test_broken_rows_are_one_line_errors_with_the_line(tmp_path, content, line, reason):
    path = tmp_path / ("chat.jsonl" if content.startswith(b"{") else "chat.csv")
    path.write_bytes(content)
    with pytest.raises(ParseError, match=rf"chat\.(csv|jsonl):{line}: {reason}"):
        read(path)


def test_a_message_longer_than_csv_s_default_field_limit_is_read(tmp_path):
    story = "word " * 40_000  # 200 kB: Python's csv stops at 128 kB unless told
    path = tmp_path / "chat.csv"
    path.write_text(f'author,date,body\nAnn,2024-01-01T10:00:00,"{story}"\n', encoding="utf-8")
    [(_, [message])] = read(path)
    assert message.text == story


@pytest.mark.parametrize(
    "content",
    [
        "author,date,body\nAnn,2024-01-01T10:00:00,hi\n",
        '{"author": "Ann", "date": "2024-01-01T10:00:00", "body": "hi"}\n',
    ],
)
def test_a_byte_order_mark_is_skipped(tmp_path, content):
    path = tmp_path / "chat.txt"
    path.write_bytes(b"\xef\xbb\xbf" + content.encode())
    assert detect(path)[0] == "table"
    [(_, [message])] = read(path)
    assert (message.sender, message.text) == ("Ann", "hi")
