"""Slack workspace export zips: conversations, one name per person, system subtypes, markup as a reader saw it."""

import json
import zipfile

import pytest

from gptisyou.errors import InputError, ParseError
from gptisyou.sources import detect, slack
from gptisyou.sources.types import ParseReport, ReadOptions
from tests.sources import exports
from tests.sources.conftest import SOURCES, entries, needs_corpus

EXPORT = SOURCES / "slack/langchain-community/slack_export.zip"


def read(path, options: ReadOptions | None = None):
    chats = slack.chats(path, options or ReadOptions(), ParseReport())
    return [(chat, list(messages)) for chat, messages in chats]


@needs_corpus
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
        {
            "type": "message",
            "user": "U2",
            "text": "look",
            "ts": "1700000060.000200",
            "edited": {"user": "U2"},
            "files": [{"name": "plan.pdf"}],
        },
        {"type": "message", "subtype": "bot_message", "bot_id": "B1", "text": "build passed", "ts": "1700000120.0"},
    ]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "users.json",
            json.dumps(
                [
                    {"id": "U1", "name": "zoe", "profile": {"display_name": "Zoë"}},
                    {"id": "U2", "name": "sam", "real_name": "Sam Lee"},
                ]
            ),
        )
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


def _said(user: str, seconds: float, text: str, **fields) -> dict:
    return {"type": "message", "user": user, "text": text, "ts": f"{1_700_000_000 + seconds:.6f}", **fields}


def test_days_are_read_in_order_and_entries_that_are_not_messages_are_left_out_and_counted(tmp_path):
    path = exports.slack_export(
        tmp_path / "export.zip",
        {
            "general/2023-11-15.json": [_said("U2", 90_000, "second day"), {}, [], "text", None],
            "general/2023-11-14.json": [_said("U1", 60, "later"), {"ts": "1700000000.0"}, _said("U2", 0, "first")],
        },
    )
    report = ParseReport()
    [(_, messages)] = [(chat, list(messages)) for chat, messages in slack.chats(path, ReadOptions(), report)]
    assert [(m.sender, m.text, m.line) for m in messages] == [
        ("Bob", "first", 1),
        ("Ann", "later", 2),
        ("Bob", "second day", 3),
    ]
    assert report.warnings == ["export.zip: 5 entries that are not messages were left out"]


def test_a_small_zip_that_unpacks_to_a_flood_of_entries_is_refused(tmp_path, monkeypatch):
    """A 32 KB zip of `{}` entries made 10 million rows; now a day holds at most MAX_DAY_ENTRIES."""
    monkeypatch.setattr(slack, "MAX_DAY_ENTRIES", 1_000)
    flood = "[" + ",".join(["{}"] * 1_001) + "]"
    path = exports.slack_export(tmp_path / "export.zip", {"general/2023-11-14.json": flood})
    with pytest.raises(ParseError, match=r"export.zip: general/2023-11-14.json: more than 1,000 entries in one day"):
        read(path)


def test_an_export_over_the_total_bound_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(slack, "MAX_ENTRIES", 5)
    days = {f"general/2023-11-{day}.json": [_said("U1", day * 86_400, "hi")] * 2 for day in range(10, 14)}
    with pytest.raises(ParseError, match="in all: not a Slack export gptisyou reads"):
        read(exports.slack_export(tmp_path / "export.zip", days))


@pytest.mark.parametrize("ts", ["nan", "inf", "x", None, 1e300, [1]])
def test_an_unreadable_ts_is_a_one_line_error_naming_the_day_and_entry(tmp_path, ts):
    path = exports.slack_export(
        tmp_path / "export.zip", {"general/2023-11-14.json": [_said("U1", 0, "ok"), {"type": "message", "ts": ts}]}
    )
    with pytest.raises(ParseError, match=r"export.zip: general/2023-11-14.json: entry 2: no readable 'ts'"):
        read(path)


def test_day_files_and_lists_saved_with_a_byte_order_mark_are_read(tmp_path):
    bom = b"\xef\xbb\xbf"
    path = exports.slack_export(
        tmp_path / "export.zip",
        {
            "general/2023-11-14.json": bom + json.dumps([_said("U1", 0, "hi")]).encode(),
        },
    )
    [(_, messages)] = read(path)
    assert [(m.sender, m.text) for m in messages] == [("Ann", "hi")]
