"""Telegram Desktop JSON: the corpus exports import by content alone, as their manifest counts them, and the
quirks each has get a decided behaviour."""

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gptisyou.errors import InputError, ParseError
from gptisyou.sources import detect, telegram
from gptisyou.sources.types import ParseReport, ReadOptions
from tests.sources import exports
from tests.sources.conftest import SOURCES, entries, needs_corpus

TELEGRAM = entries("telegram_desktop_json")


def _account(path: Path) -> Path:
    """An account-wide export of two chats (two and four messages), as Telegram Desktop writes it."""

    def chat(chat_id: int, name: str, count: int) -> dict:
        messages = [
            exports.telegram_message(
                n, name if n % 2 else "Me", f"{name} {n}", date=f"2024-01-0{chat_id % 10}T10:{n:02d}:00"
            )
            for n in range(1, count + 1)
        ]
        return {"name": name, "type": "personal_chat", "id": chat_id, "messages": messages}

    export = {
        "about": "Here is the data you requested.",
        "personal_information": {"first_name": "Me"},
        "chats": {
            "about": "This page lists all chats.",
            "list": [chat(700000001, "Chat One", 2), chat(700000002, "Chat Two", 4)],
        },
    }
    path.write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def test_an_account_wide_written_export_is_one_import_of_several_chats(tmp_path):
    chats = read(_account(tmp_path / "result.json"))
    assert [(chat.key, chat.title, len(messages)) for chat, messages in chats] == [
        ("telegram:700000001", "Chat One", 2),
        ("telegram:700000002", "Chat Two", 4),
    ]
    lines = [message.line for _, messages in chats for message in messages]
    assert lines == sorted(lines)  # record numbers increase through the file


_PIECES = ['"messages": [', '"left_chats":', "{", "}", "[", "\\", '"', "é", "a", " "]
_TRICKY = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)
_CHAT = st.tuples(_TRICKY, st.lists(st.tuples(_TRICKY, st.integers(0, 9000)), max_size=6), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    chats=st.lists(_CHAT, min_size=1, max_size=6),
    indent=st.sampled_from([None, 1, 4]),
    left=st.integers(0, 6),
    colon=st.sampled_from([": ", ":", " :\n  "]),
)
def test_an_account_export_reads_as_a_whole_json_load_sees_it(tmp_path_factory, chats, indent, left, colon):
    """Chats split exactly where json.load splits them, whatever the names and texts hold (quotes, backslashes,
    brackets, the word "messages" as a key), the layout, and where the 64 KB reads fall (long texts)."""
    written = [
        {
            "name": name,
            "type": "personal_chat",
            "id": 700_000_000 + number,
            "messages": [
                exports.telegram_message(n, "Ann", text + "x" * padding, nested={"messages": [1]})
                for n, (text, padding) in enumerate(messages, start=1)
            ],
        }
        for number, (name, messages, _) in enumerate(chats)
    ]
    for chat, (name, _, photo) in zip(written, chats, strict=True):
        if photo:  # a field holding an object, before the messages
            chat["photo"] = {"about": name, "list": [name]}
            chat["messages"] = chat.pop("messages")
    export = {
        "about": "x",
        "contacts": {"list": [{"messages": "not a chat"}]},
        "chats": {"list": written[left:]},
        "left_chats": {"list": written[:left]},
    }
    path = tmp_path_factory.mktemp("account") / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False, indent=indent, separators=(",", colon)), encoding="utf-8")
    expected = [
        (f"telegram:{chat['id']}", [message["text"] for message in chat["messages"]])
        for chat in written[left:] + written[:left]
        if chat["messages"]
    ]
    if not expected:
        with pytest.raises(InputError, match="a JSON file without Telegram messages"):
            read(path)
        return
    assert [(chat.key, [message.text for message in messages]) for chat, messages in read(path)] == expected


def test_left_chats_import_and_an_account_without_messages_is_an_error(tmp_path):
    export = json.loads(_account(tmp_path / "result.json").read_text(encoding="utf-8"))
    export["left_chats"] = export.pop("chats")
    (tmp_path / "left.json").write_text(json.dumps(export), encoding="utf-8")
    assert [chat.title for chat, _ in read(tmp_path / "left.json")] == ["Chat One", "Chat Two"]
    for chat in export["left_chats"]["list"]:
        chat["messages"] = []
    (tmp_path / "empty.json").write_text(json.dumps(export), encoding="utf-8")
    with pytest.raises(InputError, match=r"empty\.json: a JSON file without Telegram messages"):
        read(tmp_path / "empty.json")


def test_entities_service_entries_and_media_of_a_written_export(tmp_path):
    path = exports.telegram_chat(
        tmp_path / "result.json",
        [
            {
                "id": 1,
                "type": "service",
                "date": "2024-01-05T09:00:00",
                "actor": "Bob",
                "actor_id": "user2",
                "action": "joined_telegram",
                "text": "",
            },
            exports.telegram_message(
                2,
                "Bob",
                [{"type": "link", "text": "https://google.com"}, " 👀"],
                text_entities=[{"type": "link", "text": "https://google.com"}],
            ),
            exports.telegram_message(3, "Ann", "", photo="photos/photo_1@05-01-2024.jpg", width=10, height=10),
            {
                "id": 4,
                "type": "message",
                "date_unixtime": "1544006350",
                "from": "Ann",
                "from_id": "user1",
                "text": [
                    {"type": "bold", "text": "Link:"},
                    {"type": "text_link", "text": "https://telegram.org/", "href": "https://telegram.org/"},
                ],
            },
        ],
        name="Bob",
    )
    [(chat, messages)] = read(path)
    assert chat.title == "Bob"
    assert (messages[0].sender, messages[0].kind, messages[0].text) == (None, "system", "Bob: joined telegram")
    assert messages[1].text == "https://google.com 👀"  # a link entity and a string, flattened
    assert (messages[2].kind, messages[2].text) == ("media", "photo omitted")
    assert messages[3].text == "Link:https://telegram.org/"  # bold and link entities, no date but its epoch
    assert messages[3].timestamp.isoformat() == "2018-12-05T10:39:10"


def test_a_cut_off_written_export_is_a_one_line_error_naming_the_file(tmp_path):
    whole = _account(tmp_path / "whole.json").read_text(encoding="utf-8")
    path = tmp_path / "result.json"
    path.write_text(whole[: len(whole) // 2], encoding="utf-8")
    with pytest.raises(ParseError, match=r"result\.json: not valid JSON after message \d+") as error:
        read(path)
    assert "\n" not in str(error.value)


def test_an_account_export_imports_by_content_twice_adds_nothing_and_broken_stores_nothing(run, workspace, tmp_path):
    export = _account(tmp_path / "export.json")  # no telling name: detected by what it holds
    broken = tmp_path / "result.json"
    broken.write_text(export.read_text(encoding="utf-8")[: int(export.stat().st_size * 0.8)], encoding="utf-8")
    result = run("import", broken)  # the second chat breaks off
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "result.json" in result.output
    assert "Chat One" not in run("chats").output
    _imported_once(run, export)


def _imported_once(run, export):
    """Both chats of the account export import; a second import adds nothing."""
    first = run("import", export)
    assert first.exit_code == 0, first.output
    assert "'Chat One'" in first.output
    assert "'Chat Two'" in first.output
    again = run("import", export)
    assert again.exit_code == 0
    assert again.output.count("0 new") == 2  # both chats, found by the file's fingerprint
    assert again.output.count("not read again") == 2
    assert "telegram" in run("chats").output


def read(path: Path) -> list[tuple]:
    return [(chat, list(messages)) for chat, messages in telegram.chats(path, ReadOptions(), ParseReport())]


@needs_corpus
@pytest.mark.parametrize("entry", TELEGRAM, ids=[entry["path"] for entry in TELEGRAM])
def test_each_export_is_detected_and_read_as_its_manifest_says(entry):
    path = SOURCES / entry["path"]
    assert detect(path)[0] == "telegram"
    messages = [message for _, chat_messages in read(path) for message in chat_messages]
    written = [message for message in messages if message.kind != "system"]
    assert len(written) == entry["n_messages"]
    assert len(messages) - len(written) == entry.get("n_service", 0)
    assert Counter(message.sender for message in written) == {s["sender"]: s["count"] for s in entry["senders"]}
    ordered = sorted(written, key=lambda message: message.timestamp)
    for message, expected in ((ordered[0], entry["first_message"]), (ordered[-1], entry["last_message"])):
        assert message.sender == expected["sender"]
        assert message.text.endswith(expected["text"])  # a media message's text starts with its placeholder
        assert message.timestamp.isoformat() == expected["timestamp_utc"].removesuffix("Z")


@needs_corpus
def test_the_account_wide_export_is_one_import_of_several_chats():
    chats = read(SOURCES / "telegram/mlomb-chat-analytics/MultiChat_2C_6M.json")
    assert [(chat.key, chat.title, len(messages)) for chat, messages in chats] == [
        ("telegram:700000001", "Chat One", 2),
        ("telegram:700000002", "Chat Two", 4),
    ]
    lines = [message.line for _, messages in chats for message in messages]
    assert lines == sorted(lines)  # record numbers increase through the file


@needs_corpus
def test_entities_service_entries_media_and_missing_dates():
    [(chat, messages)] = read(SOURCES / "telegram/mlomb-chat-analytics/DM_2A_7M.json")
    assert chat.title == "Bob"
    assert messages[0][:3] == (None, messages[0].timestamp, "Bob: joined telegram")  # a service entry
    assert messages[0].kind == "system"
    assert messages[1].text == "https://google.com 👀"  # a link entity and a string, flattened
    photos = [message for message in messages if message.kind == "media"]
    assert [message.text for message in photos] == ["photo omitted", "photo omitted"]
    [(_, minimal)] = read(SOURCES / "telegram/joweich-chat-miner/test_single_export.json")
    assert minimal[1].text == "Link:https://telegram.org/"  # bold and link entities, no text_entities, no date
    assert minimal[0].timestamp.isoformat() == "2018-12-05T10:39:10"


def test_polls_files_edits_and_deleted_accounts(tmp_path):
    export = {
        "name": "Pat",
        "type": "personal_chat",
        "id": 42,
        "messages": [
            {
                "id": 1,
                "type": "message",
                "date": "2024-05-01T09:00:00",
                "from": "Pat",
                "from_id": "user1",
                "poll": {"question": "Lunch?", "answers": [{"text": "yes"}, {"text": "no"}]},
                "text": "",
            },
            {
                "id": 2,
                "type": "message",
                "date": "2024-05-01T09:01:00",
                "from": None,
                "from_id": "user9",
                "file": "voice_messages/audio_1@01-05-2024.ogg",
                "media_type": "voice_message",
                "text": "listen",
            },
            {
                "id": 3,
                "type": "message",
                "date": "2024-05-01T09:02:00",
                "edited": "2024-05-01T09:03:00",
                "from": "Pat",
                "from_id": 1,
                "text": [{"type": "bold", "text": "sure"}, " thing"],
            },
        ],
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    [(chat, messages)] = read(path)
    assert chat.key == "telegram:42"
    assert messages[0].text == "Poll: Lunch? (yes / no)"
    assert messages[1][:2] == ("Deleted Account user9", messages[1].timestamp)
    assert (messages[1].kind, messages[1].attachment, messages[1].text) == (
        "media",
        "audio_1@01-05-2024.ogg",
        "audio omitted\nlisten",
    )
    assert (messages[2].text, messages[2].edited) == ("sure thing", True)


@needs_corpus
def test_a_cut_off_export_is_a_one_line_error_naming_the_file(tmp_path):
    whole = (SOURCES / "telegram/mlomb-chat-analytics/DM_2A_7M.json").read_text(encoding="utf-8")
    path = tmp_path / "result.json"
    path.write_text(whole[: len(whole) // 2], encoding="utf-8")
    with pytest.raises(ParseError, match=r"result\.json: not valid JSON after message \d+") as error:
        read(path)
    assert "\n" not in str(error.value)


@needs_corpus
def test_import_reads_an_account_export_by_content_and_twice_adds_nothing(run, workspace, tmp_path):
    export = tmp_path / "export.json"  # no telling name: detected by what it holds
    export.write_bytes((SOURCES / "telegram/mlomb-chat-analytics/MultiChat_2C_6M.json").read_bytes())
    _imported_once(run, export)


@needs_corpus
def test_a_broken_export_stores_nothing(run, workspace, tmp_path):
    whole = (SOURCES / "telegram/mlomb-chat-analytics/MultiChat_2C_6M.json").read_text(encoding="utf-8")
    path = tmp_path / "result.json"
    path.write_text(whole[: int(len(whole) * 0.8)], encoding="utf-8")  # the second chat breaks off
    result = run("import", path)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "result.json" in result.output
    assert run("chats").stdout.startswith("No chats")  # one transaction: the whole file or nothing


def test_a_date_with_an_offset_is_stored_as_local_time_and_the_chat_still_trains(tmp_path, workspace, run):
    """A `date` with an offset imported, then every dataset of that chat failed: naive and aware times mixed."""
    from gptisyou.data.dataset import DatasetConfig, build
    from gptisyou.store.database import Store
    from tests.sources import exports

    messages = [
        exports.telegram_message(n, "Ann" if n % 2 else "Me", f"line {n}", date=f"2024-01-05T10:{n:02d}:00")
        for n in range(1, 20)
    ]
    messages[3]["date"] = "2024-01-05T09:03:30+00:00"
    assert run("import", exports.telegram_chat(tmp_path / "result.json", messages)).exit_code == 0
    with Store.open(workspace) as store:
        stored = list(store.messages(1))
        assert all(message.timestamp.tzinfo is None for message in stored)
        assert build(store, DatasetConfig("Ann", val_fraction=0)).examples


def test_a_time_out_of_range_after_its_zone_is_one_line(tmp_path, workspace, run):
    from tests.sources import exports

    messages = [exports.telegram_message(1, "Ann", "far", date="9999-12-31T23:59:59-12:00")]
    result = run("import", exports.telegram_chat(tmp_path / "result.json", messages))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {tmp_path / 'result.json'}:1: 9999-12-31 23:59:59-12:00 is out of")


def test_a_chat_whose_fields_take_megabytes_is_a_one_line_error_and_stores_nothing(run, workspace, tmp_path):
    """A chat's fields are read backwards from its messages within 64 KB: a hostile name past that is refused."""
    export = json.loads(_account(tmp_path / "result.json").read_text(encoding="utf-8"))
    second = export["chats"]["list"][1]
    export["chats"]["list"][1] = {"name": "x" * 100_000, **{k: v for k, v in second.items() if k != "name"}}
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export, indent=1), encoding="utf-8")
    result = run("import", path)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "export.json: chat 2: its fields before its messages take over 64 KB" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text(
        _account(tmp_path / "again.json")
        .read_text(encoding="utf-8")
        .replace('"name": "Chat Two",', '"name": "Chat Two"'),
        encoding="utf-8",
    )
    result = run("import", broken)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "broken.json: not valid JSON" in result.output  # the parser meets it before the chat's fields are read
    assert "Chat One" not in run("chats").output
