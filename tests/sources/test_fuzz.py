"""Every reader under hostile input (Hypothesis): valid small exports with a field of another type, a value out of
range, a truncation or a few bytes changed. An import either works or stops with a one-line GptisyouError, and
one that stops leaves the workspace as it was: "internal error" is never the answer to a file."""

import json
import os
import sqlite3
import tempfile
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gptisyou.errors import GptisyouError
from gptisyou.messages import Message
from gptisyou.sources import whatsapp_writer
from gptisyou.sources.types import DEFAULT_MAX_UNZIPPED_MB
from gptisyou.store import ingest
from gptisyou.store.database import Store
from tests.sources import exports

EXAMPLES = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# what a field may hold instead of what it should
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "nan", "9999-12-31T23:59:59+14:00", "0000-00-00", "\ud83d", "-1", "1e300", "{{", "\u202e"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@contextmanager
def _workspace():
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "workspace") as store:
        yield store, Path(folder)


def _counts(store: Store) -> tuple[int, ...]:
    return tuple(
        store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("chats", "people", "imports", "messages")
    )


def _imports_or_refuses(store: Store, path: Path) -> None:
    """A refusal is one line and stores nothing; an import stores what it says it added, and the same file read
    again adds nothing."""
    before = _counts(store)
    try:
        results = ingest.import_chats(store, path)
    except GptisyouError as error:
        refusal = str(error)
        assert "\n" not in refusal
        assert _counts(store) == before
        return
    assert _counts(store)[3] - before[3] == sum(result.messages_added for result in results)
    assert all(result.messages_added <= result.messages_read for result in results)
    # read again for real (another option than the first import's, so its fingerprint does not find it)
    again = ingest.import_chats(store, path, max_unzipped_mb=DEFAULT_MAX_UNZIPPED_MB + 1)
    assert [(result.already, result.messages_added) for result in again] == [(False, 0)] * len(results)
    assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _replace_somewhere(document, choices: list[int], value):
    """`document` with the value at the path `choices` picks (each an index into a container) replaced."""
    if not isinstance(document, dict | list) or not document or not choices:
        return value
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = keys[choices[0] % len(keys)]
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[key] = _replace_somewhere(document[key], choices[1:], value)
    return copy


PATHS = st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=6)


def _telegram() -> dict:
    return {
        "name": "Ann",
        "type": "personal_chat",
        "id": 42,
        "messages": [
            exports.telegram_message(1, "Ann", "hi"),
            exports.telegram_message(
                2, "Me", ["see ", {"type": "link", "text": "x.org"}], edited="2024-01-05T10:05:00"
            ),
            {**exports.telegram_message(3, "Ann", ""), "photo": "photos/1.jpg"},
            {"id": 4, "type": "service", "date": "2024-01-05T10:10:00", "actor": "Ann", "action": "pin_message"},
            {**exports.telegram_message(5, "Me", ""), "poll": {"question": "q?", "answers": [{"text": "a"}]}},
        ],
    }


def _messenger() -> dict:
    return {
        "participants": [{"name": "Ann"}, {"name": "Bob"}],
        "thread_path": "inbox/ann_1",
        "title": "Ann",
        "messages": [
            {"sender_name": "Ann", "timestamp_ms": 1704448800000, "content": "hi"},
            {"sender_name": "Bob", "timestamp_ms": 1704448860000, "photos": [{"uri": "p/1.jpg"}]},
            {"sender_name": "Ann", "timestamp_ms": 1704448920000, "share": {"link": "x.org"}},
            {"sender_name": "Bob", "timestamp_ms": 1704448980000, "content": "yo", "is_unsent": False},
        ],
    }


def _discord() -> dict:
    author = {"id": "5", "name": "ann", "nickname": "Ann"}
    return {
        "guild": {"id": "1", "name": "Direct Messages"},
        "channel": {"id": "9", "name": "ann"},
        "messages": [
            {
                "id": "1",
                "type": "Default",
                "timestamp": "2024-01-05T10:00:00+00:00",
                "content": "hi",
                "author": author,
            },
            {
                "id": "2",
                "type": "Reply",
                "timestamp": "2024-01-05T10:01:00+00:00",
                "content": "",
                "author": {"id": "6", "name": "bob"},
                "attachments": [{"fileName": "a.png"}],
                "timestampEdited": "2024-01-05T10:02:00+00:00",
            },
        ],
    }


JSON_EXPORTS = {"result.json": _telegram, "message_1.json": _messenger, "discord.json": _discord}


@pytest.mark.parametrize("name", JSON_EXPORTS)
@EXAMPLES
@given(choices=PATHS, value=ODD_VALUES)
def test_json_exports_with_a_field_of_another_type(name, choices, value):
    document = _replace_somewhere(JSON_EXPORTS[name](), choices, value)
    with _workspace() as (store, folder):
        path = folder / name
        path.write_text(json.dumps(document), encoding="utf-8")
        _imports_or_refuses(store, path)


def _whatsapp_bytes() -> bytes:
    start = datetime(2024, 3, 12, 9, 0)
    messages = [Message("Ann" if n % 2 else "Bob", start + timedelta(minutes=n), f"line {n} ✓") for n in range(8)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "WhatsApp Chat with Ann.txt"
        whatsapp_writer.write_file(messages, path, whatsapp_writer.VARIANTS_BY_NAME["android-dmy-24h"])
        return path.read_bytes()


def _sms_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        records = [
            {
                "address": "+15550001",
                "date": str(1_700_000_000_000 + n * 60_000),
                "type": "12"[n % 2],
                "body": f"text {n} &#55357;&#56832;",
                "contact_name": "Ann",
            }
            for n in range(6)
        ]
        return exports.sms_backup(Path(folder) / "sms.xml", records).read_bytes()


TEXT_EXPORTS = {
    "WhatsApp Chat with Ann.txt": _whatsapp_bytes,
    "sms.xml": _sms_bytes,
    "line.txt": lambda: (
        "[LINE] Chat history with Ann\nSaved on: 2024/01/10, 21:05\n\n2024/01/05(Fri)\n09:15\tAnn\thi\n"
        '09:16\tBob\t"two\nlines ""quoted"""\n09:17\tAnn\t[Sticker]\n09:18\tAnn unsent a message.\n'
        "\n2024/01/06(Sat)\n午後1:05\tBob\tyo\n"
    ).encode(),
    "chat.md": lambda: (
        b"[2024-01-05 09:15:02] Ann: hi  \n[2024-01-05 09:16:40] Me: \n\n> hi\n\nyo ![a.jpg](./media/a.jpg)  \n"
        b"(- Ann: x -)\n[2024-01-05 09:17:00] Ann: (This message was deleted)\n"
    ),
    "data.json": lambda: (
        b'{"date": "2024-01-05T09:15:02", "sender": "Ann", "body": "hi", "attachments": [], "deleted": false}\n'
        b'{"date": "2024-01-05T09:16:02+01:00", "sender": "Me", "body": "", "attachments": [{"name": "a.jpg"}]}\n'
    ),
    "messages.json": lambda: json.dumps(
        {
            "messages": [
                {
                    "creator": {"name": "Ann"},
                    "created_date": "Friday, January 5, 2024 at 9:15:02\u202fAM UTC",
                    "text": "hi",
                },
                {
                    "creator": {"name": "Bob"},
                    "created_date": "January 5, 2024 1:05 PM",
                    "attached_files": [{"original_name": "a.jpg"}],
                },
                {
                    "creator": {"name": "Ann"},
                    "created_date": "Friday, January 5, 2024 at 2:00:00\u202fPM UTC",
                    "message_state": "DELETED",
                },
            ]
        },
        ensure_ascii=False,
    ).encode(),
    "chat.csv": lambda: b'author,date,body\nAnn,2024-01-01T10:00:00,"hi, you"\nBob,1704103260,yo\n,1704103320000,x\n',
    "chat.jsonl": lambda: (
        b'{"author": "Ann", "date": "2024-01-01T10:00:00", "body": "hi"}\n'
        b'{"author": "Bob", "date": 1704103260, "body": "yo", "chat": "c"}\n'
    ),
}


@pytest.mark.parametrize("name", TEXT_EXPORTS)
@EXAMPLES
@given(data=st.data())
def test_text_exports_cut_short_or_with_a_few_bytes_changed(name, data):
    content = TEXT_EXPORTS[name]()
    cut = data.draw(st.integers(min_value=1, max_value=len(content)))
    at = data.draw(st.integers(min_value=0, max_value=cut - 1))
    patch = data.draw(st.binary(max_size=4) | st.sampled_from([b"\xff", b"\x00", b"&#56832;", b"<", b'"', b"\n"]))
    mutated = content[:at] + patch + content[at + len(patch) : cut]
    with _workspace() as (store, folder):
        path = folder / name
        path.write_bytes(mutated)
        _imports_or_refuses(store, path)


def _fits_in_a_cell(value) -> bool:
    """What Python's sqlite3 can write into a cell: no list or dict, no text that is not UTF-8."""
    return not isinstance(value, list | dict) and not (isinstance(value, str) and "\ud83d" in value)


COLUMNS = (
    "date",
    "is_from_me",
    "handle_id",
    "text",
    "associated_message_type",
    "attributedBody",
    "item_type",
    "cache_has_attachments",
)


@EXAMPLES
@given(
    row=st.integers(min_value=1, max_value=3),
    column=st.sampled_from(COLUMNS),
    value=st.one_of(ODD_VALUES.filter(_fits_in_a_cell), st.binary(max_size=8)),
)
def test_an_imessage_database_with_a_cell_of_another_type(row, column, value):
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        value = float(value)  # SQLite holds no larger integer
    with _workspace() as (store, folder):
        path = exports.imessage_db(
            folder / "chat.db",
            [{"text": "hi"}, {"text": "yo", "is_from_me": 1}, {"attributedBody": b"\x04\x0bstreamtyped"}],
        )
        with sqlite3.connect(path) as db:
            db.execute(f"UPDATE message SET {column} = ? WHERE ROWID = ?", (value, row))
        _imports_or_refuses(store, path)


@EXAMPLES
@given(choices=PATHS, value=ODD_VALUES)
def test_a_slack_export_with_a_field_of_another_type(choices, value):
    users = [{"id": "U1", "name": "ann", "profile": {"display_name": "Ann"}}, {"id": "U2", "real_name": "Bob"}]
    day = [
        {"type": "message", "user": "U1", "text": "hi <@U2>", "ts": "1700000000.0001"},
        {
            "type": "message",
            "user": "U2",
            "text": "look",
            "ts": "1700000060.0",
            "files": [{"name": "a.pdf"}],
            "edited": {"user": "U2"},
        },
        {"type": "message", "subtype": "channel_join", "user": "U2", "text": "joined", "ts": "1700000120.0"},
    ]
    document = _replace_somewhere({"users": users, "day": day}, choices, value)
    with _workspace() as (store, folder):
        day = document.get("day", []) if isinstance(document, dict) else document
        path = exports.slack_export(
            folder / "export.zip",
            {"general/2023-11-14.json": json.dumps(day)},
            users=document.get("users") if isinstance(document, dict) else None,
        )
        _imports_or_refuses(store, path)


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("result.json", lambda doc: doc["messages"][0].update({"from": 123})),
        ("discord.json", lambda doc: doc["messages"][1].update({"attachments": "x"})),
        ("discord.json", lambda doc: doc["messages"][0].update({"author": "ann"})),
        ("message_1.json", lambda doc: doc["messages"][1].update({"photos": "x"})),
        ("result.json", lambda doc: doc["messages"][0].update({"date": "9999-12-31T23:59:59-12:00"})),
    ],
)
def test_the_cases_found_by_hand_import_or_stop_in_one_line(run, tmp_path, name, change):
    """Each of these answered "internal error" (the reliability round's list)."""
    document = JSON_EXPORTS[name]()
    change(document)
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run("import", path)
    assert result.exit_code in (0, 2), result.output
    assert "internal error" not in result.output
    assert len(result.stderr.splitlines()) <= 1
