"""The statistics of a portrait, counted in one pass over the messages: who writes how much, when, how fast they
answer, who opens conversations, how long their turns are and how they type.

`Tally` is one person's running counts; `count` fills one per participant from a chat's messages (in time order)
and the sessions `data.conversations` groups them into. Everything is a count or a list of numbers, so the
facts are exact and the page, the JSON and the terminal say the same thing.
"""

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from gptisyou.data.conversations import Session, SessionConfig, split_sessions
from gptisyou.messages import Message
from gptisyou.portrait import voice
from gptisyou.portrait.voice import EMOJI

LAUGHTER = re.compile(r"\b(?:a?(?:ha){2,}h?|(?:he){2,}|(?:hi){2,}|lo+l|lmf?ao+|rofl|x+d+|jaja(?:ja)*|kkk+|mdr+)\b",
                      re.IGNORECASE)  # fmt: skip
_WORD = re.compile(r"\w+")


@dataclass
class Tally:
    """One person's counts across the chats of a portrait."""

    name: str
    messages: int = 0
    texts: int = 0  # messages with words (not media)
    media: int = 0
    words: int = 0
    emoji: int = 0
    first: datetime | None = None
    last: datetime | None = None
    by_hour: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])  # [weekday][hour]
    by_month: Counter = field(default_factory=Counter)  # "2024-03" → messages
    turns: int = 0
    turn_words: list[int] = field(default_factory=list)
    turn_bubbles: list[int] = field(default_factory=list)
    sessions: int = 0  # conversations they wrote in
    opened: int = 0  # conversations they opened
    closed: int = 0  # conversations they wrote last in
    reply_seconds: list[float] = field(default_factory=list)  # from the other's turn to theirs, in one session
    openers: Counter = field(default_factory=Counter)  # first words of the turns that open a conversation
    sign_offs: Counter = field(default_factory=Counter)  # last words of the turns that close one
    all_lower: int = 0  # texts with letters, none upper-case
    with_letters: int = 0
    double_bang: int = 0  # "!!"
    ellipsis: int = 0  # "..." or "…"
    questions: int = 0
    laughter: Counter = field(default_factory=Counter)  # "haha", "lol" … as written, lower-cased
    terms: Counter = field(default_factory=Counter)  # words, phrases and emoji, for their voice

    def add_message(self, message: Message) -> None:
        self.messages += 1
        moment = message.timestamp
        self.first = moment if self.first is None else min(self.first, moment)
        self.last = moment if self.last is None else max(self.last, moment)
        self.by_hour[moment.weekday()][moment.hour] += 1
        self.by_month[f"{moment:%Y-%m}"] += 1
        if message.kind == "media":
            self.media += 1
        if message.kind != "text":
            return
        text = message.text
        self.texts += 1
        self.words += len(text.split())
        self.emoji += len(EMOJI.findall(text))
        if any(char.isalpha() for char in text):
            self.with_letters += 1
            self.all_lower += text == text.lower()
        self.double_bang += "!!" in text
        self.ellipsis += "..." in text or "…" in text
        self.questions += "?" in text
        self.laughter.update(match.lower() for match in LAUGHTER.findall(text))
        voice.add(self.terms, text)

    def add_turn(self, words: int, bubbles: int) -> None:
        self.turns += 1
        self.turn_words.append(words)
        self.turn_bubbles.append(bubbles)


@dataclass(frozen=True, slots=True)
class Conversation:
    """A session as topics need it: when it started and the words of its turns."""

    start: datetime
    text: str


@dataclass
class Chats:
    """What one pass over the portrait's chats counted: a tally per person, the conversations, the longest
    silences."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    conversations: list[Conversation] = field(default_factory=list)
    silences: list[tuple[float, datetime, datetime]] = field(default_factory=list)  # (days, from, to), longest first

    def tally(self, name: str) -> Tally:
        if name not in self.tallies:
            self.tallies[name] = Tally(name)
        return self.tallies[name]


def count(chats: Iterable[Iterable[Message]], gap_hours: float = 4.0, keep_silences: int = 5) -> Chats:
    """Count every chat's messages (each in time order; senders already merged into people)."""
    counted = Chats()
    for chat_id, messages in enumerate(chats):
        for session in split_sessions(_tapped(messages, counted), chat_id, SessionConfig(gap_hours)):
            _count_session(session, counted)
            words = [bubble for turn in session.turns for bubble in turn.bubbles if not bubble.startswith("<")]
            counted.conversations.append(Conversation(session.start, "\n".join(words)))
    counted.silences = sorted(counted.silences, reverse=True)[:keep_silences]
    return counted


def _tapped(messages: Iterable[Message], counted: Chats) -> Iterator[Message]:
    """The messages, counted on their way to the sessions; the gaps between them kept where they are long."""
    previous = None
    for message in messages:
        if message.sender is not None and message.kind in ("text", "media"):
            counted.tally(message.sender).add_message(message)
        if previous is not None:
            days = (message.timestamp - previous).total_seconds() / 86_400
            if days >= 1:
                counted.silences.append((days, previous, message.timestamp))
        previous = message.timestamp
        yield message


def _count_session(session: Session, counted: Chats) -> None:
    turns = session.turns
    opener, closer = counted.tally(turns[0].sender), counted.tally(turns[-1].sender)
    opener.opened += 1
    closer.closed += 1
    if turns[0].has_words:
        opener.openers.update(_edge_words(turns[0].bubbles[0], first=True))
    if turns[-1].has_words:
        closer.sign_offs.update(_edge_words(turns[-1].bubbles[-1], first=False))
    for name in {turn.sender for turn in turns}:
        counted.tally(name).sessions += 1
    for previous, turn in zip((None, *turns), turns, strict=False):
        person = counted.tally(turn.sender)
        if turn.has_words:
            person.add_turn(sum(len(bubble.split()) for bubble in turn.bubbles if not bubble.startswith("<")),
                            len(turn.bubbles))  # fmt: skip
        if previous is not None and previous.sender != turn.sender:
            person.reply_seconds.append((turn.start - previous.end).total_seconds())


def _edge_words(text: str, first: bool) -> list[str]:
    """The first (or last) word of a bubble, lower-cased: how someone opens or closes a conversation."""
    words = _WORD.findall(text.lower())
    if not words:
        return []
    return [words[0] if first else words[-1]]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
