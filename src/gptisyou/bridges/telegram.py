"""The clone as a Telegram bot, on python-telegram-bot's `Bot`: long polling, with the update offset kept in the
bridge's state so that a restart answers nothing twice and forgets nothing.

`--api-url` points it at a self-hosted Bot API server (Telegram publishes one) instead of api.telegram.org; the
tests point it at a fake on 127.0.0.1.
"""

import asyncio
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable

import telegram
from telegram.constants import ChatAction, ChatType, MessageEntityType
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from gptisyou.bridges.core import Bridge, Incoming, display_name, unless
from gptisyou.errors import InputError

PUBLIC_API = "https://api.telegram.org"
POLL_SECONDS = 25  # how long one getUpdates waits for news
WAITING_POLL_S = 0.5  # between polls while the only news is updates already queued for a reply
FIRST_BACKOFF_S, MAX_BACKOFF_S = 1.0, 60.0
MAX_MESSAGE_CHARS = 4096  # Telegram's limit on one message

logging.getLogger("httpx").setLevel(logging.WARNING)  # httpx logs every request's URL, and the token is in it
# python-telegram-bot logs an update it cannot read whole, text included, at CRITICAL: the bridge reports such
# updates itself, without their content
logging.getLogger("telegram").setLevel(logging.CRITICAL + 1)
# the updates are asked for raw, to read them one at a time (`_updates`), which the library warns against
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'")


def bot(token: str, api_url: str = PUBLIC_API) -> telegram.Bot:
    root = api_url.rstrip("/")
    return telegram.Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")


class TelegramMessenger:
    """What the bridge sends, retried through network trouble."""

    def __init__(self, client: telegram.Bot, log: Callable[[str], None]) -> None:
        self.client, self.log = client, log

    async def send(self, chat: str, text: str) -> bool:
        """Send `text` as plain text (never parse_mode: nothing in a reply becomes markup); False, and logged, when
        Telegram refuses it (a chat that blocked the bot, a message it will not take)."""
        try:
            await _retried(
                lambda: self.client.send_message(int(chat), text[:MAX_MESSAGE_CHARS], disable_web_page_preview=True),
                self.log,
            )
        except (BadRequest, Forbidden) as error:
            self.log(f"chat {chat}: Telegram did not take the message ({type(error).__name__})")
            return False
        return True

    async def typing(self, chat: str) -> None:
        await self.client.send_chat_action(int(chat), ChatAction.TYPING)


async def run(
    client: telegram.Bot,
    make_bridge: Callable[[TelegramMessenger], Bridge],
    log: Callable[[str], None],
    stop: asyncio.Event,
) -> None:
    """Poll for messages and let the bridge answer them, until `stop` is set or an owner sends /stop; then return
    after the reply in flight.

    Raises:
        InputError: Telegram refused the token, or the bot's name cannot carry "(AI)".
    """
    try:
        await unless(stop, _retried(client.initialize, log))
    except (InvalidToken, Forbidden):
        raise InputError("Telegram refused the bot token (TELEGRAM_BOT_TOKEN or --token-file)") from None
    if stop.is_set():
        return  # stopped while the Bot API could not be reached
    try:
        bridge = make_bridge(TelegramMessenger(client, log))
        await unless(stop, _named_as_ai(client, bridge.persona, log))
        if stop.is_set():
            return
        log(f"@{client.username} is {display_name(bridge.persona)}: waiting for messages")
        polling = await bridge.serve(stop, _poll(client, bridge, log))
        await polling  # it returns at once from a wait for news, and after the message at hand otherwise
    finally:
        await client.shutdown()


async def _named_as_ai(client: telegram.Bot, persona: str, log: Callable[[str], None]) -> None:
    """The bot's display name is exactly "PERSONA (AI)": renamed if it is anything else (Telegram allows it to the
    bot itself), which is logged with the name it had."""
    name = display_name(persona)
    if client.first_name == name:
        return
    try:
        await _retried(lambda: client.set_my_name(name), log)
    except TelegramError:
        raise InputError(f'could not name the bot "{name}": name it so in @BotFather, then start again') from None
    log(f'the bot was named "{client.first_name}": renamed "{name}"')


async def _poll(client: telegram.Bot, bridge: Bridge, log: Callable[[str], None]) -> None:
    offset, latest = bridge.state.resume_from, None
    while not bridge.stopping.is_set():
        updates = await bridge.unless_stopped(_retried(functools.partial(_updates, client, offset), log))
        if updates is None:
            return
        fresh = [(number, update) for number, update in updates if not bridge.state.is_known(number)]
        unreadable = 0
        for number, update in fresh:
            message = incoming(update, client) if update is not None else None
            if message is not None:
                await bridge.receive(message)
            else:
                unreadable += update is None
                bridge.state.done(number)  # nothing to answer (an edit, a member joining, a malformed update)
        if unreadable:
            log(f"skipped {unreadable} update(s) Telegram sent that gptisyou cannot read")
        latest = max([number for number, _ in updates] + ([latest] if latest is not None else []), default=None)
        offset = bridge.state.poll_from(latest)
        if updates and not fresh:
            # only updates still waiting for their replies: Telegram answers at once, so wait a little first
            await bridge.unless_stopped(asyncio.sleep(WAITING_POLL_S))


async def _updates(client: telegram.Bot, offset: int | None) -> list[tuple[int, telegram.Update | None]]:
    """The next updates, each with its number, read one at a time: one Telegram sent malformed (a message without
    its chat or date) is None, where the library would fail on the whole batch, and the bridge with it."""
    asked = {"timeout": POLL_SECONDS, "allowed_updates": ["message"], **({"offset": offset} if offset else {})}
    raw = await client.do_api_request("getUpdates", api_kwargs=asked, read_timeout=POLL_SECONDS + 10)
    updates = []
    for data in raw if isinstance(raw, list) else []:
        number = data.get("update_id") if isinstance(data, dict) else None
        if type(number) is not int:
            continue  # without its number it cannot even be passed over: Telegram never sends one so
        try:
            updates.append((number, telegram.Update.de_json(data, client)))
        except Exception:  # noqa: BLE001 - whatever the library chokes on, the update is skipped
            updates.append((number, None))
    return updates


def incoming(update: telegram.Update, client: telegram.Bot) -> Incoming | None:
    """The update as the bridge sees it; None for anything but a new message from a person, or a malformed one."""
    try:
        return _incoming(update, client)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _incoming(update: telegram.Update, client: telegram.Bot) -> Incoming | None:
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
    return Incoming(
        str(message.chat.id),
        str(message.from_user.id),
        text,
        private,
        private or mentioned or replied_to,
        update.update_id,
    )


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
