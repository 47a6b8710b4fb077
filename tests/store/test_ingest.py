import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from gptisyou.errors import InputError, ParseError
from gptisyou.messages import Message
from gptisyou.sources import whatsapp_writer
from gptisyou.store import ingest
from gptisyou.store.database import Store
from tests.conftest import FIXTURES

ANDROID = whatsapp_writer.VARIANTS_BY_NAME["android-dmy-24h"]
GROUP = FIXTURES / "whatsapp" / "android_dmy_24h_group.txt"


def _conversation(count: int, start=datetime(2023, 3, 14, 9, 0)) -> list[Message]:
    return [
        Message("Ann" if i % 3 else "Bob", start + timedelta(minutes=7 * i), f"message number {i}")
        for i in range(count)
    ]


def _export(tmp_path, name: str, messages: list[Message]):
    path = tmp_path / name
    whatsapp_writer.write_file(messages, path, ANDROID)
    return path


def _counts(store: Store) -> tuple[int, int, int, int]:
    return tuple(
        store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("chats", "people", "imports", "messages")
    )


@pytest.fixture
def store(workspace):
    with Store.open(workspace) as opened:
        yield opened


def test_import_stores_every_message_with_people(store):
    result = ingest.import_file(store, GROUP)
    assert (result.messages_read, result.messages_added, result.new_chat) == (13, 13, True)
    assert [(p.name, p.messages) for p in store.people()] == [
        ("Alex Martin", 4),
        ("+44 7700 900123", 2),
        ("Dr:Who 🌀", 2),
    ]
    stored = [m.to_dict() for m in store.messages(result.chat_id)]
    assert stored == [m.to_dict() for m in ingest.sources.whatsapp.parse(GROUP)]


def test_importing_the_same_file_twice_adds_nothing(store):
    first = ingest.import_file(store, GROUP)
    again = ingest.import_file(store, GROUP)
    assert (again.chat_id, again.new_chat, again.messages_read, again.messages_added) == (first.chat_id, False, 13, 0)
    assert (again.first, again.last) == (first.first, first.last)
    assert again.already  # found by its fingerprint: not read again
    assert _counts(store) == (1, 3, 1, 13)
    read_again = ingest.import_file(store, GROUP, keep_partial=True)  # read another way: read again, adds nothing
    assert (read_again.already, read_again.messages_read, read_again.messages_added) == (False, 13, 0)
    assert _counts(store) == (1, 3, 2, 13)


def test_a_file_is_read_again_when_a_chat_of_it_was_removed_or_it_changed(store, tmp_path):
    path = _export(tmp_path, "WhatsApp Chat with Ann.txt", _conversation(10))
    first = ingest.import_file(store, path)
    store.remove_chat(first.chat_id)
    again = ingest.import_file(store, path)
    assert (again.already, again.new_chat, again.messages_added) == (False, True, 10)
    _export(tmp_path, "WhatsApp Chat with Ann.txt", _conversation(12))  # the same name, two messages more
    newer = ingest.import_file(store, path)
    assert (newer.already, newer.messages_read, newer.messages_added) == (False, 12, 2)


def test_newer_export_adds_only_the_new_messages(store, tmp_path):
    messages = _conversation(50)
    old = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Ann.txt", messages[:30]))
    new = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Ann (2).txt", messages))
    assert (new.chat_id, new.new_chat, new.messages_read, new.messages_added) == (old.chat_id, False, 50, 20)
    assert [m.text for m in store.messages(old.chat_id)] == [m.text for m in messages]


def test_truncated_newer_export_still_finds_its_chat(store, tmp_path):
    messages = _conversation(50)
    old = ingest.import_file(store, _export(tmp_path, "chat-2023.txt", messages[:30]))
    new = ingest.import_file(store, _export(tmp_path, "chat-2024.txt", messages[20:]))
    assert (new.chat_id, new.messages_added) == (old.chat_id, 20)


def test_exact_duplicates_are_kept_and_recognised_on_reimport(store, tmp_path):
    at = datetime(2023, 3, 14, 9, 0)
    twice = [Message("Ann", at, "haha"), Message("Ann", at, "haha"), Message("Bob", at, "what")]
    first = ingest.import_file(store, _export(tmp_path, "a.txt", twice))
    assert first.messages_added == 3
    thrice = [*twice, Message("Ann", at, "haha")]
    assert ingest.import_file(store, _export(tmp_path, "b.txt", thrice)).messages_added == 1
    assert ingest.import_file(store, _export(tmp_path, "b.txt", thrice)).messages_added == 0
    assert [m.text for m in store.messages(first.chat_id)].count("haha") == 3


def test_out_of_order_duplicates_keep_their_ordinals(store, tmp_path):
    at = datetime(2023, 3, 14, 9, 0)
    rows = [
        Message("Ann", at, "ok"),
        Message("Bob", at + timedelta(minutes=5), "later"),
        Message("Ann", at, "ok"),  # delivered late: older than the line above
        Message("Ann", at, "ok"),
    ]
    path = _export(tmp_path, "late.txt", rows)
    assert ingest.import_file(store, path).messages_added == 4
    assert ingest.import_file(store, path).messages_added == 0
    ordinals = store.db.execute("SELECT ordinal FROM messages WHERE text = 'ok' ORDER BY line").fetchall()
    assert ordinals == [(0,), (1,), (2,)]


def test_unrelated_chat_gets_its_own_chat(store, tmp_path):
    ingest.import_file(store, GROUP)
    other = ingest.import_file(store, FIXTURES / "whatsapp" / "android_fr.txt")
    assert (other.chat_id, other.new_chat) == (2, True)


def test_same_title_and_people_without_overlap_is_the_same_chat(store, tmp_path):
    messages = _conversation(40)
    old = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Ann.txt", messages[:20]))
    new = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Ann (3).txt", messages[25:]))
    assert (new.chat_id, new.new_chat) == (old.chat_id, False)


def test_chat_can_be_chosen(store, tmp_path):
    ingest.import_file(store, GROUP)
    result = ingest.import_file(store, FIXTURES / "whatsapp" / "android_fr.txt", chat_id=1)
    assert (result.chat_id, result.new_chat) == (1, False)
    with pytest.raises(InputError, match=r"no chat 7 in the workspace \(known: 1\)"):
        ingest.import_file(store, GROUP, chat_id=7)


@pytest.mark.parametrize("failure", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failure_midway_leaves_the_store_as_before(store, tmp_path, monkeypatch, failure):
    ingest.import_file(store, GROUP)
    before = _counts(store)
    real_parse = ingest.sources.whatsapp.parse

    def failing_parse(*args, **kwargs):
        for index, message in enumerate(real_parse(*args, **kwargs)):
            if index == 30:
                raise failure
            yield message

    monkeypatch.setattr(ingest.sources.whatsapp, "parse", failing_parse)
    expected = ParseError if isinstance(failure, RuntimeError) else type(failure)  # a reader's failure: the file's
    with pytest.raises(expected):
        ingest.import_file(store, _export(tmp_path, "big.txt", _conversation(100)))
    assert _counts(store) == before


def test_broken_file_leaves_the_store_as_before(store, tmp_path):
    ingest.import_file(store, GROUP)
    before = _counts(store)
    path = _export(tmp_path, "broken.txt", _conversation(200))
    path.write_bytes(path.read_bytes() + b"14/03/2023, 23:00 - Ann: \xff\xfe\n")
    with pytest.raises(ParseError, match=r"broken.txt:201: not UTF-8 text"):
        ingest.import_file(store, path)
    assert _counts(store) == before


def test_killed_import_leaves_the_store_as_before(workspace, tmp_path):
    """A real crash: the importing process is SIGKILLed halfway through its transaction."""
    with Store.open(workspace) as store:
        ingest.import_file(store, GROUP)
        before = _counts(store)
    path = _export(tmp_path, "killed.txt", _conversation(12000))
    script = f"""
import os, signal
from gptisyou.store import ingest
from gptisyou.store.database import Store
real_parse = ingest.sources.whatsapp.parse
def dying_parse(*args, **kwargs):
    for index, message in enumerate(real_parse(*args, **kwargs)):
        if index == 11000:  # two batches already staged inside the transaction
            os.kill(os.getpid(), signal.SIGKILL)
        yield message
ingest.sources.whatsapp.parse = dying_parse
ingest.import_file(Store.open({str(workspace)!r}), {str(path)!r})
"""
    process = subprocess.run([sys.executable, "-c", script], check=False, env=os.environ.copy(), capture_output=True)
    assert process.returncode == -signal.SIGKILL
    with Store.open(workspace) as store:
        assert _counts(store) == before
        assert store.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_an_export_of_many_chats_imports_each_in_one_transaction(store, tmp_path, monkeypatch):
    """The `Source` interface the next formats implement: one export, several chats, all or nothing."""
    from types import SimpleNamespace

    from gptisyou import sources
    from gptisyou.sources.types import Chat

    def chats(path, options, report, progress=None):
        for index, title in enumerate(("Alex", "Family")):
            at = datetime(2024, 1, 1 + index, 9)
            yield (
                Chat(title, title),
                iter([Message("Me", at, f"hi {title}", line=1), Message(title, at, "hey", line=2)]),
            )

    export = tmp_path / "account-export.json"
    export.write_text("{}")
    fake = SimpleNamespace(sniff=lambda path: path.suffix == ".json", chats=chats)
    monkeypatch.setattr(sources, "SOURCES", (("fake", fake), *sources.SOURCES))
    monkeypatch.setattr(sources, "check_is_text", lambda source: None)
    results = ingest.import_chats(store, export)
    assert [(r.chat_title, r.messages_added) for r in results] == [("Alex", 2), ("Family", 2)]
    assert [chat.source for chat in store.chats()] == ["fake", "fake"]
    assert [r.messages_added for r in ingest.import_chats(store, export)] == [0, 0]  # each finds its own chat again


def test_a_message_forwarded_to_two_chats_without_ids_does_not_merge_them(store, tmp_path):
    forwarded = Message("Ann", datetime(2023, 3, 14, 9, 0), "look at this: a forwarded joke")
    with_bob = [forwarded, *_conversation(30, start=datetime(2023, 3, 14, 9, 1))]
    with_cat = [
        Message("Cat", datetime(2023, 3, 13, 9, 0), "hello"),
        forwarded,
        *(Message("Cat" if i % 2 else "Ann", datetime(2023, 3, 14, 10, i), f"other {i}") for i in range(30)),
    ]
    first = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Bob.txt", with_bob))
    second = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Cat.txt", with_cat))
    assert (second.new_chat, second.messages_added) == (True, 32)
    assert second.chat_id != first.chat_id


def test_the_app_s_chat_id_decides_even_when_messages_are_shared(store, tmp_path):
    """Two chats with ids that share a message (a forward) stay two; the same id finds its chat again."""
    from tests.sources import exports

    forward = exports.telegram_message(1, "Me", "forwarded to both of you")
    ann = exports.telegram_chat(tmp_path / "ann.json", [forward, exports.telegram_message(2, "Ann", "thanks")], 1)
    bob = exports.telegram_chat(tmp_path / "bob.json", [forward, exports.telegram_message(2, "Bob", "ha")], 2, "Bob")
    ids = [ingest.import_file(store, path).chat_id for path in (ann, bob, ann, bob)]
    assert ids == [1, 2, 1, 2]
    assert [chat.messages for chat in store.chats()] == [2, 2]


def test_a_chat_imported_without_an_id_is_found_by_a_later_export_with_one(store, tmp_path):
    from tests.sources import exports

    messages = [exports.telegram_message(n, "Ann" if n % 2 else "Me", f"line {n}") for n in range(1, 9)]
    old = ingest.import_file(store, exports.telegram_chat(tmp_path / "old.json", messages[:6], chat_id=None))
    new = ingest.import_file(store, exports.telegram_chat(tmp_path / "new.json", messages, chat_id=77))
    assert (new.chat_id, new.messages_added) == (old.chat_id, 2)
    assert store.db.execute("SELECT source_key FROM chats").fetchall() == [("telegram:77",)]


def test_removing_a_chat_deletes_its_messages_people_and_imports_and_nothing_else(store, tmp_path):
    keep = ingest.import_file(store, GROUP)
    gone = ingest.import_file(store, FIXTURES / "whatsapp" / "android_fr.txt")
    before = _counts(store)
    store.remove_chat(gone.chat_id)
    assert [chat.id for chat in store.chats()] == [keep.chat_id]
    assert _counts(store) == (1, before[1] - 2, 1, 13)
    with pytest.raises(InputError, match="no chat 2 in the workspace"):
        store.remove_chat(gone.chat_id)


def test_one_shared_line_does_not_merge_two_chats(store, tmp_path):
    """Chat A ends on Ann's broadcast at midnight, chat B starts with it: two chats, and the user is told why."""
    broadcast = Message("Ann", datetime(2024, 1, 1, 0, 0), "Happy new year everyone!! 🎉")
    with_ben = [
        *(Message("Ben" if i % 2 else "Ann", datetime(2023, 12, 31, 20, i), f"ben {i}") for i in range(20)),
        broadcast,
    ]
    with_cat = [
        broadcast,
        *(Message("Cat" if i % 2 else "Ann", datetime(2024, 1, 1, 0, i + 1), f"cat {i}") for i in range(20)),
    ]
    first = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Ben.txt", with_ben))
    second = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Cat.txt", with_cat))
    assert (second.new_chat, second.messages_added) == (True, 21)
    assert [sorted(person.name for person in store.people(chat)) for chat in (first.chat_id, second.chat_id)] == [
        ["Ann", "Ben"],
        ["Ann", "Cat"],
    ]


def test_a_chat_sharing_several_lines_but_with_someone_new_is_not_joined_without_being_told(store, tmp_path):
    shared = [Message("Ann", datetime(2024, 1, 1, 0, i), f"forwarded {i}") for i in range(5)]
    with_ben = [*(Message("Ben", datetime(2023, 12, 31, 20, i), f"ben {i}") for i in range(3)), *shared]
    with_cat = [*shared, Message("Cat", datetime(2024, 1, 1, 1, 0), "who is this")]
    first = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Ben.txt", with_ben))
    second = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Cat.txt", with_cat))
    assert second.new_chat
    assert second.notes == (
        (
            f"shares messages with chat {first.chat_id}, but Cat never wrote there: imported as a chat of its own (if "
            f"it is the same chat, remove this one and import again with --chat {first.chat_id})"
        ),
    )
    store.remove_chat(second.chat_id)
    told = ingest.import_file(store, _export(tmp_path, "again.txt", with_cat), chat_id=first.chat_id)
    assert (told.chat_id, told.messages_added) == (first.chat_id, 1)


def test_a_newer_export_still_joins_its_chat(store, tmp_path):
    messages = _conversation(60)
    old = ingest.import_file(store, _export(tmp_path, "a.txt", messages[:40]))
    new = ingest.import_file(store, _export(tmp_path, "b.txt", messages[30:]))
    assert (new.chat_id, new.new_chat, new.messages_added, new.notes) == (old.chat_id, False, 20, ())


def test_a_line_edited_since_the_last_import_replaces_the_stored_one_and_says_so(store, tmp_path):
    messages = _conversation(30)
    old = ingest.import_file(store, _export(tmp_path, "a.txt", messages))
    edited = [
        *messages[:10],
        messages[10]._replace(text="message number 10, edited"),
        *messages[11:],
        Message("Ann", messages[-1].timestamp + timedelta(minutes=1), "one more"),
    ]
    new = ingest.import_file(store, _export(tmp_path, "b.txt", edited))
    assert (new.chat_id, new.messages_added) == (old.chat_id, 1)
    changed = "1 message(s) already imported changed in this file (same sender and time, new text): the newer text"
    assert new.notes == (f"{changed} replaces the older",)
    texts = [text for (text,) in store.db.execute("SELECT text FROM messages ORDER BY ts, id")]
    assert len(texts) == 31
    assert "message number 10, edited" in texts
    assert "message number 10" not in texts
    assert ingest.import_file(store, _export(tmp_path, "c.txt", edited)).messages_added == 0


def test_a_group_s_newer_export_with_a_new_member_joins_it_by_its_title_and_people(store, tmp_path):
    older = [Message(("Ann", "Ben", "Dan")[i % 3], datetime(2024, 1, 1, 9, i), f"plan {i}") for i in range(12)]
    newer = [*older, *(Message(("Ann", "Cat")[i % 2], datetime(2024, 1, 2, 9, i), f"hello {i}") for i in range(4))]
    first = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Trip.txt", older))
    second = ingest.import_file(store, _export(tmp_path, "WhatsApp Chat with Trip (2).txt", newer))
    assert (second.chat_id, second.new_chat, second.messages_added, second.notes) == (first.chat_id, False, 4, ())
