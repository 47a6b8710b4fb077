"""DiscordChatExporter JSON: DMs, group DMs and server channels, detected by content, nicknames over names."""

from collections import Counter

import pytest

from gptisyou.errors import ParseError
from gptisyou.sources import detect, discord
from gptisyou.sources.types import ParseReport, ReadOptions
from tests.sources.conftest import SOURCES, entries, needs_corpus

DISCORD = entries("discordchatexporter_json")
NICKNAMES = {"Someones name": "Someones nickname", "not a plant": "theplant"}  # from the manifest's notes
pytestmark = needs_corpus


def read(path):
    [(chat, messages)] = [
        (chat, list(messages)) for chat, messages in discord.chats(path, ReadOptions(), ParseReport())
    ]
    return chat, messages


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


def test_a_cut_off_export_is_a_one_line_error(tmp_path):
    whole = (SOURCES / "discord/mlomb-chat-analytics/GC_3A_5M.json").read_text(encoding="utf-8")
    path = tmp_path / "channel.json"
    path.write_text(whole[: len(whole) * 2 // 3], encoding="utf-8")
    with pytest.raises(ParseError, match=r"channel\.json: not valid JSON after message \d") as error:
        read(path)
    assert "\n" not in str(error.value)


def test_tz_shows_utc_times_in_the_zone_asked_for(run, workspace):
    result = run("import", "--tz", "Asia/Tokyo", SOURCES / "discord/mlomb-chat-analytics/DM_2A_2M.json")
    assert result.exit_code == 0, result.output
    assert "2019-01-05 → 2020-07-18" in result.output  # 17:52 UTC on the 4th is 02:52 on the 5th in Tokyo
    assert run("import", "--tz", "Mars/Olympus", SOURCES / "discord/mlomb-chat-analytics/DM_2A_2M.json").exit_code == 2
