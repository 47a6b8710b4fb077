"""What a bridge does, whatever the messenger: who may talk to the clone, the disclosure, each chat's context,
the pace of replies, one generation at a time.

Safe by construction: every chat is told that this is an AI imitation before it gets a reply — told means the
messenger took the message; until it has, the chat gets no reply — and /about tells it again; nobody is let in
unless listed or paired with a code that allows a few tries and expires; in a group the clone speaks only when
spoken to; a stop stops within seconds, whatever the network does. There is no setting that turns any of this
off. Nothing here logs what anyone wrote.
"""

import asyncio
import contextlib
import json
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gptisyou.data.conversations import Session
from gptisyou.engine.responder import Line, Responder, Sampling
from gptisyou.errors import InputError
from gptisyou.settings import setting
from gptisyou.store.workspace import ensure_private_dir, written_whole

MAX_INPUT_CHARS = 2000  # longer messages are cut to their start: a reply, not a crash or a minute of prompt
TYPING_EVERY_S = 4.0  # messengers show "typing…" for about five seconds a call
REFUSAL = "This is a private AI chatbot: its owner has not let this chat in. (You will not hear from it again.)"
NOT_TEXT = "I can only read text messages."
BUSY = "I am answering other messages: try again in a minute."
FAILED = "Something went wrong on my side: no reply this time."
MAX_BUBBLES = 8  # messages one reply may become at most, where the person's own longest turn does not say less
STOP_GRACE_S = 5.0  # after a stop, how long the reply in flight may take to finish before it is cut off
PAIRING_TRIES_PER_CHAT = 5  # wrong codes a chat may send; then it is refused until the bridge restarts
PAIRING_TRIES = 20  # wrong codes from all chats together; then the code is withdrawn
PAIRING_MINUTES = 10  # a code expires this long after it is printed


def disclosure(persona: str) -> str:
    """The first message in every chat, and /about's answer."""
    return (
        f"I am an AI imitation of {persona}, trained on past chats with gptisyou. I am not {persona}: every reply is "
        f"written by a computer program and may be wrong. /about repeats this; /forget clears what I remember of this "
        "chat."
    )


async def unless(stopping: asyncio.Event, awaitable: Awaitable):
    """What `awaitable` gives, or None once `stopping` is set (then it is cancelled, or its result dropped: a stop
    wins a tie, so nothing new starts after it)."""
    answer = asyncio.ensure_future(awaitable)
    waiting = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({answer, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if stopping.is_set():
        answer.cancel()
        return None
    return answer.result()


def display_name(persona: str) -> str:
    """The bot's name in the messenger: always marked as an AI."""
    return f"{persona} (AI)"


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    context_turns: int = setting(16, "Turns of each chat the clone sees before it replies.")
    per_minute: int = setting(6, "Messages a chat may send a minute; past that, one note and silence.")
    queue: int = setting(8, "Messages waiting for a reply at most; past that, a chat is asked to try again later.")
    max_pause: float = setting(3.0, "Longest pause in seconds between two bubbles of a reply.")


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message as every messenger has it."""

    chat: str  # where to reply
    sender: str  # who wrote it (a user id)
    text: str | None  # None: no text (a sticker, a photo, a voice message)
    private: bool = True  # a one-to-one chat
    addressed: bool = True  # in a group: the bot is mentioned or replied to
    update: int | None = None  # the messenger's sequence number, where it redelivers after a restart (Telegram)


class Messenger(Protocol):
    async def send(self, chat: str, text: str) -> bool:
        """Send `text`; True once the messenger took it, False when it refused (a blocked bot, a chat gone)."""
        ...

    async def typing(self, chat: str) -> None: ...


# --- what a bridge remembers --------------------------------------------------------------------------------


@dataclass
class BridgeState:
    """What a bridge remembers across restarts, in one private JSON file of the workspace: the chats let in by a
    pairing code, the chats told what it is, the chats refused once, each chat's last turns, which of the
    messenger's updates are answered (so a restart answers none twice and forgets none), and the bubbles of a reply
    not sent yet (so a restart finishes it rather than answering again)."""

    path: Path
    paired: set[str] = field(default_factory=set)
    disclosed: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    contexts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    confirmed: int | None = None  # every update up to this one is answered
    answered: set[int] = field(default_factory=set)  # answered updates after `confirmed`
    outbox: dict[str, list[str]] = field(default_factory=dict)  # each chat's bubbles still to send
    pending: set[int] = field(default_factory=set, repr=False)  # taken in, not answered yet: not saved

    @classmethod
    def load(cls, path: Path) -> "BridgeState":
        """The state saved at `path`, or a new one.

        Raises:
            InputError: the file is not a bridge's state.
        """
        if not path.is_file():
            return cls(path)
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                path,
                set(saved["paired"]),
                set(saved["disclosed"]),
                set(saved["refused"]),
                {chat: [tuple(turn) for turn in turns] for chat, turns in saved["contexts"].items()},
                saved["confirmed"],
                set(saved["answered"]),
                {chat: [str(bubble) for bubble in bubbles] for chat, bubbles in saved.get("outbox", {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InputError(f"{path}: not a bridge's state (delete it to start afresh)") from None

    def save(self) -> None:
        ensure_private_dir(self.path.parent)
        saved = {
            "paired": sorted(self.paired),
            "disclosed": sorted(self.disclosed),
            "refused": sorted(self.refused),
            "contexts": self.contexts,
            "confirmed": self.confirmed,
            "answered": sorted(self.answered),
            "outbox": self.outbox,
        }
        with written_whole(self.path) as file:
            json.dump(saved, file, ensure_ascii=False)

    @property
    def resume_from(self) -> int | None:
        """The first update to ask the messenger for after a restart."""
        return None if self.confirmed is None else self.confirmed + 1

    def is_answered(self, update: int) -> bool:
        return (self.confirmed is not None and update <= self.confirmed) or update in self.answered

    def is_known(self, update: int) -> bool:
        """Answered, or taken in and waiting for its reply."""
        return self.is_answered(update) or update in self.pending

    def poll_from(self, latest: int | None) -> int | None:
        """Where to ask the messenger for updates next, `latest` being the latest seen: the oldest one still waiting
        for its reply (the messenger forgets what is polled past, and a stop must not lose it), else the next."""
        if self.pending:
            return min(self.pending)
        return self.resume_from if latest is None else latest + 1

    def taken(self, update: int) -> None:
        self.pending.add(update)

    def done(self, update: int) -> None:
        """`update` is answered: `confirmed` moves up to just before the oldest update still waiting."""
        self.pending.discard(update)
        self.answered.add(update)
        oldest_waiting = min(self.pending, default=None)
        settled = {answered for answered in self.answered if oldest_waiting is None or answered < oldest_waiting}
        if settled:
            self.confirmed = max(settled | ({self.confirmed} if self.confirmed is not None else set()))
            self.answered -= settled
        self.save()


# --- who may talk, and how fast ------------------------------------------------------------------------------


@dataclass
class Access:
    """Nobody by default: the chats and users listed (`--allow`), the owners, and chats paired with the code.

    The code is six digits, so it is guarded: a chat has `PAIRING_TRIES_PER_CHAT` wrong tries, then is refused until
    the bridge restarts; all chats together have `PAIRING_TRIES`, then the code is withdrawn; and it expires after
    `PAIRING_MINUTES`. Each of these is logged (a chat id, never what it sent)."""

    state: BridgeState
    allowed: Collection[str] = ()
    owners: Collection[str] = ()
    pairing_code: str | None = None  # one use: gone once a chat pairs with it
    log: Callable[[str], None] = lambda _: None
    clock: Callable[[], float] = time.monotonic
    wrong_tries: dict[str, int] = field(default_factory=dict)
    code_expires: float = field(init=False)

    def __post_init__(self) -> None:
        self.code_expires = self.clock() + PAIRING_MINUTES * 60

    @staticmethod
    def new_code() -> str:
        return f"{secrets.randbelow(10**6):06d}"

    def lets_in(self, message: Incoming) -> bool:
        return bool({message.chat, message.sender} & {*self.allowed, *self.owners, *self.state.paired})

    def pair(self, code: str, chat: str) -> bool:
        """True when `code` pairs `chat`; every refusal is logged, and counted against the chat and the code."""
        if self.pairing_code is not None and self.clock() > self.code_expires:
            self.pairing_code = None
            self.log(f"the pairing code expired after {PAIRING_MINUTES} minutes: restart with --pair for a new one")
        if self.pairing_code is None:
            self.log(f"chat {chat} sent /pair, but no pairing code is valid")
            return False
        tries = self.wrong_tries.get(chat, 0)
        if tries >= PAIRING_TRIES_PER_CHAT:
            return False  # logged once, when it reached the limit
        if secrets.compare_digest(code.strip(), self.pairing_code):
            self.pairing_code = None
            self.state.paired.add(chat)
            self.state.save()
            return True
        self.wrong_tries[chat] = tries + 1
        if tries + 1 == PAIRING_TRIES_PER_CHAT:
            self.log(f"chat {chat}: {PAIRING_TRIES_PER_CHAT} wrong pairing codes; refused until the bridge restarts")
        else:
            self.log(f"chat {chat}: wrong pairing code ({tries + 1} of {PAIRING_TRIES_PER_CHAT} tries)")
        if sum(self.wrong_tries.values()) >= PAIRING_TRIES:
            self.pairing_code = None
            self.log(f"{PAIRING_TRIES} wrong pairing codes in all: the code is withdrawn (restart with --pair)")
        return False


class RateLimit:
    """At most `per_minute` messages a chat in any minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self.times: dict[str, deque[float]] = {}

    def allows(self, chat: str) -> bool:
        now, times = self.clock(), self.times.setdefault(chat, deque())
        while times and now - times[0] >= 60:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        return True


def most_bubbles(sessions: list[Session], persona: str) -> int:
    """The most messages one of the persona's turns holds, up to `MAX_BUBBLES`: no reply is split into more."""
    longest = max(
        (len(turn.bubbles) for session in sessions for turn in session.turns if turn.sender == persona),
        default=MAX_BUBBLES,
    )
    return max(1, min(longest, MAX_BUBBLES))


def bubble_gaps(sessions: list[Session], persona: str) -> list[float]:
    """Seconds between two bubbles of one of the persona's turns, a turn's average, for each turn of several."""
    return [
        (turn.end - turn.start).total_seconds() / (len(turn.bubbles) - 1)
        for session in sessions
        for turn in session.turns
        if turn.sender == persona and len(turn.bubbles) > 1
    ]


# --- the bridge ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Job:
    chat: str
    text: str
    update: int | None


class Bridge:
    """Decides what to do with each incoming message, and writes the replies one at a time (`work`)."""

    def __init__(
        self,
        persona: str,
        me: str,
        clone: Responder,
        messenger: Messenger,
        access: Access,
        config: BridgeConfig = BridgeConfig(),
        sampling: Sampling = Sampling(),
        gaps: list[float] = (),
        log: Callable[[str], None] = lambda _: None,
        rng: random.Random | None = None,
        bubbles: int = MAX_BUBBLES,
    ) -> None:
        """`bubbles`: the most messages one reply becomes (`most_bubbles`)."""
        self.persona, self.me, self.clone, self.messenger = persona, me, clone, messenger
        self.access, self.state, self.config, self.sampling = access, access.state, config, sampling
        self.gaps, self.log, self.rng, self.bubbles = list(gaps), log, rng or random.Random(), bubbles
        self.rate = RateLimit(config.per_minute)
        self.slowed: set[str] = set()  # chats told to slow down, until their rate allows them again
        self.queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=config.queue)
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        """Take nothing more; `work` returns after the reply in flight."""
        self.stopping.set()

    async def serve(self, stop: asyncio.Event, feeding: Awaitable) -> asyncio.Future:
        """Reply until `stop` is set, an owner stops the bridge, or `feeding` (what brings it messages: a poll, a
        gateway) ends; return after the reply in flight, with `feeding` as a future, done or still running. A reply
        still sending `STOP_GRACE_S` after the stop (a network down, a retry) is cut off: what it had not sent
        waits in the state's outbox for the next start."""
        feeder = asyncio.ensure_future(feeding)
        worker = asyncio.create_task(self.work())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await self.unless_stopped(asyncio.wait({feeder, stopped}, return_when=asyncio.FIRST_COMPLETED))
        finally:
            stopped.cancel()
        self.stop()
        done, _ = await asyncio.wait({worker}, timeout=STOP_GRACE_S)
        if not done:
            self.log(f"the reply in flight did not finish within {STOP_GRACE_S:.0f} s of the stop: cut off")
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self.state.save()
        return feeder

    async def unless_stopped(self, awaitable: Awaitable):
        """What `awaitable` gives, or None once the bridge is stopping (see `unless`)."""
        return await unless(self.stopping, awaitable)

    async def receive(self, message: Incoming) -> None:
        """Answer `message` now (a command, a refusal, a note) or queue it for the clone. Once stopping, nothing is
        taken in: the messenger hands it over again after a restart."""
        if self.stopping.is_set():
            return
        if message.update is not None:
            if self.state.is_known(message.update):
                return  # answered before a restart, or waiting for its reply
            self.state.taken(message.update)
        try:
            queued = await self._receive(message)
        except asyncio.CancelledError:
            raise  # stopped half-way: left unanswered, so the messenger hands it over again after a restart
        except Exception:
            self._settle(message)
            raise
        if not queued:
            self._settle(message)

    def _settle(self, message: Incoming) -> None:
        if message.update is not None:
            self.state.done(message.update)

    async def work(self) -> None:
        """Finish the replies a stop cut off, then reply to the queued messages one at a time until `stop`."""
        for chat in list(self.state.outbox):
            await self._send_outbox(chat)
        while (job := await self.unless_stopped(self.queue.get())) is not None:
            try:
                await self._answer(job)
            except Exception as error:  # noqa: BLE001 - one chat's failure must not end everyone's bridge
                self.log(f"a reply failed ({type(error).__name__})")

    # --- deciding --------------------------------------------------------------------------------------------

    async def _receive(self, message: Incoming) -> bool:
        """True when the message was queued for a reply."""
        if not (message.private or message.addressed):
            return False  # in a group, only what is said to the clone
        text = (message.text or "").strip()
        command, _, argument = text.partition(" ") if text.startswith("/") else ("", "", "")
        command = command.split("@", 1)[0].lower()  # "/about@the_bot" in a group
        if not self.access.lets_in(message):
            await self._stranger(message, command, argument)
            return False
        told = message.chat in self.state.disclosed
        if not told and (not await self._disclose(message.chat) or command in ("/start", "/about")):
            return False  # not told: no reply, and the disclosure is tried again at its next message
        if command:
            await self._command(message, command)
            return False
        if not self.rate.allows(message.chat):
            if message.chat not in self.slowed:
                self.slowed.add(message.chat)
                await self.messenger.send(
                    message.chat, f"Slow down a little: I answer {self.config.per_minute} messages a minute at most."
                )
            return False
        self.slowed.discard(message.chat)  # within its rate again: a next burst gets a note again
        if message.text is None:
            await self.messenger.send(message.chat, NOT_TEXT)
            return False
        if not text:
            return False
        try:
            self.queue.put_nowait(_Job(message.chat, text[:MAX_INPUT_CHARS], message.update))
        except asyncio.QueueFull:
            await self.messenger.send(message.chat, BUSY)
            return False
        return True

    async def _stranger(self, message: Incoming, command: str, argument: str) -> None:
        if command == "/pair" and self.access.pair(argument, message.chat):
            self.log(f"chat {message.chat} paired")
            await self._disclose(message.chat)
        elif message.chat not in self.state.refused:
            self.log(f"chat {message.chat} refused (not allowed; --allow {message.chat} or --pair lets it in)")
            self.state.refused.add(message.chat)
            self.state.save()
            await self.messenger.send(message.chat, REFUSAL)

    async def _disclose(self, chat: str) -> bool:
        """Tell `chat` what this is; True once the messenger took the message, and only then is it told."""
        if not await self.messenger.send(chat, disclosure(self.persona)):
            self.log(f"chat {chat}: the messenger refused the AI disclosure; no reply until it takes it")
            return False
        self.state.disclosed.add(chat)
        self.state.save()
        return True

    async def _command(self, message: Incoming, command: str) -> None:
        chat = message.chat
        if command in ("/start", "/about"):
            await self.messenger.send(chat, disclosure(self.persona))
        elif command == "/forget":
            self.state.contexts.pop(chat, None)
            self.state.save()
            await self.messenger.send(chat, "Forgotten: I remember nothing of this chat now.")
        elif command == "/stop" and message.sender in self.access.owners:
            await self.messenger.send(chat, "Stopping.")
            self.log(f"stopped by its owner from chat {chat}")
            self.stop()
        elif command == "/stop":
            await self.messenger.send(chat, "Only my owner can stop me.")
        elif command == "/pair":
            await self.messenger.send(chat, "This chat is already let in.")
        else:
            await self.messenger.send(chat, "Commands: /about (what I am), /forget (clear this chat from my memory).")

    # --- replying --------------------------------------------------------------------------------------------

    async def _answer(self, job: _Job) -> None:
        context = [Line(speaker, text) for speaker, text in self.state.contexts.get(job.chat, [])]
        history = [*context, Line(self.me, job.text)]
        await self._typing(job.chat)
        typing = asyncio.create_task(self._keep_typing(job.chat))
        try:
            reply = await asyncio.to_thread(self.clone.reply, history, self.sampling)
        except Exception as error:  # noqa: BLE001 - a model or backend failure: this chat hears so, the bridge goes on
            self.log(f"chat {job.chat}: no reply ({type(error).__name__})")
            reply = None
        finally:
            typing.cancel()
        if reply is not None and not reply.strip():  # silence would leave the person waiting for an answer
            self.log(f"chat {job.chat}: no reply (the clone's was empty)")
            reply = None
        if job.chat not in self.state.disclosed and not await self._disclose(job.chat):
            self._settle_job(job)  # queued only once told: this is a safeguard, and an untold chat hears nothing
            return
        if reply is None:
            await self.messenger.send(job.chat, FAILED)
            self._settle_job(job)
            return
        turns = [*self.state.contexts.get(job.chat, []), (self.me, job.text), (self.persona, reply)]
        self.state.contexts[job.chat] = turns[max(0, len(turns) - self.config.context_turns) :]
        bubbles = [bubble.strip() for bubble in reply.split("\n") if bubble.strip()][: self.bubbles]
        self.state.outbox[job.chat] = bubbles
        self._settle_job(job)  # saved with its bubbles: from here a restart sends what is left, never a new reply
        await self._send_outbox(job.chat)

    def _settle_job(self, job: _Job) -> None:
        if job.update is not None:
            self.state.done(job.update)
        else:
            self.state.save()

    async def _send_outbox(self, chat: str) -> None:
        """Send `chat`'s waiting bubbles one at a time with the person's pauses, each struck off as it is sent."""
        sent = 0
        try:
            while bubbles := self.state.outbox.get(chat):
                if sent:
                    await asyncio.sleep(self._pause())
                if not await self.messenger.send(chat, bubbles[0]):
                    break  # the chat is gone or blocked the bot: the rest would fail too
                sent += 1
                self.state.outbox[chat] = bubbles[1:]
                self.state.save()
        except Exception:  # not a stop's cancellation: what a stop cut off waits in the outbox for the next start
            self.state.outbox.pop(chat, None)
            self.state.save()
            raise
        self.state.outbox.pop(chat, None)
        self.state.save()
        self.log(f"chat {chat}: replied in {sent} bubble(s)")

    def _pause(self) -> float:
        """A pause between two bubbles: one of the person's own, at most `max_pause`."""
        return min(self.rng.choice(self.gaps) if self.gaps else 1.0, self.config.max_pause)

    async def _typing(self, chat: str) -> None:
        with contextlib.suppress(Exception):  # the indicator is a courtesy: never worth a failed reply
            await self.messenger.typing(chat)

    async def _keep_typing(self, chat: str) -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY_S)
            await self._typing(chat)
