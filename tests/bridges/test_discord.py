"""The Discord bridge, discord.py and all, driven by dpytest: a fake gateway and HTTP API in the process."""

import asyncio
from types import SimpleNamespace

import discord
import discord.ext.test as dpytest
import pytest
import pytest_asyncio
from discord.ext.test import backend, factories

from gptisyou.bridges import core
from gptisyou.bridges import discord as discord_bridge
from gptisyou.bridges.core import MAX_BUBBLES, NOT_TEXT, REFUSAL, Access, Bridge, BridgeState, disclosure
from gptisyou.errors import InputError
from tests.bridges.conftest import ScriptedClone

ABOUT = disclosure("Sam")


class Harness:
    """A bridge client on dpytest's fake Discord; the fake also renames users and members, which dpytest lacks."""

    def __init__(self, tmp_path, clone: ScriptedClone) -> None:
        self.tmp_path, self.clone = tmp_path, clone
        self.lines: list[str] = []
        self.refuse_names = False

    async def start(self, allowed=(), owners=(), members=("Alex", "Kim"), bubbles=MAX_BUBBLES, name=None) -> None:
        def make(messenger) -> Bridge:
            access = Access(BridgeState(self.tmp_path / "discord.json"), allowed, owners)
            return Bridge(
                "Sam", "Alex", self.clone, messenger, access, gaps=[0.0], log=self.lines.append, bubbles=bubbles
            )

        self.client = discord_bridge.BridgeClient(make, self.lines.append, discord.Intents.all())
        await self.client._async_setup_hook()  # what login would do: the client gets its event loop
        dpytest.configure(self.client, members=list(members))
        self.config = dpytest.get_config()
        self._fake_what_dpytest_lacks()
        if name is not None:
            self.client.user.name = name
        self.stop = asyncio.Event()
        self.gateway = asyncio.Event()  # the connection: open until the test closes it
        self.serving = asyncio.create_task(discord_bridge.serve(self.client, self.stop, self.gateway.wait()))
        await self.client.on_ready()  # as the gateway would, once connected

    def _fake_what_dpytest_lacks(self) -> None:
        http, client = backend.get_state().http, self.client

        async def edit_profile(payload):
            if self.refuse_names:
                raise discord.HTTPException(_Response(400), "You are changing your username too fast.")
            client.user.name = payload["username"]  # the gateway's USER_UPDATE
            return factories.dict_from_user(client.user)

        async def edit_my_member(guild_id, *, reason=None, **fields):
            guild = client.get_guild(guild_id)
            backend.update_member(guild.me, nick=fields.get("nick"))
            return factories.dict_from_member(guild.me)

        http.edit_profile, http.edit_my_member = edit_profile, edit_my_member
        client.ws.socket = SimpleNamespace(closed=True)  # dpytest's gateway has no socket for close() to close

    def member(self, name: str) -> discord.Member:
        return next(member for member in self.config.members if member.name == name)

    async def says(self, name: str, text: str, channel=None, attachments=None) -> None:
        member = self.member(name)
        await dpytest.message(
            text, channel=channel or await member.create_dm(), member=member, attachments=attachments
        )

    async def sent(self, count: int) -> list[str]:
        """The next `count` messages the bot sent, waiting for them."""
        texts, deadline = [], asyncio.get_running_loop().time() + 10
        while len(texts) < count:  # polled: a blocking get would bind dpytest's one queue to this test's loop
            if dpytest.sent_queue.empty():
                assert asyncio.get_running_loop().time() < deadline, f"timed out; sent so far: {texts}"
                await asyncio.sleep(0.01)
            else:
                texts.append(dpytest.sent_queue.get_nowait().content)
        return texts

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.serving, 10)
        await dpytest.empty_queue()


class _Response:
    def __init__(self, status: int) -> None:
        self.status, self.reason = status, "Bad Request"


@pytest_asyncio.fixture
async def harness(tmp_path, clone):
    harness = Harness(tmp_path, clone)
    yield harness
    if not harness.serving.done():
        await harness.close()


@pytest.mark.asyncio
async def test_a_direct_message_is_told_it_talks_to_an_ai_first_and_the_bot_is_named_so(harness, clone):
    await harness.start(allowed=())
    harness.client.bridge.access.allowed = {str(harness.member("Alex").id)}
    await harness.says("Alex", "hey you")
    assert await harness.sent(3) == [ABOUT, "ok", "sure thing"]
    assert harness.client.user.name == "Sam (AI)"
    assert [guild.me.nick for guild in harness.client.guilds] == ["Sam (AI)"]
    assert [line.text for line in clone.histories[0]] == ["hey you"]
    await harness.says("Alex", "/about")
    assert await harness.sent(1) == [ABOUT]


@pytest.mark.asyncio
async def test_a_stranger_is_refused_once_then_hears_nothing(harness, clone):
    await harness.start()
    await harness.says("Kim", "hello?")
    await harness.says("Kim", "hello??")
    assert await harness.sent(1) == [REFUSAL]
    await asyncio.sleep(0.1)
    assert dpytest.sent_queue.empty()
    assert clone.histories == []


@pytest.mark.asyncio
async def test_in_a_server_channel_it_speaks_only_when_mentioned_and_mentions_nobody(harness, monkeypatch):
    mentions = []
    sending = discord.abc.Messageable.send

    async def send(self, content=None, **options):
        mentions.append(options["allowed_mentions"].to_dict())
        return await sending(self, content, **options)

    monkeypatch.setattr(discord.abc.Messageable, "send", send)
    harness.clone = ScriptedClone("@everyone look <@1234> here")
    await harness.start()
    channel = harness.config.channels[0]
    harness.client.bridge.access.allowed = {str(channel.id)}
    await harness.says("Alex", "just us talking", channel=channel)
    await harness.says("Kim", f"<@{harness.client.user.id}> what do you say", channel=channel)
    assert await harness.sent(2) == [ABOUT, "@everyone look <@1234> here"]
    assert [line.text for line in harness.clone.histories[0]] == ["what do you say"]  # the mention taken out
    assert len(harness.clone.histories) == 1
    assert mentions[-1] == {"parse": []}  # pings nobody, @everyone included


@pytest.mark.asyncio
async def test_an_attachment_alone_gets_a_short_note(harness, clone, tmp_path):
    await harness.start()
    harness.client.bridge.access.allowed = {str(harness.member("Alex").id)}
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG")
    await harness.says("Alex", "", attachments=[str(photo)])
    assert await harness.sent(2) == [ABOUT, NOT_TEXT]
    assert clone.histories == []


@pytest.mark.asyncio
async def test_the_owner_stops_it(harness):
    await harness.start()
    harness.client.bridge.access.owners = {str(harness.member("Kim").id)}
    await harness.says("Kim", "/stop")
    assert await harness.sent(2) == [ABOUT, "Stopping."]
    await asyncio.wait_for(harness.serving, 10)
    assert harness.client.is_closed()


@pytest.mark.asyncio
async def test_a_bot_that_cannot_be_named_an_ai_answers_nobody(harness, clone):
    harness.refuse_names = True
    await harness.start(allowed=())
    harness.client.bridge.access.allowed = {str(harness.member("Alex").id)}
    await harness.says("Alex", "hi")
    with pytest.raises(InputError, match=r"could not name the bot \"Sam \(AI\)\""):
        await asyncio.wait_for(harness.serving, 10)
    assert dpytest.sent_queue.empty()
    assert clone.histories == []


@pytest.mark.asyncio
async def test_a_refused_token_is_one_line_without_the_token(monkeypatch):
    async def refused(self, token):
        raise discord.LoginFailure("Improper token has been passed.")

    monkeypatch.setattr(discord.Client, "login", refused)
    with pytest.raises(InputError) as error:
        await discord_bridge.run("MTAx.SECRET.token", lambda messenger: None, print, asyncio.Event())
    assert str(error.value) == "Discord refused the bot token (DISCORD_BOT_TOKEN or --token-file)"


@pytest.mark.asyncio
async def test_a_refused_disclosure_leaves_the_chat_untold_and_unanswered(harness, clone, monkeypatch):
    sending, refusals = discord.abc.Messageable.send, [1]

    async def send(self, content=None, **options):
        if refusals:
            refusals.pop()
            raise discord.Forbidden(_Response(403), "Cannot send messages to this user")
        return await sending(self, content, **options)

    monkeypatch.setattr(discord.abc.Messageable, "send", send)
    await harness.start()
    harness.client.bridge.access.allowed = {str(harness.member("Alex").id)}
    await harness.says("Alex", "hello?")
    await asyncio.sleep(0.1)
    assert dpytest.sent_queue.empty()
    assert clone.histories == []
    assert any("refused the AI disclosure" in line for line in harness.lines)
    await harness.says("Alex", "still there?")
    assert await harness.sent(3) == [ABOUT, "ok", "sure thing"]


@pytest.mark.asyncio
async def test_a_malformed_event_is_skipped_in_one_line_without_its_content(harness, clone, caplog):
    await harness.start()
    await harness.client.on_message(SimpleNamespace(content="secret words"))  # no author, no channel
    await harness.client.on_error("on_message", SimpleNamespace(content="secret words"))
    assert harness.lines[-2:] == [
        "skipped a message Discord sent that gptisyou cannot read",
        "skipped a Discord on_message event that failed",
    ]
    assert "secret" not in "\n".join(harness.lines) + caplog.text
    harness.client.bridge.access.allowed = {str(harness.member("Alex").id)}
    await harness.says("Alex", "hi")
    assert await harness.sent(3) == [ABOUT, "ok", "sure thing"]


@pytest.mark.asyncio
async def test_a_stop_stops_within_seconds_while_discord_cannot_be_reached(harness, monkeypatch):
    monkeypatch.setattr(core, "STOP_GRACE_S", 0.5)
    sending = discord.abc.Messageable.send

    async def stuck_after_the_disclosure(self, content=None, **options):
        if content != ABOUT:
            await asyncio.Event().wait()  # the network is gone: discord.py would wait and retry
        return await sending(self, content, **options)

    monkeypatch.setattr(discord.abc.Messageable, "send", stuck_after_the_disclosure)
    await harness.start()
    harness.client.bridge.access.allowed = {str(harness.member("Alex").id)}
    await harness.says("Alex", "hi")
    assert await harness.sent(1) == [ABOUT]
    started = asyncio.get_running_loop().time()
    harness.stop.set()
    await asyncio.wait_for(harness.serving, 5)
    assert asyncio.get_running_loop().time() - started < 3
    assert harness.client.bridge.state.outbox  # what was not sent waits for the next start


@pytest.mark.asyncio
async def test_pairing_is_guarded_and_replies_are_capped_in_discord_too(harness):
    harness.clone = ScriptedClone("\n".join(map(str, range(38))))
    await harness.start(bubbles=2)
    access = harness.client.bridge.access
    access.pairing_code = "314159"
    for guess in range(core.PAIRING_TRIES_PER_CHAT):
        await harness.says("Kim", f"/pair 00000{guess}")
    await harness.says("Kim", "/pair 314159")
    assert await harness.sent(1) == [REFUSAL]
    await harness.says("Alex", "/pair 314159")
    await harness.says("Alex", "talk to me")
    assert await harness.sent(3) == [ABOUT, "0", "1"]
    await asyncio.sleep(0.1)
    assert dpytest.sent_queue.empty()


@pytest.mark.asyncio
async def test_a_name_that_only_mentions_ai_is_renamed_exactly(harness):
    await harness.start(name="Robin - a real human, not an (AI)")
    assert harness.client.user.name == "Sam (AI)"
    assert 'the bot was named "Robin - a real human, not an (AI)": renamed "Sam (AI)"' in harness.lines
    assert discord_bridge.ai_name("A" * 40) == "A" * 27 + " (AI)"
