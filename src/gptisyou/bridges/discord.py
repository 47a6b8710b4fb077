"""The clone as a Discord bot, on discord.py's `Client`: direct messages, and server channels where it is
mentioned or replied to. Its replies can mention nobody (no @everyone, no pings)."""

import asyncio
import logging
from collections.abc import Callable

import discord

from gptisyou.bridges.core import Bridge, Incoming, display_name
from gptisyou.errors import InputError

MAX_MESSAGE_CHARS = 2000  # Discord's limit on one message
MAX_NAME_CHARS = 32  # Discord's limit on a user name and a nickname
# discord.py logs an event it fails on with the event's data: the bridge logs a failure itself, without content
logging.getLogger("discord").setLevel(logging.CRITICAL + 1)


class DiscordMessenger:
    def __init__(self, client: discord.Client, log: Callable[[str], None]) -> None:
        self.client, self.log = client, log

    async def send(self, chat: str, text: str) -> bool:
        """Send `text`; False, and logged, when Discord refuses it (a channel the bot cannot reach, a user who
        does not take direct messages)."""
        try:
            channel = self.client.get_channel(int(chat)) or await self.client.fetch_channel(int(chat))
            await channel.send(text[:MAX_MESSAGE_CHARS], allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException as error:
            self.log(f"chat {chat}: Discord did not take the message ({type(error).__name__} {error.status})")
            return False
        return True

    async def typing(self, chat: str) -> None:
        channel = self.client.get_channel(int(chat)) or await self.client.fetch_channel(int(chat))
        await channel.typing()


class BridgeClient(discord.Client):
    """A client whose every message goes to the bridge; on connecting, it makes sure its name says "(AI)"."""

    def __init__(
        self,
        make_bridge: Callable[[DiscordMessenger], Bridge],
        log: Callable[[str], None],
        intents: discord.Intents | None = None,
    ) -> None:
        """`intents`: what the gateway is asked for; by default messages and their content, nothing else."""
        if intents is None:
            intents = discord.Intents.default()
            intents.message_content = True  # a privileged intent: switched on in the Developer Portal
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none())
        self.log = log
        self.bridge = make_bridge(DiscordMessenger(self, log))
        self.named = asyncio.Event()
        self.failure: Exception | None = None

    async def on_ready(self) -> None:
        try:
            await named_as_ai(self, self.bridge.persona, self.log)
        except InputError as error:
            self.failure = error
            self.bridge.stop()
            return
        self.log(f"{self.user} is {display_name(self.bridge.persona)}: waiting for messages")
        self.named.set()

    async def on_message(self, message: discord.Message) -> None:
        if not self.named.is_set():
            return  # not yet named as an AI: nothing is answered before
        try:
            received = incoming(message, self.user)
        except (AttributeError, KeyError, TypeError, ValueError):
            received = None
            self.log("skipped a message Discord sent that gptisyou cannot read")
        if received is not None:
            await self.bridge.receive(received)

    async def on_error(self, event: str, *args, **kwargs) -> None:
        """An event handler failed: one line, never the event (discord.py's default prints it with a traceback)."""
        self.log(f"skipped a Discord {event} event that failed")


async def named_as_ai(client: discord.Client, persona: str, log: Callable[[str], None]) -> None:
    """The bot's user name, and its nickname in every server, are exactly "PERSONA (AI)" (its end kept where
    Discord's 32 characters cut the persona's name); any other name is changed, and logged with the name it had.

    Raises:
        InputError: the user name is another and cannot be changed.
    """
    name = ai_name(persona)
    if client.user.name != name:
        was = client.user.name
        try:
            await client.user.edit(username=name)
        except (discord.HTTPException, AttributeError, TypeError):
            raise InputError(
                f'could not name the bot "{name}": rename it so in the Developer Portal, then start again'
            ) from None
        log(f'the bot was named "{was}": renamed "{name}"')
    for guild in client.guilds:
        if (guild.me.nick or client.user.name) != name:
            try:
                await guild.me.edit(nick=name)
            except discord.HTTPException:
                log(f'could not set the nickname "{name}" in {guild.name}: the bot\'s name shows there')


def ai_name(persona: str) -> str:
    """ "PERSONA (AI)" in Discord's 32 characters: the persona's name is cut, never the "(AI)"."""
    marker = display_name("")
    return display_name(persona[: MAX_NAME_CHARS - len(marker)])


def incoming(message: discord.Message, me: discord.ClientUser) -> Incoming | None:
    """The message as the bridge sees it; None for the bot's own messages and other bots'."""
    if message.author.bot or message.author.id == me.id:
        return None
    private = isinstance(message.channel, discord.DMChannel)
    mentioned = any(user.id == me.id for user in message.mentions)
    reference = message.reference.resolved if message.reference else None
    replied_to = isinstance(reference, discord.Message) and reference.author.id == me.id
    text = message.content
    for form in (f"<@{me.id}>", f"<@!{me.id}>"):
        text = text.replace(form, "")
    has_text = bool(text.strip()) or not (message.attachments or message.stickers)
    return Incoming(
        str(message.channel.id),
        str(message.author.id),
        text.strip() if has_text else None,
        private,
        private or mentioned or replied_to,
    )


async def run(
    token: str, make_bridge: Callable[[DiscordMessenger], Bridge], log: Callable[[str], None], stop: asyncio.Event
) -> None:
    """Connect and let the bridge answer, until `stop` is set or an owner sends /stop; then return after the reply
    in flight.

    Raises:
        InputError: Discord refused the token or the Message Content intent, or the bot cannot be named an AI.
    """
    client = BridgeClient(make_bridge, log)
    try:
        await client.login(token)
    except discord.LoginFailure:
        await client.close()
        raise InputError("Discord refused the bot token (DISCORD_BOT_TOKEN or --token-file)") from None
    await serve(client, stop, client.connect())


async def serve(client: BridgeClient, stop: asyncio.Event, connection) -> None:
    """Answer while `connection` (the gateway's, or a test's) runs, until a stop; then close the client."""
    connected = asyncio.ensure_future(connection)
    try:
        await client.bridge.serve(stop, connected)
    finally:
        await client.close()
        connected.cancel()
    failed = connected.exception() if connected.done() and not connected.cancelled() else None
    if client.failure:
        raise client.failure
    if isinstance(failed, discord.PrivilegedIntentsRequired):
        raise InputError(
            "Discord refused the Message Content intent: switch it on for the bot in the Developer Portal"
        )
    if failed:
        raise failed
