"""The statistics of a portrait, counted in one pass over the messages: who writes how much, when, how fast they
answer, who opens conversations, how long their turns are and how they type.

The pass reads plain rows (sender, time, kind, words, text) straight from the workspace, never building message
objects, so a million messages take seconds. Counts, times, turns and conversations use every message; what needs
the words themselves (voice, typing habits, topics) reads an even sample of at most `TEXT_SAMPLE` texts, which
is the whole chat below that size and says the same of a larger one to a fraction of a percent.
"""

import math
import re
import statistics
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gptisyou.portrait import voice
from gptisyou.portrait.voice import EMOJI

TEXT_SAMPLE = 100_000  # texts read for voice, habits and topics; every one in a smaller chat
TONE_SAMPLE = 10_000  # of those, the texts whose tone is read (an even sample); every one in a smaller chat
LAUGHTER = re.compile(
    r"\b(?:a?(?:ha){2,}h?|(?:he){2,}|(?:hi){2,}|lo+l|lmf?ao+|rofl|x+d+|jaja(?:ja)*|kkk+|mdr+)\b", re.IGNORECASE
)
_WORD = re.compile(r"\w+")
_DAY = timedelta(days=1)
ANSWER_MINUTES = 10  # a turn that follows another's within this long answers it
_ANSWER = timedelta(minutes=ANSWER_MINUTES)

Row = tuple[str | None, str, str, int, str]  # sender, ISO time, kind, words, text: a message as the store keeps it


@dataclass
class Tally:
    """One person's counts across the chats of a portrait."""

    name: str
    messages: int = 0
    texts: int = 0  # messages with words (not media)
    media: int = 0
    words: int = 0
    first: datetime | None = None
    last: datetime | None = None
    by_hour: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])  # [weekday][hour]
    by_month: Counter = field(default_factory=Counter)  # "2024-03" → messages
    turns: int = 0
    turn_words: list[int] = field(default_factory=list)
    turn_days: array = field(default_factory=lambda: array("l"))  # the day (ordinal) each of `turn_words`' ended
    turn_bubbles: list[int] = field(default_factory=list)
    sessions: int = 0  # conversations they wrote in
    opened: int = 0  # conversations they opened
    closed: int = 0  # conversations they wrote last in
    reply_seconds: list[float] = field(default_factory=list)  # from the other's turn to theirs, in one session
    reply_days: array = field(default_factory=lambda: array("l"))  # the day (ordinal) each of those answers came
    openers: Counter = field(default_factory=Counter)  # first words of the turns that open a conversation
    sign_offs: Counter = field(default_factory=Counter)  # last words of the turns that close one
    # from the sample of texts:
    sampled: int = 0
    emoji: int = 0
    with_letters: int = 0
    all_lower: int = 0  # texts with letters, none upper-case
    double_bang: int = 0  # "!!"
    ellipsis: int = 0  # "..." or "…"
    questions: int = 0
    laughing: int = 0  # texts with a laugh in them
    laughter: Counter = field(default_factory=Counter)  # "haha", "lol" … as written, lower-cased
    terms: Counter = field(default_factory=Counter)  # words, phrases and emoji, for their voice
    tones: list[tuple[datetime, float]] = field(default_factory=list)  # (when, tone from -1 to 1) of toned texts

    def add_text(self, text: str) -> None:
        """Count the habits and the voice of one sampled text."""
        self.sampled += 1
        self.emoji += len(EMOJI.findall(text))
        if any(char.isalpha() for char in text):
            self.with_letters += 1
            self.all_lower += text == text.lower()
        self.double_bang += "!!" in text
        self.ellipsis += "..." in text or "…" in text
        self.questions += "?" in text
        laughs = LAUGHTER.findall(text)
        self.laughing += bool(laughs)
        self.laughter.update(match.lower() for match in laughs)
        voice.add(self.terms, text)


@dataclass(frozen=True, slots=True)
class Conversation:
    """A session as topics and tone need it: when it started and the (sampled) texts of its turns; who opened it,
    and the tone of each sampled text with the text, where tone was read."""

    start: datetime
    text: str
    opener: str = ""
    toned: tuple[tuple[float, str], ...] = ()


@dataclass
class Chats:
    """What one pass over the portrait's chats counted: a tally per person, the conversations, the longest
    silences, and how many texts the words were read from."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    conversations: list[Conversation] = field(default_factory=list)
    silences: list[tuple[float, datetime, datetime]] = field(default_factory=list)  # (days, from, to), longest first
    texts_read: int = 0
    texts_sampled: int = 0
    to_the_second: bool = False  # some time has seconds: else the export keeps minutes only (WhatsApp's)
    answers: Counter = field(default_factory=Counter)  # (who, to whom) → turns written within ANSWER_MINUTES of theirs

    def tally(self, name: str) -> Tally:
        if name not in self.tallies:
            self.tallies[name] = Tally(name)
        return self.tallies[name]


def count(
    chats: Iterable[Iterable[Row]],
    total: int,
    gap_hours: float = 4.0,
    keep_silences: int = 5,
    name_of: Callable[[str], str] = str,
    text_of: Callable[[str], str] = str,
    tone_of: Callable[[str], float] | None = None,
) -> Chats:
    """Count every chat's rows (each in time order). `total` is how many texts there are in all (for the sample's
    stride); `name_of` maps a sender to the person they are (merged names), `text_of` a sampled text to what is
    kept of it (redaction), `tone_of` one to its tone from -1 to 1 (None: tone is not read)."""
    counted = Chats()
    every = max(1, math.ceil(total / TEXT_SAMPLE))
    tone_every = max(1, math.ceil(min(total, TEXT_SAMPLE) / TONE_SAMPLE))
    for rows in chats:
        _Pass(counted, timedelta(hours=gap_hours), every, name_of, text_of, tone_of, tone_every).run(rows)
    counted.silences = sorted(counted.silences, reverse=True)[:keep_silences]
    return counted


class _Pass:
    """One chat's rows, in order: messages counted, grouped into turns and conversations as they come."""

    def __init__(self, counted: Chats, gap: timedelta, every: int, name_of, text_of, tone_of=None, tone_every=1):
        self.counted, self.gap, self.every, self.name_of, self.text_of = counted, gap, every, name_of, text_of
        self.tone_of, self.tone_every = tone_of, tone_every
        self.previous: datetime | None = None  # any message's time, for silences
        self.turn: list | None = None  # [sender, start, end, words, bubbles, last text]
        self.session: dict | None = None
        self.weekday_of: dict[str, int] = {}

    def run(self, rows: Iterable[Row]) -> None:
        seconds = self.counted.to_the_second
        for sender, ts, kind, words, text in rows:
            seconds = seconds or ts[17:19] not in ("00", "")
            moment = datetime.fromisoformat(ts)
            if self.previous is not None and moment - self.previous >= _DAY:
                self.counted.silences.append(((moment - self.previous) / _DAY, self.previous, moment))
            self.previous = moment
            if sender is None or kind not in ("text", "media"):
                continue  # system lines and deleted messages are nobody's words
            self._message(self.name_of(sender), ts, moment, kind, words, text)
        self.counted.to_the_second = seconds
        self._end_session()

    def _message(self, name: str, ts: str, moment: datetime, kind: str, words: int, text: str) -> None:
        tally = self.counted.tally(name)
        tally.messages += 1
        if tally.first is None:
            tally.first = moment
        tally.last = moment
        day = ts[:10]
        if (weekday := self.weekday_of.get(day)) is None:
            weekday = self.weekday_of[day] = moment.weekday()
        tally.by_hour[weekday][moment.hour] += 1
        tally.by_month[ts[:7]] += 1
        if kind == "media":
            tally.media += 1
        else:
            tally.texts += 1
            tally.words += words
        if self.session is not None and moment - self.session["end"] >= self.gap:
            self._end_session()
        if self.session is None:
            self.session = {
                "opener": name,
                "first_text": text if kind == "text" else "",
                "people": set(),
                "texts": [],
                "toned": [],
                "start": moment,
                "end": moment,
            }
        self.session["end"] = moment
        self.session["people"].add(name)
        if self.turn is None or self.turn[0] != name:
            self._end_turn(moment, name)
            self.turn = [name, moment, moment, 0, 0, ""]
        self.turn[2] = moment
        self.turn[3] += words if kind == "text" else 0
        self.turn[4] += 1
        if kind == "text":
            self.turn[5] = text
            self.counted.texts_read += 1
            if self.counted.texts_read % self.every == 0:
                kept = self.text_of(text)
                tally.add_text(kept)
                self.session["texts"].append(kept)
                self.counted.texts_sampled += 1
                if self.tone_of is not None and self.counted.texts_sampled % self.tone_every == 0:
                    tone = self.tone_of(kept)
                    tally.tones.append((moment, tone))
                    self.session["toned"].append((tone, kept))

    def _end_turn(self, now: datetime | None, next_sender: str | None) -> None:
        if self.turn is None:
            return
        sender, _, end, words, bubbles, _ = self.turn
        tally = self.counted.tally(sender)
        if words:
            tally.turns += 1
            tally.turn_words.append(words)
            tally.turn_days.append(end.toordinal())
            tally.turn_bubbles.append(bubbles)
        if now is not None and next_sender is not None and next_sender != sender:
            answering, waited = self.counted.tally(next_sender), now - end
            answering.reply_seconds.append(waited.total_seconds())
            answering.reply_days.append(now.toordinal())
            if waited <= _ANSWER:
                self.counted.answers[next_sender, sender] += 1

    def _end_session(self) -> None:
        if self.session is None:
            return
        last = self.turn
        self._end_turn(None, None)
        session, self.session, self.turn = self.session, None, None
        opener, closer = self.counted.tally(session["opener"]), self.counted.tally(last[0])
        opener.opened += 1
        closer.closed += 1
        opener.openers.update(_edge_words(self.text_of(session["first_text"]), first=True))
        closer.sign_offs.update(_edge_words(self.text_of(last[5]), first=False))
        for name in session["people"]:
            self.counted.tally(name).sessions += 1
        text, toned = "\n".join(session["texts"]), tuple(session["toned"])
        self.counted.conversations.append(Conversation(session["start"], text, session["opener"], toned))


def _edge_words(text: str, first: bool) -> list[str]:
    """The first (or last) word of a text, lower-cased: how someone opens or closes a conversation."""
    words = _WORD.findall(text.lower())
    if not words:
        return []
    return [words[0] if first else words[-1]]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
