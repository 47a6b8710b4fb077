"""The clone as a Telegram bot, on python-telegram-bot's `Bot`: long polling, with the update offset kept in the
bridge's state so that a restart answers nothing twice and forgets nothing.

`--api-url` points it at a self-hosted Bot API server (Telegram publishes one) instead of api.telegram.org; the
tests point it at a fake on 127.0.0.1.
"""

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable

import telegram
from telegram.constants import ChatAction, ChatType, MessageEntityType
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from gptisyou.bridges.core import Bridge, Incoming, display_name
from gptisyou.errors import InputError

PUBLIC_API = "https://api.telegram.org"
POLL_SECONDS = 25  # how long one getUpdates waits for news
WAITING_POLL_S = 0.5  # between polls while the only news is updates already queued for a reply
FIRST_BACKOFF_S, MAX_BACKOFF_S = 1.0, 60.0
MAX_MESSAGE_CHARS = 4096  # Telegram's limit on one message

logging.getLogger("httpx").setLevel(logging.WARNING)  # httpx logs every request's URL, and the token is in it


def bot(token: str, api_url: str = PUBLIC_API) -> telegram.Bot:
    root = api_url.rstrip("/")
    return telegram.Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")


class TelegramMessenger:
    """What the bridge sends, retried through network trouble."""

    def __init__(self, client: telegram.Bot, log: Callable[[str], None]) -> None:
        self.client, self.log = client, log

    async def send(self, chat: str, text: str) -> None:
        """Send `text` as plain text (never parse_mode: nothing in a reply becomes markup); a chat that blocked the
        bot or a message Telegram refuses is logged, not raised."""
        try:
            await _retried(lambda: self.client.send_message(int(chat), text[:MAX_MESSAGE_CHARS],
                                                            disable_web_page_preview=True), self.log)  # fmt: skip
        except (BadRequest, Forbidden) as error:
            self.log(f"chat {chat}: Telegram did not take the message ({type(error).__name__})")

    async def typing(self, chat: str) -> None:
        await self.client.send_chat_action(int(chat), ChatAction.TYPING)


async def run(client: telegram.Bot, make_bridge: Callable[[TelegramMessenger], Bridge],
              log: Callable[[str], None], stop: asyncio.Event) -> None:  # fmt: skip
    """Poll for messages and let the bridge answer them, until `stop` is set or an owner sends /stop; then return
    after the reply in flight.

    Raises:
        InputError: Telegram refused the token, or the bot's name cannot carry "(AI)".
    """
    try:
        await _retried(client.initialize, log)
    except (InvalidToken, Forbidden):
        raise InputError("Telegram refused the bot token (TELEGRAM_BOT_TOKEN or --token-file)") from None
    try:
        bridge = make_bridge(TelegramMessenger(client, log))
        await _named_as_ai(client, bridge.persona)
        log(f"@{client.username} is {display_name(bridge.persona)}: waiting for messages")
        polling = await bridge.serve(stop, _poll(client, bridge, log))
        await polling  # it returns at once from a wait for news, and after the message at hand otherwise
    finally:
        await client.shutdown()


async def _named_as_ai(client: telegram.Bot, persona: str) -> None:
    """The bot's display name says it is an AI: renamed if it does not (Telegram allows it to the bot itself)."""
    name = display_name(persona)
    if "(AI)" in (client.first_name or ""):
        return
    try:
        await client.set_my_name(name)
    except TelegramError:
        raise InputError(f'could not name the bot "{name}": name it so in @BotFather, then start again') from None


async def _poll(client: telegram.Bot, bridge: Bridge, log: Callable[[str], None]) -> None:
    offset, latest = bridge.state.resume_from, None
    while not bridge.stopping.is_set():
        asked = functools.partial(client.get_updates, offset=offset, timeout=POLL_SECONDS, allowed_updates=["message"])
        updates = await bridge.unless_stopped(_retried(asked, log))
        if updates is None:
            return
        fresh = [update for update in updates if not bridge.state.is_known(update.update_id)]
        for update in fresh:
            message = incoming(update, client)
            if message is not None:
                await bridge.receive(message)
            else:
                bridge.state.done(update.update_id)  # nothing to answer (an edit, a member joining…)
        latest = max([update.update_id for update in updates] + ([latest] if latest is not None else []), default=None)
        offset = bridge.state.poll_from(latest)
        if updates and not fresh:
            # only updates still waiting for their replies: Telegram answers at once, so wait a little first
            await bridge.unless_stopped(asyncio.sleep(WAITING_POLL_S))


def incoming(update: telegram.Update, client: telegram.Bot) -> Incoming | None:
    """The update as the bridge sees it; None for anything but a new message from a person."""
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    private = message.chat.type == ChatType.PRIVATE
    mention = f"@{client.username}".lower()
    mentioned = any(
        (entity.type == MessageEntityType.MENTION and message.parse_entity(entity).lower() == mention)
        or (entity.type == MessageEntityType.TEXT_MENTION and entity.user and entity.user.id == client.id)
        for entity in message.entities
    )
    replied_to = (
        message.reply_to_message is not None
        and message.reply_to_message.from_user is not None
        and (message.reply_to_message.from_user.id == client.id)
    )
    text = message.text
    if text is not None and mentioned:
        text = _without(text, mention)
    return Incoming(str(message.chat.id), str(message.from_user.id), text, private, private or mentioned or replied_to,
                    update.update_id)  # fmt: skip


def _without(text: str, mention: str) -> str:
    lowered = text.lower()
    start = lowered.find(mention)
    return (text[:start] + text[start + len(mention) :]).strip() if start >= 0 else text


async def _retried(call: Callable[[], Awaitable], log: Callable[[str], None]):
    """`call`, again after network trouble or Telegram's flood control, with a backoff from 1 s to a minute."""
    wait = FIRST_BACKOFF_S
    while True:
        try:
            return await call()
        except RetryAfter as error:
            delay = error.retry_after if isinstance(error.retry_after, int | float) else error.retry_after.seconds
            log(f"Telegram asks to wait {delay} s")
            await asyncio.sleep(delay)
        except (InvalidToken, Forbidden, BadRequest):
            raise  # no point in asking again
        except NetworkError as error:  # TimedOut included
            log(f"network trouble ({type(error).__name__}); again in {wait:.0f} s")
            await asyncio.sleep(wait)
            wait = min(wait * 2, MAX_BACKOFF_S)
