"""Google Chat as Takeout exports it: messages.json with group_info.json beside it, read exactly."""

import json
from datetime import UTC, datetime

import pytest

from gptisyou.sources import detect
from gptisyou.sources.types import shown
from gptisyou.store.database import Store

ALICE, BOB = {"name": "Alice", "email": "alice@example.com", "user_type": "Human"}, {"name": "Bob", "email": "b@x.org"}
MESSAGES = [
    {
        "creator": ALICE,
        "created_date": "Friday, January 5, 2024 at 9:15:02\u202fAM UTC",
        "text": "Good morning",
        "annotations": [{"start_index": 0, "length": 4}],
        "topic_id": "t1",
        "message_id": "m1",
    },
    {
        "creator": BOB,
        "created_date": "Friday, January 5, 2024 at 1:05:00\u202fPM UTC",
        "text": "look",
        "attached_files": [{"original_name": "IMG_1.jpg", "export_name": "File-IMG_1.jpg"}],
        "message_id": "m2",
    },
    {
        "creator": ALICE,
        "created_date": "Friday, January 5, 2024 at 11:59:59\u202fPM UTC",
        "message_state": "DELETED",
        "deleted_date": "Friday, January 5, 2024 at 11:59:59\u202fPM UTC",
        "message_id": "m3",
    },
    {
        "creator": BOB,
        "created_date": "Saturday, January 6, 2024 at 12:00:00\u202fAM UTC",
        "text": "line one\nline two",
        "message_id": "m4",
    },
]


def _export(tmp_path, messages=MESSAGES, info=None):
    folder = tmp_path / "Google Chat" / "Groups" / "DM abc123"
    folder.mkdir(parents=True)
    (folder / "messages.json").write_text(json.dumps({"messages": messages}, indent=2, ensure_ascii=False))
    info = info or {"members": [ALICE, BOB]}
    (folder / "group_info.json").write_text(json.dumps(info))
    return folder / "messages.json"


def _local(*fields) -> datetime:
    return shown(datetime(*fields, tzinfo=UTC), None)


def test_a_takeout_conversation_reads_exactly_and_once(run, tmp_path, workspace):
    path = _export(tmp_path)
    assert detect(path)[0] == "googlechat"
    assert run("import", path).exit_code == 0
    assert run("import", tmp_path / "Google Chat").exit_code == 0  # the folder, walked: nothing new
    with Store.open(workspace) as store:
        [chat] = store.chats()
        stored = [(m.sender, m.timestamp, m.text, m.kind, m.attachment) for m in store.messages(chat.id)]
    assert chat.title == "Alice, Bob"
    assert stored == [
        ("Alice", _local(2024, 1, 5, 9, 15, 2), "Good morning", "text", None),
        ("Bob", _local(2024, 1, 5, 13, 5), "IMG_1.jpg\nlook", "media", "IMG_1.jpg"),
        ("Alice", _local(2024, 1, 5, 23, 59, 59), "(deleted)", "deleted", None),
        ("Bob", _local(2024, 1, 6, 0, 0), "line one\nline two", "text", None),
    ]


def test_a_space_is_titled_after_its_name(run, tmp_path, workspace):
    assert run("import", _export(tmp_path, info={"name": "Family", "members": [ALICE, BOB]})).exit_code == 0
    with Store.open(workspace) as store:
        assert [chat.title for chat in store.chats()] == ["Family"]


@pytest.mark.parametrize("date", ["someday", "Friday, Smarch 5, 2024 at 9:15:02 AM UTC", "January 32, 2024 9:15 AM"])
def test_an_unreadable_date_is_one_line_and_stores_nothing(run, tmp_path, workspace, date):
    path = _export(tmp_path, [MESSAGES[0], {**MESSAGES[1], "created_date": date}])
    result = run("import", path)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith(f"Error: {path}: message 2: no readable 'created_date'")
    with Store.open(workspace) as store:
        assert store.chats() == []
