"""iMessage chat.db: read from a copy, never written; text from attributedBody; tapbacks are not messages."""

import hashlib
import sqlite3
from collections import Counter

import pytest

from gptisyou.errors import ParseError
from gptisyou.sources import detect, imessage
from gptisyou.sources.types import ParseReport, ReadOptions
from tests.sources.conftest import SOURCES, entries, needs_corpus

DATABASES = entries("imessage_chat_db_sqlite")
pytestmark = needs_corpus


def read(path, me=None, report=None):
    chats = imessage.chats(path, ReadOptions(me=me), report or ParseReport())
    return [(chat, list(messages)) for chat, messages in chats]


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


def test_text_only_in_attributed_body_is_decoded_and_handles_name_people():
    [(chat, messages)] = read(SOURCES / "imessage/langchain-community/imessage_chat.db", me="Alex")
    assert chat.title == "testemail@gmail.com"
    texts = [message.text for message in messages]
    assert "Woaaaaaah" in texts  # text NULL, the words only inside the archived NSAttributedString
    assert "No 💀 not worth " in texts
    assert {message.sender for message in messages} == {"Alex", "testemail@gmail.com"}


def test_handles_the_database_lacks_stay_apart():
    [(_, messages)] = read(SOURCES / "imessage/langchain-community/imessage_chat_upgrade_osx_11.db")
    assert Counter(message.sender for message in messages) == {"Me": 12, "handle 67": 9, "Unknown": 1}


def test_a_damaged_attributed_body_names_the_file_and_row(tmp_path):
    path = tmp_path / "chat.db"
    path.write_bytes((SOURCES / "imessage/langchain-community/imessage_chat.db").read_bytes())
    with sqlite3.connect(path) as db:
        db.execute("UPDATE message SET attributedBody = x'040b73747265616d747970' WHERE ROWID = 241485")
    with pytest.raises(ParseError, match=r"chat\.db: message row 241485: attributedBody is not a readable"):
        read(path)


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
