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
    rows = [{"who": "Ann", "when": "2024-01-01 10:00:00", "what": "hi", "room": "family"},
            {"who": "Bob", "when": "2024-01-01 10:01:00", "what": "yo", "room": "work"}]  # fmt: skip
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
