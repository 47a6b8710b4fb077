"""SMS Backup & Restore XML: one chat per set of numbers, the owner named with --me, MMS parts, duplicates and a
backup cut off mid-record."""

from collections import Counter

import pytest

from gptisyou.errors import ParseError
from gptisyou.sources import detect, sms
from gptisyou.sources.types import ParseReport, ReadOptions
from tests.sources.conftest import SOURCES, entries, needs_corpus

SMS = entries("sms_backup_restore_xml")
FOLDER = SOURCES / "sms_backup_restore"
pytestmark = needs_corpus


def read(path, me=None, report=None):
    chats = sms.chats(path, ReadOptions(me=me), report or ParseReport())
    return [(chat, list(messages)) for chat, messages in chats]


def _manifest_sender(sender: str) -> str:
    """The manifest writes "Contact A <+1555…>" and "<self>"; we name a contact, else the number, and the owner."""
    if sender == "<self>":
        return "Me"
    name, _, number = sender.partition(" <")
    return number.rstrip(">") if name == "(Unknown)" else name


@pytest.mark.parametrize("entry", SMS, ids=[entry["path"] for entry in SMS])
def test_each_backup_is_detected_and_read_as_its_manifest_says(entry):
    path = SOURCES / entry["path"]
    assert detect(path)[0] == "sms"
    messages = [message for _, chat in read(path) for message in chat]
    duplicates = 1 if path.name == "sms-dupes.xml" else 0  # left out: see below
    assert len(messages) == entry["n_messages"] - duplicates
    expected = Counter()
    for sender in entry["senders"]:
        expected[_manifest_sender(sender["sender"])] += sender["count"]
    got = Counter(message.sender for message in messages)
    assert sum(got.values()) == sum(expected.values()) - duplicates
    assert set(got) <= set(expected) | {"Max Mustermann"}  # an MMS sender named from the one-to-one chat
    ordered = sorted(messages, key=lambda message: message.timestamp)
    assert ordered[0].timestamp.isoformat() == entry["first_message"]["timestamp_utc"].removesuffix("Z")
    assert ordered[-1].timestamp.isoformat() == entry["last_message"]["timestamp_utc"].removesuffix("Z")


def test_chats_are_sets_of_numbers_and_the_owner_is_named_with_me():
    chats = read(FOLDER / "fkleon-sms-backup-manager/sms-and-mms.xml", me="Alex Martin")
    assert [(chat.key, chat.title) for chat, _ in chats] == [
        ("sms:+4915112313123", "Test Contact"),
        ("sms:+491762345678", "Max Mustermann"),
        ("sms:+12121234567~+49215111111", "Max Mustermann, Erika Musterfrau"),  # a group MMS, "~"-joined
    ]
    sent, photo, group = (messages[0] for _, messages in chats)
    assert (sent.sender, sent.text) == ("Alex Martin", "Klar ")  # type 2: the owner's
    assert (photo.sender, photo.kind, photo.attachment) == ("Max Mustermann", "media", "IMG_32751.jpg")
    assert (group.sender, group.text) == ("Alex Martin", "Where is Santa Clause?")  # the SMIL part is layout


def test_a_group_mms_is_from_its_sender_address_not_the_chat_s():
    backup = read(FOLDER / "devadvance-sms-backup-reader-2/sms_and_mms.xml")
    [group] = [messages for chat, messages in backup if chat.title == "group_8@rcs.google.com"]
    assert [message.sender for message in group] == ["+15550000009", "Me", "+15550000010"]


def test_duplicates_are_left_out_with_a_warning():
    report = ParseReport()
    chats = read(FOLDER / "fkleon-sms-backup-manager/sms-dupes.xml", report=report)
    texts = Counter(message.text for _, messages in chats for message in messages)
    assert texts["Duplicate text."] == 1
    assert report.warnings == ["sms-dupes.xml: 1 record(s) the backup app wrote twice were left out"]


def test_a_backup_cut_off_mid_record_keeps_the_complete_records_and_names_the_line(run, workspace):
    result = run("import", FOLDER / "devadvance-sms-backup-reader-2/sms_and_mms.xml")
    assert result.exit_code == 0, result.output
    assert "sms_and_mms.xml:136: the file breaks off" in result.output
    assert "the 49 complete records before it were imported" in result.output
    assert result.output.count("warning:") == 1  # once per file, not once per chat


def test_an_xml_file_that_is_not_a_backup_is_a_one_line_error(tmp_path):
    path = tmp_path / "backup.xml"
    path.write_text("<?xml version='1.0'?>\n<smses count='1'>\n<sms date='x' type='1'", encoding="utf-8")
    with pytest.raises(ParseError, match=r"backup\.xml:3: not an SMS Backup & Restore file"):
        read(path)
