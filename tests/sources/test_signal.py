"""Signal chats as signal-export writes them: chat.md and data.json, read exactly, the JSON preferred."""

import json
from datetime import datetime

import pytest

from gptisyou.sources import detect
from gptisyou.store.database import Store

_MARKDOWN_LINES = (
    "[2024-01-05 09:15:02] Alice: Good morning  ",
    "[2024-01-05 09:16:40] Me: ",
    "",
    "> Good morning",
    "",
    "morning!",
    "second line  ![IMG_1.jpg](./media/IMG_1.jpg)  ",
    "(- Alice: ❤️ -)",
    "[2024-01-05 09:17:00] Alice: (This message was deleted)",
    "[2024-01-05 09:18:00] Alice:   ",
    "(( 👍 ))",
    "[2024-01-05 21:00:00] Me: see you  ",
    "",
)
MARKDOWN = "\n".join(_MARKDOWN_LINES)  # trailing spaces kept: signal-export writes them

RECORDS = [
    {
        "date": "2024-01-05T09:15:02",
        "sender": "Alice",
        "body": "Good morning  ",
        "quote": "",
        "sticker": "",
        "reactions": [],
        "attachments": [],
        "deleted": False,
        "call": False,
        "missed": False,
    },
    {
        "date": "2024-01-05T09:16:40",
        "sender": "Me",
        "body": "morning!\nsecond line  ",
        "quote": "\n\n> Good morning\n\n",
        "sticker": "",
        "reactions": [["Alice", "❤️"]],
        "attachments": [{"name": "IMG_1.jpg", "path": "media/IMG_1.jpg"}],
        "deleted": False,
        "call": False,
        "missed": False,
    },
    {
        "date": "2024-01-05T09:17:00",
        "sender": "Alice",
        "body": "",
        "quote": "",
        "sticker": "",
        "reactions": [],
        "attachments": [],
        "deleted": True,
        "call": False,
        "missed": False,
    },
    {
        "date": "2024-01-05T09:18:00",
        "sender": "Alice",
        "body": "  ",
        "quote": "",
        "sticker": "👍",
        "reactions": [],
        "attachments": [],
        "deleted": False,
        "call": False,
        "missed": False,
    },
    {
        "date": "2024-01-05T21:00:00",
        "sender": "Me",
        "body": "Incoming voice call (accepted, 2m 3s)  ",
        "quote": "",
        "sticker": "",
        "reactions": [],
        "attachments": [],
        "deleted": False,
        "call": True,
        "missed": False,
    },
]

EXPECTED = [
    ("Alice", datetime(2024, 1, 5, 9, 15, 2), "Good morning", "text", None),
    ("Sam", datetime(2024, 1, 5, 9, 16, 40), "IMG_1.jpg\nmorning!\nsecond line", "media", "IMG_1.jpg"),
    ("Alice", datetime(2024, 1, 5, 9, 17), "(This message was deleted)", "deleted", None),
    ("Alice", datetime(2024, 1, 5, 9, 18), "sticker 👍", "media", None),
]


def _chat(tmp_path, markdown: bool = True, records: bool = False):
    folder = tmp_path / "Alice"
    folder.mkdir()
    if markdown:
        (folder / "chat.md").write_text(MARKDOWN, encoding="utf-8")
    if records:
        (folder / "data.json").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS))
    return folder


def _stored(workspace) -> list[tuple]:
    with Store.open(workspace) as store:
        [chat] = store.chats()
        assert chat.title == "Alice"
        return [(m.sender, m.timestamp, m.text, m.kind, m.attachment) for m in store.messages(chat.id)]


@pytest.mark.parametrize("records", [False, True], ids=["chat.md", "data.json"])
def test_a_signal_export_reads_exactly_and_once(run, tmp_path, workspace, records):
    folder = _chat(tmp_path, markdown=not records, records=records)
    path = folder / ("data.json" if records else "chat.md")
    assert detect(path)[0] == "signal"
    result = run("import", "--me", "Sam", path)
    assert result.exit_code == 0, result.output
    stored = _stored(workspace)
    assert stored[:4] == EXPECTED
    last = ("Sam", datetime(2024, 1, 5, 21), "Incoming voice call (accepted, 2m 3s)", "system", None)
    assert stored[4] == (last if records else ("Sam", datetime(2024, 1, 5, 21), "see you", "text", None))
    assert run("import", "--me", "Sam", path).exit_code == 0
    assert len(_stored(workspace)) == 5  # the second import added nothing


def test_the_json_is_read_where_it_is_beside_the_markdown(run, tmp_path, workspace):
    folder = _chat(tmp_path, markdown=True, records=True)
    assert run("import", "--me", "Sam", folder / "chat.md").exit_code == 0
    assert _stored(workspace)[4][3] == "system"  # the call, which only data.json says is one


def test_a_damaged_record_is_one_line_naming_its_line_and_stores_nothing(run, tmp_path, workspace):
    folder = _chat(tmp_path, markdown=False, records=True)
    lines = (folder / "data.json").read_text().splitlines()
    lines[2] = lines[2].replace('"2024-01-05T09:17:00"', '"yesterday"')
    (folder / "data.json").write_text("\n".join(lines) + "\n")
    result = run("import", folder / "data.json")
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith(f"Error: {folder / 'data.json'}:3: not a signal-export")
    with Store.open(workspace) as store:
        assert store.chats() == []


def test_a_line_separator_inside_a_record_does_not_split_it(run, tmp_path, workspace):
    folder = tmp_path / "Alice"
    folder.mkdir()
    record = {**RECORDS[0], "body": "one\u2028two"}
    (folder / "data.json").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    assert run("import", folder / "data.json").exit_code == 0
    assert [text for _, _, text, _, _ in _stored(workspace)] == ["one\u2028two"]
