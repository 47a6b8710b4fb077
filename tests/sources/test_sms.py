"""SMS Backup & Restore XML: one chat per set of numbers, the owner named with --me, MMS parts, duplicates and a
backup cut off mid-record."""

from collections import Counter

import pytest

from gptisyou.errors import ParseError
from gptisyou.sources import detect, sms
from gptisyou.sources.types import ParseReport, ReadOptions
from gptisyou.store.database import Store
from tests.sources import exports
from tests.sources.conftest import SOURCES, entries, needs_corpus

SMS = entries("sms_backup_restore_xml")
FOLDER = SOURCES / "sms_backup_restore"


def read(path, me=None, report=None, keep_partial=False):
    chats = sms.chats(path, ReadOptions(me=me, keep_partial=keep_partial), report or ParseReport())
    return [(chat, list(messages)) for chat, messages in chats]


def _manifest_sender(sender: str) -> str:
    """The manifest writes "Contact A <+1555…>" and "<self>"; we name a contact, else the number, and the owner."""
    if sender == "<self>":
        return "Me"
    name, _, number = sender.partition(" <")
    return number.rstrip(">") if name == "(Unknown)" else name


@needs_corpus
@pytest.mark.parametrize("entry", SMS, ids=[entry["path"] for entry in SMS])
def test_each_backup_is_detected_and_read_as_its_manifest_says(entry):
    path = SOURCES / entry["path"]
    assert detect(path)[0] == "sms"
    messages = [message for _, chat in read(path, keep_partial=True) for message in chat]
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


def _written_backup(path):
    """A backup with a sent SMS, a received MMS photo, a group MMS and a record the app wrote twice."""
    return exports.sms_backup(
        path,
        [
            {
                "address": "+4915112313123",
                "date": "1700000000000",
                "type": "2",
                "body": "Klar ",
                "contact_name": "Test Contact",
            },
            exports.mms(
                "+491762345678",
                1700000060000,
                1,
                "+491762345678",
                [{"ct": "image/jpeg", "cl": "IMG_32751.jpg", "name": "IMG_32751.jpg"}],
                "Max Mustermann",
            ),
            exports.mms(
                "+12121234567~+49215111111",
                1700000120000,
                2,
                None,
                [{"ct": "text/plain", "text": "Where is Santa Clause?"}],
                "Max Mustermann, Erika Musterfrau",
            ),
            exports.mms(
                "+12121234567~+49215111111",
                1700000180000,
                1,
                "+49215111111",
                [{"ct": "text/plain", "text": "North Pole"}],
                "Max Mustermann, Erika Musterfrau",
            ),
            {
                "address": "+4915112313123",
                "date": "1700000240000",
                "type": "1",
                "body": "Duplicate text.",
                "contact_name": "Test Contact",
            },
            {
                "address": "+4915112313123",
                "date": "1700000240000",
                "type": "1",
                "body": "Duplicate text.",
                "contact_name": "Test Contact",
            },
        ],
    )


def test_a_written_backup_s_chats_are_sets_of_numbers_and_the_owner_is_named_with_me(tmp_path):
    report = ParseReport()
    chats = read(_written_backup(tmp_path / "sms-and-mms.xml"), me="Alex Martin", report=report)
    assert [(chat.key, chat.title) for chat, _ in chats] == [
        ("sms:+4915112313123", "Test Contact"),
        ("sms:+491762345678", "Max Mustermann"),
        ("sms:+12121234567~+49215111111", "Max Mustermann, Erika Musterfrau"),  # a group MMS, "~"-joined
    ]
    [sent, duplicate], [photo], [mine, theirs] = (messages for _, messages in chats)
    assert (sent.sender, sent.text) == ("Alex Martin", "Klar ")  # type 2: the owner's
    assert (photo.sender, photo.kind, photo.attachment) == ("Max Mustermann", "media", "IMG_32751.jpg")
    assert (mine.sender, mine.text) == ("Alex Martin", "Where is Santa Clause?")  # the SMIL part is layout
    assert theirs.sender == "+49215111111"  # a group MMS is from its sender's address, not the chat's
    assert duplicate.text == "Duplicate text."  # once
    assert report.warnings == ["sms-and-mms.xml: 1 record(s) the backup app wrote twice were left out"]


@needs_corpus
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


@needs_corpus
def test_a_group_mms_is_from_its_sender_address_not_the_chat_s():
    backup = read(FOLDER / "devadvance-sms-backup-reader-2/sms_and_mms.xml", keep_partial=True)
    [group] = [messages for chat, messages in backup if chat.title == "group_8@rcs.google.com"]
    assert [message.sender for message in group] == ["+15550000009", "Me", "+15550000010"]


@needs_corpus
def test_duplicates_are_left_out_with_a_warning():
    report = ParseReport()
    chats = read(FOLDER / "fkleon-sms-backup-manager/sms-dupes.xml", report=report)
    texts = Counter(message.text for _, messages in chats for message in messages)
    assert texts["Duplicate text."] == 1
    assert report.warnings == ["sms-dupes.xml: 1 record(s) the backup app wrote twice were left out"]


@needs_corpus
def test_a_backup_cut_off_mid_record_keeps_the_complete_records_and_names_the_line(run, workspace):
    result = run("import", FOLDER / "devadvance-sms-backup-reader-2/sms_and_mms.xml", "--keep-partial")
    assert result.exit_code == 0, result.output
    assert "sms_and_mms.xml:136: the file breaks off" in result.output
    assert "the 49 before it were imported" in result.output
    assert result.output.count("warning:") == 1  # once per file, not once per chat


def test_an_xml_file_that_is_not_a_backup_is_a_one_line_error(tmp_path):
    path = tmp_path / "backup.xml"
    path.write_text("<?xml version='1.0'?>\n<smses count='1'>\n<sms date='x' type='1'", encoding="utf-8")
    with pytest.raises(ParseError, match=r"backup\.xml:3: not an SMS Backup & Restore file"):
        read(path)


def _texts(path, **options):
    return {chat.title: [message.text for message in messages] for chat, messages in read(path, **options)}


def _received(address: str, seconds: int, body: str) -> dict:
    return {"address": address, "date": str(1_700_000_000_000 + 1000 * seconds), "type": "1", "body": body}


def test_an_emoji_written_as_two_surrogate_references_is_read_as_the_emoji(tmp_path):
    path = exports.sms_backup(
        tmp_path / "sms.xml",
        [
            _received("+15550001", 1, "look &#55357;&#56832; here"),
            _received("+15550001", 2, "hex &#xD83D;&#xDE00; too"),
            _received("+15550001", 3, "half &#55357; of one"),
            _received("+15550001", 4, "and the rest is kept"),
        ],
    )
    assert _texts(path) == {"+15550001": ["look 😀 here", "hex 😀 too", "half \ufffd of one", "and the rest is kept"]}


@pytest.mark.parametrize("chunk", [7, 16, 29, 64, 200])
def test_surrogate_pairs_cut_by_a_chunk_s_end_are_still_joined(tmp_path, monkeypatch, chunk):
    records = [_received("+15550001", n, f"n{n} &#55357;&#56832;&#128512;&#x1F600; end") for n in range(20)]
    path = exports.sms_backup(tmp_path / "sms.xml", records)
    monkeypatch.setattr(sms, "_CHUNK", chunk)
    assert _texts(path) == {"+15550001": [f"n{n} 😀😀😀 end" for n in range(20)]}


def _cut_off(tmp_path):
    path = exports.sms_backup(tmp_path / "sms.xml", [_received("+15550001", n, f"text {n}") for n in range(10)])
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"text 6")])  # the 7th record is cut in the middle
    return path


def test_a_backup_that_breaks_off_is_refused_with_what_would_be_kept_and_lost(tmp_path, run, workspace):
    result = run("import", _cut_off(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path / 'sms.xml'}:9: the file breaks off (unclosed token): 6 complete records before it, "
        "4 after it; nothing was imported (--keep-partial imports the 6)\n"
    )
    assert run("chats").stdout.startswith("No chats")


def test_keep_partial_imports_the_records_before_the_break_and_says_so(tmp_path, run):
    result = run("import", "--keep-partial", _cut_off(tmp_path))
    assert result.exit_code == 0, result.output
    assert "6 messages read, 6 new" in result.stdout
    assert (
        "sms.xml:9: the file breaks off (unclosed token): 6 complete records before it, 4 after it; the 6 "
        "before it were imported" in result.stderr
    )


def test_a_text_sent_to_two_people_at_once_leaves_their_chats_apart(tmp_path, run, workspace):
    """Item 1 of the reliability round: one shared message (a broadcast) merged two chats of one backup."""
    sent = {"date": "1700000100000", "type": "2", "body": "Happy new year!"}
    path = exports.sms_backup(
        tmp_path / "sms.xml",
        [
            _received("+15550001", 1, "hi from Ann"),
            {**sent, "address": "+15550001"},
            _received("+15550002", 2, "hi from Bob"),
            {**sent, "address": "+15550002"},
        ],
    )
    assert run("import", path).exit_code == 0
    assert run("import", path).stdout.count(" 0 new") == 2  # and a re-import finds each chat again
    with Store.open(workspace) as store:
        assert [(chat.title, chat.messages) for chat in store.chats()] == [("+15550001", 2), ("+15550002", 2)]


def test_a_terminated_import_removes_its_spool_and_stores_nothing(tmp_path, workspace):
    """SIGTERM left the spool (every text of the backup) in /tmp: it now lives in the workspace and goes."""
    import os
    import signal
    import subprocess
    import sys

    path = exports.sms_backup(tmp_path / "sms.xml", [_received("+15550001", n, f"text {n}") for n in range(50)])
    script = f"""
import os, signal, sys
from gptisyou import cli
from gptisyou.sources import sms
real_add = sms._Spool.add
def dying_add(self, record):
    real_add(self, record)
    if record.line == 30:
        os.kill(os.getpid(), signal.SIGTERM)
sms._Spool.add = dying_add
sys.argv = ["gptisyou", "import", {str(path)!r}]
cli.main()
"""
    process = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), capture_output=True, check=False)
    assert process.returncode == 128 + signal.SIGTERM, process.stderr
    assert list((workspace / "scratch").iterdir()) == []
    with Store.open(workspace) as store:
        assert store.chats() == []


def test_a_spool_left_by_a_killed_import_is_removed_by_the_next(tmp_path, workspace, run):
    path = exports.sms_backup(tmp_path / "sms.xml", [_received("+15550001", 1, "hi")])
    run("import", path)
    (workspace / "scratch" / "999999999-sms-left").mkdir()  # no process has this id
    (workspace / "scratch" / "999999999-sms-left" / "records.db").write_text("every text")
    run("import", path)
    assert list((workspace / "scratch").iterdir()) == []
