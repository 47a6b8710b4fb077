"""Facebook Messenger and Instagram JSON: detected by content, mojibake repaired in every string, oldest first."""

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from gptisyou.errors import ParseError
from gptisyou.sources import detect, messenger
from gptisyou.sources.types import ParseReport, ReadOptions
from tests.sources.conftest import SOURCES, entries, needs_corpus

META = entries("facebook_messenger_json", "instagram_dm_json")


def read(path: Path):
    [(chat, messages)] = messenger.chats(path, ReadOptions(), ParseReport())
    return chat, list(messages)


def mojibake(text: str) -> str:
    """How Meta writes `text`: each UTF-8 byte as the Latin-1 character of the same number."""
    return text.encode("utf-8").decode("latin-1")


@needs_corpus
@pytest.mark.parametrize("entry", META, ids=[entry["path"] for entry in META])
def test_each_export_is_detected_and_read_as_its_manifest_says(entry):
    path = SOURCES / entry["path"]
    assert detect(path)[0] == "messenger"
    _, messages = read(path)
    assert len(messages) == entry["n_messages"]
    senders = Counter(message.sender or mojibake("Jane Doe") for message in messages)  # the join line: system
    assert senders == Counter({messenger.repaired(s["sender"]): s["count"] for s in entry["senders"]})
    assert messages == sorted(messages, key=lambda message: message.timestamp)  # oldest first
    for message, expected in ((messages[0], entry["first_message"]), (messages[-1], entry["last_message"])):
        at = datetime.fromisoformat(expected["timestamp_utc"].removesuffix("Z"))
        assert message.timestamp == at
        # the manifest breaks ties in file order; we read a tie newest first, as the file is (see below)
        assert any(messenger.repaired(expected["text"]) in m.text for m in messages if m.timestamp == at)


@needs_corpus
def test_names_and_texts_are_repaired_exactly_emoji_included():
    chat, messages = read(SOURCES / "instagram/joweich-chat-miner/testlog.json")
    assert chat.title == "Test Log"
    assert "J❤️hn Doe" in {message.sender for message in messages}
    assert "Testing message with emoji: ❤️" in [message.text for message in messages]
    assert messenger.repaired("already fine: é ❤️") == "already fine: é ❤️"  # a repaired file stays as it is
    family = "👩\u200d👩\u200d👧 Zoë"
    assert messenger.repaired(mojibake(family)) == family  # a ZWJ sequence, byte for byte


def test_what_each_entry_becomes(tmp_path):
    thread = {
        "participants": [{"name": mojibake("Zoë")}, {"name": "Sam"}],
        "title": mojibake("Zoë"),
        "thread_path": "inbox/zoe_123",
        "messages": [  # newest first, as Meta writes them
            {
                "sender_name": "Sam",
                "timestamp_ms": 1700000005000,
                "content": "https://x.example",
                "share": {"link": "https://x.example"},
            },
            {"sender_name": mojibake("Zoë"), "timestamp_ms": 1700000004000, "content": "oops", "is_unsent": True},
            {
                "sender_name": "Sam",
                "timestamp_ms": 1700000003000,
                "photos": [{"uri": "messages/inbox/zoe_123/photos/1.jpg"}],
                "content": "look",
            },
            {
                "sender_name": mojibake("Zoë"),
                "timestamp_ms": 1700000002000,
                "reactions": [{"reaction": mojibake("❤️"), "actor": "Sam"}],
            },
            {
                "sender_name": "Sam",
                "timestamp_ms": 1700000001000,
                "content": "Sam called you.",
                "type": "Call",
                "call_duration": 3,
            },
            {"sender_name": mojibake("Zoë"), "timestamp_ms": 1700000000000, "content": mojibake("ça va ? 😀")},
        ],
    }
    path = tmp_path / "message_1.json"
    path.write_text(json.dumps(thread), encoding="utf-8")
    chat, messages = read(path)
    assert (chat.key, chat.title) == ("meta:inbox/zoe_123", "Zoë")
    assert [(m.sender, m.kind, m.text, m.attachment) for m in messages] == [
        ("Zoë", "text", "ça va ? 😀", None),
        (None, "system", "Sam called you.", None),
        ("Zoë", "deleted", "", None),  # only a reaction: reactions are not messages
        ("Sam", "media", "photo omitted\nlook", "1.jpg"),
        ("Zoë", "deleted", "oops", None),
        ("Sam", "media", "link omitted\nhttps://x.example", "https://x.example"),
    ]


def _thread(path: Path, messages: list[dict]) -> Path:
    thread = {
        "participants": [{"name": "Allan"}, {"name": "John"}],
        "title": "John",
        "thread_path": "inbox/john_1",
        "messages": messages,
    }
    path.write_text(json.dumps(thread, indent=1), encoding="utf-8")
    return path


def test_messages_at_the_same_moment_keep_the_export_s_newest_first_meaning(tmp_path):
    path = _thread(
        tmp_path / "message_1.json",
        [
            {"sender_name": "Allan", "timestamp_ms": 1700000000000, "content": "Hello John"},
            {"sender_name": "John", "timestamp_ms": 1700000000000, "content": "Hello Allan"},
        ],
    )
    # one millisecond for both: the later entry in the file is the older message
    assert [message.text for message in read(path)[1]] == ["Hello Allan", "Hello John"]


def test_a_cut_off_export_is_a_one_line_error(tmp_path, run, workspace):
    written = [
        {
            "sender_name": "Allan" if n % 2 else "John",
            "timestamp_ms": 1700000000000 - n * 1000,
            "content": f"message {n}",
        }
        for n in range(20)
    ]
    whole = _thread(tmp_path / "whole.json", written).read_text(encoding="utf-8")
    path = tmp_path / "message_1.json"
    path.write_text(whole[: len(whole) // 2], encoding="utf-8")
    with pytest.raises(ParseError, match=r"message_1\.json: not valid JSON"):
        read(path)
    result = run("import", path)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1


def test_the_title_after_the_messages_is_found_past_look_alikes_in_them(tmp_path):
    """Meta writes `title` and `thread_path` after the messages: found in the bytes, never in a message's text or
    a field of a message (a share's `title`)."""
    messages = [
        {
            "sender_name": "John",
            "timestamp_ms": 1700000000000 - n,
            "content": f'"title": "no {n}" \\"title\\":',
            "share": {"link": "https://x.example", "title": "not the thread"},
        }
        for n in range(3000)
    ]
    thread = {
        "participants": [{"name": "Allan"}, {"name": "John"}],
        "messages": messages,
        "title": mojibake("Zoë & co"),
        "is_still_participant": True,
        "thread_path": "inbox/zoe_9",
    }
    path = tmp_path / "message_1.json"
    path.write_text(json.dumps(thread, indent=2), encoding="utf-8")  # 500 KB: the fields lie past many reads
    chat, read_messages = read(path)
    assert (chat.key, chat.title) == ("meta:inbox/zoe_9", "Zoë & co")
    assert len(read_messages) == 3000
    del thread["title"], thread["thread_path"]
    path.write_text(json.dumps(thread), encoding="utf-8")
    assert read(path)[0].title == "Allan and John"  # no title: the participants


def test_a_title_of_megabytes_or_cut_off_is_a_one_line_error_and_stores_nothing(tmp_path, run, workspace):
    """The title follows the messages (as Meta writes it): read from the bytes, it is bounded and checked."""
    thread = {
        "participants": [{"name": "John"}],
        "messages": [{"sender_name": "John", "timestamp_ms": 1700000000000, "content": "hi"}],
        "title": "x" * 1_500_000,
        "thread_path": "inbox/john_1",
    }
    huge = tmp_path / "message_1.json"
    huge.write_text(json.dumps(thread), encoding="utf-8")
    whole = json.dumps(thread | {"title": "John"})
    cut = tmp_path / "message_2.json"
    cut.write_text(whole[: whole.index('"title"') + len('"title": "Jo')], encoding="utf-8")
    for path, reason in ((huge, "its field 'title' takes over 1 MB"), (cut, "not valid JSON in its field 'title'")):
        result = run("import", path)
        assert result.exit_code == 2
        assert result.output.count("\n") == 1
        assert path.name in result.output
        assert reason in result.output
    assert "John" not in run("chats").output
