"""DiscordChatExporter JSON: DMs, group DMs and server channels, detected by content, nicknames over names."""

from collections import Counter

import pytest

from gptisyou.errors import ParseError
from gptisyou.sources import detect, discord
from gptisyou.sources.types import ParseReport, ReadOptions
from tests.sources.conftest import SOURCES, entries, needs_corpus
from tests.sources.exports import discord_channel, discord_message

DISCORD = entries("discordchatexporter_json")
NICKNAMES = {"Someones name": "Someones nickname", "not a plant": "theplant"}  # from the manifest's notes


def read(path):
    [(chat, messages)] = [
        (chat, list(messages)) for chat, messages in discord.chats(path, ReadOptions(), ParseReport())
    ]
    return chat, messages


@pytest.fixture
def group(tmp_path):
    """A group DM with what DiscordChatExporter writes: a join and a call, nicknames, an edit, an attachment, a
    sticker, a reply."""
    return discord_channel(
        tmp_path / "GC.json",
        [
            discord_message(1, "not a plant", kind="RecipientAdd", timestamp="2020-07-18T17:50:00+00:00"),
            discord_message(2, "not a plant", "hello", nickname="theplant"),
            discord_message(3, "Someones name", kind="Call", timestamp="2020-07-18T17:53:00+00:00"),
            discord_message(
                4,
                "Someones name",
                "hi there",
                nickname="Someones nickname",
                timestamp="2020-07-18T17:54:00+00:00",
                timestampEdited="2020-07-18T17:55:00+00:00",
            ),
            discord_message(
                5,
                "not a plant",
                "look at this",
                nickname="theplant",
                timestamp="2020-07-18T17:56:00+00:00",
                attachments=[{"id": "9", "url": "x", "fileName": "unknown.png", "fileSizeBytes": 3}],
            ),
            discord_message(
                6,
                "Someones name",
                "",
                nickname="Someones nickname",
                timestamp="2020-07-18T17:57:00+00:00",
                stickers=[{"id": "8", "name": "wave"}],
            ),
            discord_message(
                7,
                "Someones name",
                "you too",
                kind="Reply",
                nickname="Someones nickname",
                timestamp="2020-07-18T17:58:00+00:00",
                reference={"messageId": "1002"},
            ),
        ],
        channel="a group chat",
    )


def test_titles_system_types_nicknames_edits_and_attachments_of_a_written_export(group, tmp_path):
    assert detect(group)[0] == "discord"
    chat, messages = read(group)
    assert (chat.key, chat.title) == ("discord:1064990764406419508", "a group chat")
    assert [m.kind for m in messages] == ["system", "text", "system", "text", "media", "media", "text"]
    assert [m.sender for m in messages if m.kind != "system"] == [
        "theplant",
        "Someones nickname",
        "theplant",
        "Someones nickname",
        "Someones nickname",
    ]
    assert [m.edited for m in messages].count(True) == 1
    assert messages[4].attachment == "unknown.png"
    assert messages[4].text == "unknown.png\nlook at this"
    assert messages[5].text == "sticker omitted"
    assert messages[6].text == "you too"  # a reply keeps its own text only
    server = discord_channel(
        tmp_path / "SV.json", [discord_message(1, "Ann", "hi")], guild="DefleMask", channel="general-chiptune"
    )
    assert read(server)[0].title == "DefleMask / #general-chiptune"
    keyless = discord_channel(tmp_path / "old.json", [discord_message(1, "Ann", "hi")], channel_id=None)
    assert (read(keyless)[0].key, read(keyless)[0].stable) == ("discord:Ann", False)


def test_a_cut_off_written_export_is_a_one_line_error(group, tmp_path):
    whole = group.read_text(encoding="utf-8")
    path = tmp_path / "channel.json"
    path.write_text(whole[: len(whole) * 2 // 3], encoding="utf-8")
    with pytest.raises(ParseError, match=r"channel\.json: not valid JSON after message \d") as error:
        read(path)
    assert "\n" not in str(error.value)


def test_a_message_without_a_readable_time_names_its_number(tmp_path):
    path = discord_channel(
        tmp_path / "DM.json", [discord_message(1, "Ann", "hi"), discord_message(2, "Bob", "yo", timestamp="soon")]
    )
    with pytest.raises(ParseError, match=r"DM\.json: message 2: no readable 'timestamp'"):
        read(path)


def test_tz_shows_utc_times_of_a_written_export_in_the_zone_asked_for(run, workspace, tmp_path):
    path = discord_channel(
        tmp_path / "DM.json",
        [
            discord_message(1, "Ann", "hi", timestamp="2019-01-04T17:52:00+00:00"),
            discord_message(2, "Bob", "hey", timestamp="2020-07-18T10:00:00+00:00"),
        ],
    )
    result = run("import", "--tz", "Asia/Tokyo", path)
    assert result.exit_code == 0, result.output
    assert "2019-01-05 → 2020-07-18" in result.output  # 17:52 UTC on the 4th is 02:52 on the 5th in Tokyo
    assert run("import", "--tz", "Mars/Olympus", path).exit_code == 2


@needs_corpus
@pytest.mark.parametrize("entry", DISCORD, ids=[entry["path"] for entry in DISCORD])
def test_each_export_is_detected_and_read_as_its_manifest_says(entry):
    path = SOURCES / entry["path"]
    assert detect(path)[0] == "discord"
    _, messages = read(path)
    assert len(messages) == entry["n_messages"]  # system events included, as the manifest counts them
    written = Counter(message.sender for message in messages if message.kind != "system")
    expected = Counter()
    for sender in entry["senders"]:
        expected[NICKNAMES.get(sender["sender"], sender["sender"])] += sender["count"]
    system = len(messages) - sum(written.values())
    assert sum(expected.values()) - system == sum(written.values())
    assert set(written) <= set(expected)
    first, last = entry["first_message"], entry["last_message"]
    assert messages[0].timestamp.isoformat() == first["timestamp_utc"].removesuffix("Z")
    assert messages[-1].timestamp.isoformat() == last["timestamp_utc"].removesuffix("Z")
    assert messages[0].text.endswith(first["text"])


@needs_corpus
def test_titles_system_types_nicknames_edits_and_attachments():
    chat, messages = read(SOURCES / "discord/mlomb-chat-analytics/GC_3A_5M.json")
    assert (chat.key, chat.title) == ("discord:1064990764406419508", "a group chat")
    assert [m.kind for m in messages] == ["system", "text", "system", "text", "text", "system"]
    assert messages[1].sender == "theplant"  # the nickname, not the account name "not a plant"
    chat, messages = read(SOURCES / "discord/mlomb-chat-analytics/SV_5A_5M.json")
    assert chat.title == "DefleMask / #general-chiptune"
    assert [m.edited for m in messages].count(True) == 2
    [attached] = [m for m in messages if m.kind == "media"]
    assert attached.attachment == "unknown.png"
    assert attached.text.startswith("unknown.png\nThis message has attachments")


@needs_corpus
def test_a_cut_off_export_is_a_one_line_error(tmp_path):
    whole = (SOURCES / "discord/mlomb-chat-analytics/GC_3A_5M.json").read_text(encoding="utf-8")
    path = tmp_path / "channel.json"
    path.write_text(whole[: len(whole) * 2 // 3], encoding="utf-8")
    with pytest.raises(ParseError, match=r"channel\.json: not valid JSON after message \d") as error:
        read(path)
    assert "\n" not in str(error.value)


@needs_corpus
def test_tz_shows_utc_times_in_the_zone_asked_for(run, workspace):
    result = run("import", "--tz", "Asia/Tokyo", SOURCES / "discord/mlomb-chat-analytics/DM_2A_2M.json")
    assert result.exit_code == 0, result.output
    assert "2019-01-05 → 2020-07-18" in result.output  # 17:52 UTC on the 4th is 02:52 on the 5th in Tokyo
    assert run("import", "--tz", "Mars/Olympus", SOURCES / "discord/mlomb-chat-analytics/DM_2A_2M.json").exit_code == 2
