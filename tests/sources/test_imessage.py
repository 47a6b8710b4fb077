"""iMessage chat.db: read from a copy, never written; text from attributedBody; tapbacks are not messages."""

import hashlib
import sqlite3
from collections import Counter

import pytest

from gptisyou.errors import ParseError
from gptisyou.sources import detect, imessage
from gptisyou.sources.types import ParseReport, ReadOptions
from tests.sources import exports
from tests.sources.conftest import SOURCES, entries, needs_corpus

DATABASES = entries("imessage_chat_db_sqlite")


def read(path, me=None, report=None):
    chats = imessage.chats(path, ReadOptions(me=me), report or ParseReport())
    return [(chat, list(messages)) for chat, messages in chats]


@needs_corpus
@pytest.mark.parametrize("entry", DATABASES, ids=[entry["path"] for entry in DATABASES])
def test_each_database_is_detected_read_and_left_untouched(entry):
    path = SOURCES / entry["path"]
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert detect(path)[0] == "imessage"
    report = ParseReport()
    [(_, messages)] = read(path, report=report)
    assert len(messages) == entry["n_messages"] - 1  # the one tapback is a reaction
    assert report.warnings == [f"{path.name}: 1 tapback(s) are reactions, not messages, and were left out"]
    assert Counter(message.sender for message in messages)["Me"] == 12  # 13 rows, one of them the tapback
    assert messages[0].timestamp.isoformat() == entry["first_message"]["timestamp_utc"].removesuffix("Z")
    assert messages[0].text == entry["first_message"]["text"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.fixture
def written_db(tmp_path):
    """Texts only inside `attributedBody` (text NULL), as newer macOS versions store them, from a handle the
    database has, from the owner, and from a handle it lacks."""
    return exports.imessage_db(
        tmp_path / "chat.db",
        [
            {"attributedBody": exports.attributed_body("Woaaaaaah")},
            {"attributedBody": exports.attributed_body("No 💀 not worth "), "is_from_me": 1, "handle_id": 0},
            {"text": "who is this", "handle_id": 67},
            {"attributedBody": exports.attributed_body("long " * 40)},
        ],
        handles={1: "testemail@gmail.com"},
    )


def test_text_only_in_a_written_attributed_body_is_decoded_and_handles_name_people(written_db):
    [(chat, messages)] = read(written_db, me="Alex")
    assert chat.title == "testemail@gmail.com, handle 67"  # titled by the other people
    assert [(m.sender, m.text) for m in messages] == [
        ("testemail@gmail.com", "Woaaaaaah"),  # text NULL, the words only inside the archived NSAttributedString
        ("Alex", "No 💀 not worth "),
        ("handle 67", "who is this"),  # a handle the database lacks keeps its number: two unknowns stay apart
        ("testemail@gmail.com", "long " * 40),  # a length over 127 bytes, written in three
    ]


def test_contacts_name_the_handles_of_a_written_database(run, workspace, tmp_path, written_db):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("handle,name\ntestemail@gmail.com,Jordan\n+1 (555) 000-0001,Contact Alpha\n", encoding="utf-8")
    result = run("import", "--contacts", contacts, "--me", "Alex", written_db)
    assert result.exit_code == 0, result.output
    assert "chat 1 'Jordan, handle 67' (new)" in result.output
    backup = exports.sms_backup(
        tmp_path / "sms.xml", [{"address": "+15550000001", "date": "1700000000000", "body": "hello"}]
    )
    assert run("import", "--contacts", contacts, backup).exit_code == 0
    names = run("people").output
    assert "Jordan" in names
    assert "Contact Alpha" in names  # +15550000001 in the backup, written differently in the contacts
    bad = tmp_path / "bad.csv"
    bad.write_text("+15550000001\n", encoding="utf-8")
    assert run("import", "--contacts", bad, written_db).exit_code == 2


@needs_corpus
def test_text_only_in_attributed_body_is_decoded_and_handles_name_people():
    [(chat, messages)] = read(SOURCES / "imessage/langchain-community/imessage_chat.db", me="Alex")
    assert chat.title == "testemail@gmail.com"
    texts = [message.text for message in messages]
    assert "Woaaaaaah" in texts  # text NULL, the words only inside the archived NSAttributedString
    assert "No 💀 not worth " in texts
    assert {message.sender for message in messages} == {"Alex", "testemail@gmail.com"}


@needs_corpus
def test_handles_the_database_lacks_stay_apart():
    [(_, messages)] = read(SOURCES / "imessage/langchain-community/imessage_chat_upgrade_osx_11.db")
    assert Counter(message.sender for message in messages) == {"Me": 12, "handle 67": 9, "Unknown": 1}


def test_a_body_the_decoder_cannot_read_is_kept_as_a_placeholder_with_one_warning(tmp_path):
    """One attributedBody of another streamer version aborted the whole import."""
    path = exports.imessage_db(
        tmp_path / "chat.db",
        [
            {"text": "before"},
            {"attributedBody": b"\x04\x0bstreamtyp"},  # cut short
            {"attributedBody": b"not a typedstream at all"},
            {"text": "after", "is_from_me": 1},
        ],
    )
    report = ParseReport()
    [(_, messages)] = read(path, report=report)
    assert [m.text for m in messages] == ["before", imessage.UNREADABLE, imessage.UNREADABLE, "after"]
    assert report.warnings == [
        (f"chat.db: 2 message(s) whose text could not be decoded (rows 2, 3) were kept as '{imessage.UNREADABLE}'")
    ]


def test_a_message_table_that_is_a_view_is_refused(tmp_path):
    """A view over a recursive query never finished, ignored Ctrl-C and filled the temp space."""

    path = exports.imessage_db(tmp_path / "chat.db", [{"text": "hi"}])
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE message RENAME TO real_message")
        db.execute(
            "CREATE VIEW message AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
            "SELECT x AS ROWID, x AS date, 0 AS is_from_me, 1 AS handle_id, 'a' AS text, 0 AS "
            "associated_message_type, NULL AS attributedBody, 0 AS item_type, 0 AS cache_has_attachments FROM n"
        )
    assert not imessage.sniff(path)
    with pytest.raises(ParseError, match="its 'message' is not a table"):
        read(path)


def test_a_date_that_is_no_time_names_the_row(tmp_path):
    path = exports.imessage_db(tmp_path / "chat.db", [{"text": "hi"}, {"text": "far", "date": 1e300}])
    with pytest.raises(ParseError, match=r"chat\.db: message row 2: its date .* is no time"):
        read(path)


def test_too_many_rows_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(imessage, "MAX_ROWS", 2)
    path = exports.imessage_db(tmp_path / "chat.db", [{"text": f"m{n}"} for n in range(3)])
    with pytest.raises(ParseError, match="more than 2 messages"):
        read(path)


def test_a_self_made_database_is_detected_and_read(tmp_path):
    path = exports.imessage_db(
        tmp_path / "chat.db",
        [{"text": "hi"}, {"text": "yo", "is_from_me": 1}, {"text": "♥", "associated_message_type": 2000}],
    )
    assert detect(path)[0] == "imessage"
    [(chat, messages)] = read(path, me="Alex")
    assert chat.title == "+15550001"
    assert [(m.sender, m.text) for m in messages] == [("+15550001", "hi"), ("Alex", "yo")]


@needs_corpus
def test_contacts_name_handles_and_numbers(run, workspace, tmp_path):
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("handle,name\ntestemail@gmail.com,Jordan\n+1 (555) 000-0001,Contact Alpha\n", encoding="utf-8")
    result = run(
        "import", "--contacts", contacts, "--me", "Alex", SOURCES / "imessage/langchain-community/imessage_chat.db"
    )
    assert result.exit_code == 0, result.output
    assert "chat 1 'Jordan' (new)" in result.output
    sms = run(
        "import", "--contacts", contacts, SOURCES / "sms_backup_restore/devadvance-sms-backup-reader-2/sms_small.xml"
    )
    assert sms.exit_code == 0, sms.output
    names = run("people").output
    assert "Jordan" in names
    assert "Contact Alpha" in names  # +15550000001 in the backup, written differently in the contacts
    bad = tmp_path / "bad.csv"
    bad.write_text("+15550000001\n", encoding="utf-8")
    assert run("import", "--contacts", bad, SOURCES / "imessage/langchain-community/imessage_chat.db").exit_code == 2


def test_ctrl_c_stops_a_query_sqlite_is_running(tmp_path):
    """A query that never ends (as a crafted database's could) ignored Ctrl-C."""
    import _thread
    import threading
    import time

    db = imessage._opened(exports.imessage_db(tmp_path / "chat.db", [{"text": "hi"}]))
    threading.Timer(0.3, _thread.interrupt_main).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        imessage._read(db, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) FROM n")
    assert time.monotonic() - started < 10


def test_a_body_that_is_no_typedstream_but_holds_an_nsstring_is_read_as_the_common_heuristic_does(tmp_path):
    long_text = "long " * 60  # 300 bytes: the length takes 0x81 and two bytes
    short = b"\x00\x01other junk NSString\x01\x94\x84\x01+" + bytes([5]) + b"hello\x86\x84\x02iI"
    longer = (
        b"junk NSString\x01\x94\x84\x01+\x81" + len(long_text).to_bytes(2, "little") + long_text.encode() + b"\x86"
    )
    path = exports.imessage_db(
        tmp_path / "chat.db",
        [
            {"attributedBody": short},
            {"attributedBody": longer},
            {"attributedBody": b"junk NSString\x01\x94\x84\x01+\x40cut"},  # says 64 bytes, holds 3: unreadable
        ],
    )
    [(_, messages)] = read(path)
    assert [m.text for m in messages] == ["hello", long_text, imessage.UNREADABLE]
