"""Slack workspace export zips: conversations, one name per person, system subtypes, markup as a reader saw it."""

import json
import zipfile

import pytest

from gptisyou.errors import InputError
from gptisyou.sources import detect, slack
from gptisyou.sources.types import ParseReport, ReadOptions
from tests.sources.conftest import SOURCES, entries, needs_corpus

EXPORT = SOURCES / "slack/langchain-community/slack_export.zip"
pytestmark = needs_corpus


def read(path, options: ReadOptions | None = None):
    chats = slack.chats(path, options or ReadOptions(), ParseReport())
    return [(chat, list(messages)) for chat, messages in chats]


def test_the_corpus_export_is_detected_and_read_as_its_manifest_says():
    [entry] = entries("slack_export_zip")
    assert detect(EXPORT)[0] == "slack"
    chats = read(EXPORT)
    assert [chat.title for chat, _ in chats] == ["#example-channel", "#general", "#random"]
    messages = [message for _, chat_messages in chats for message in chat_messages]
    assert len(messages) == entry["n_messages"]
    # one user id is one person: "someUser" and "exampleuser" in the manifest are the same U0500003428
    assert {message.sender for message in messages if message.kind != "system"} == {"Example User"}
    [join] = [message for message in messages if message.kind == "system"]
    assert join.text == "@Example User has joined the channel"
    first = min(messages, key=lambda message: message.timestamp)
    assert first.timestamp.isoformat() == entry["first_message"]["timestamp_utc"].removesuffix("Z")
    assert first.text == entry["first_message"]["text"]


def test_markup_is_read_as_a_person_saw_it():
    people = {"U1": "Zoë"}
    text = "<@U1> see <https://example.com|the doc> in <#C9|general> &amp; <!here> &lt;3 <https://x.example>"
    assert slack.readable(text, people) == "@Zoë see the doc in #general & @here <3 https://x.example"


def test_direct_messages_files_edits_and_bots(tmp_path):
    path = tmp_path / "export.zip"
    day = [
        {"type": "message", "user": "U1", "text": "hi <@U2>", "ts": "1700000000.000100"},
        {"type": "message", "user": "U2", "text": "look", "ts": "1700000060.000200", "edited": {"user": "U2"},
         "files": [{"name": "plan.pdf"}]},
        {"type": "message", "subtype": "bot_message", "bot_id": "B1", "text": "build passed", "ts": "1700000120.0"},
    ]  # fmt: skip
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("users.json", json.dumps([{"id": "U1", "name": "zoe", "profile": {"display_name": "Zoë"}},
                                                   {"id": "U2", "name": "sam", "real_name": "Sam Lee"}]))  # fmt: skip
        archive.writestr("dms.json", json.dumps([{"id": "D1", "name": "D1", "members": ["U1", "U2"]}]))
        archive.writestr("D1/2023-11-14.json", json.dumps(day))
    [(chat, messages)] = read(path)
    assert (chat.key, chat.title) == ("slack:D1", "Zoë, Sam Lee")
    assert [(m.sender, m.kind, m.text, m.edited) for m in messages] == [
        ("Zoë", "text", "hi @Sam Lee", False),
        ("Sam Lee", "media", "plan.pdf\nlook", True),
        (None, "system", "build passed", False),
    ]
    with pytest.raises(InputError, match="more than --max-unzipped-mb"):
        read(path, ReadOptions(max_unzipped_bytes=100))
