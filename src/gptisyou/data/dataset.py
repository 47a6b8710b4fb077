"""Training data for one persona: which sessions, the split by time, redaction, and examples.

The persona (`--as`) is any participant. Its chats' messages become sessions of turns (`conversations`); some
whole conversations are held out for validation and evaluation and appear in no training example, not even as
context. By default (`spread`) they are spread across the whole chat: one from each of k equal stretches of its
time, drawn with the seed, until they hold 10 % of the persona's turns (and, where that stays under 20 %, at
least 5 conversations and 100 turns), so that the clone is judged on the person, not on how the last weeks
differ, and trains on the newest conversations too. `latest` holds out the latest conversations instead (at least
10 % of the persona's turns, 5 conversations and 7 days where the chat has them, never more than a third): what
came after, to measure drift.
Examples are windows of consecutive turns inside a session, so each of the persona's turns is a training target
exactly once; `dataset_formats` renders them for each destination.
"""

import json
import math
import os
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from gptisyou.data.conversations import Session, SessionConfig, Turn, split_sessions
from gptisyou.data.redact import Redactor
from gptisyou.errors import InputError, RedactionError
from gptisyou.messages import Message
from gptisyou.settings import setting
from gptisyou.store.database import Store
from gptisyou.store.workspace import ensure_private_dir, redaction_map_path

_TURN_OVERHEAD_TOKENS = 3  # the end-of-turn marker and line break around each turn
REPLY_TOKENS_QUANTILE, REPLY_TOKENS_RANGE = 0.99, (16, 512)  # the cap on a generated reply: see reply_tokens
MAX_HELD_OUT_SHARE = 1 / 3  # the held-out period grows to its minimum conversations and days up to this share
HOLD_OUT_RULES = ("spread", "latest")
SPREAD_CEILING = 0.2  # spread: the minimum conversations and turns are held out only while under this share
SPREAD_MINIMUM = (5, 100)  # spread: conversations and persona turns held out at least, where the ceiling allows
ConversationKey = tuple[int, str]  # (chat id, ISO start): a conversation, as a run records it


@dataclass(frozen=True, slots=True)
class DatasetConfig:
    """Which conversations, where the held-out period starts, how examples are cut: `dataset`'s options are built
    from these fields. Every setting after the persona is given by name."""

    persona: str  # the participant the model learns to write like (--as)
    _: KW_ONLY
    chats: tuple[int, ...] = ()  # only these chats (--chat); empty: every chat the persona wrote in
    with_people: tuple[str, ...] = ()  # only sessions where one of them speaks too (--with)
    gap_hours: float = setting(4.0, "Hours of silence that start a new conversation.")
    val_fraction: float = setting(0.1, "Share of the persona's turns held out at least, whole conversations.")
    hold_out: str = setting(
        "spread",
        "Which conversations are held out for validation and eval: 'spread' across the chat, or the 'latest' ones "
        "(what came after: drift).",
    )
    seed: int = 0  # which conversation of each stretch of time is held out (spread)
    held_out_keys: tuple[ConversationKey, ...] | None = None  # a run's recorded held-out conversations
    val_conversations: int = 5  # … in at least this many conversations, where the chat has them
    val_days: float = 7.0  # … spanning at least this many days, where the chat has them
    held_out_from: datetime | None = None  # a run's recorded start of its held-out period: overrides the rule
    whole_conversations: bool = True  # False: the rule of runs recorded without a start (the latest turns only)
    window_turns: int = setting(24, "Turns per example at most; examples never overlap.")
    example_tokens: int | None = None  # tokens per example at most (local training windows), counted by count_tokens
    context_turns: int = 8  # turns of context before each reply in the legacy prompt/completion form
    redact: bool = True  # pseudonyms for phone numbers, e-mails, URLs, IBANs, cards and third-party names


@dataclass(frozen=True, slots=True)
class Example:
    """A window of consecutive turns of one session; the persona's turns with words are its targets."""

    chat_id: int
    turns: tuple[Turn, ...]


@dataclass
class PersonaData:
    persona: str  # as the examples name it: the pseudonym, if redaction replaced the name itself
    people: dict[int, list[str]]  # chat id → its participants
    train: list[Session]
    val: list[Session]
    redactor: Redactor | None
    real_persona: str  # the name as in the chat, for local file names
    examples: list[Example] = field(default_factory=list)  # training windows
    held_out_from: datetime | None = None  # latest: where the held-out period starts (None: nothing held out)
    held_out_keys: tuple[ConversationKey, ...] = ()  # spread: the held-out conversations

    @property
    def hold_out(self) -> str:
        """The rule that chose the held-out conversations: spread (they are named), else latest."""
        return "spread" if self.held_out_keys else "latest"

    @property
    def group(self) -> bool:
        return any(len(names) > 2 for names in self.people.values())

    def target_turns(self, sessions: Iterable[Session]) -> int:
        """How many of the persona's turns in `sessions` are learned from (or, held out, evaluated on)."""
        return sum(is_target(turn, self.persona) for session in sessions for turn in session.turns)

    def reply_tokens(self, count_tokens: Callable[[str], int]) -> int:
        """How long a reply of the persona gets: the 99th percentile of their training turns, in tokens, so a
        clone writes a long story when they would, and never rambles far beyond what they ever wrote."""
        lengths = sorted(
            count_tokens(turn.text)
            for session in self.train
            for turn in session.turns
            if is_target(turn, self.persona)
        )
        longest = lengths[min(len(lengths) - 1, int(len(lengths) * REPLY_TOKENS_QUANTILE))] if lengths else 0
        low, high = REPLY_TOKENS_RANGE
        return min(high, max(low, longest + _TURN_OVERHEAD_TOKENS))

    def save_redaction_map(self, workspace: Path) -> Path | None:
        """Write the real → pseudonym map into the workspace, readable by the owner only."""
        if self.redactor is None:
            return None
        path = redaction_map_path(workspace, self.real_persona)
        ensure_private_dir(path.parent, inside=workspace)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(self.redactor.mapping, out, ensure_ascii=False, indent=1, sort_keys=True)
        return path


def build(store: Store, config: DatasetConfig, count_tokens: Callable[[str], int] | None = None) -> PersonaData:
    """Select, split, redact and window the persona's conversations.

    Raises:
        InputError: an unknown persona, chat or --with name, or a persona with no turns to learn from.
    """
    people = persona_chats(store, config)
    aliases = store.aliases()
    sessions = [
        session
        for chat_id in sorted(people)
        for session in split_sessions(
            _as_people(store.messages(chat_id), aliases), chat_id, SessionConfig(config.gap_hours)
        )
        if _wanted(session, config)
    ]
    sessions.sort(key=lambda session: (session.start, session.chat_id))
    held_out_from, keys = None, ()
    if config.hold_out == "spread" and config.held_out_from is None:
        keys = config.held_out_keys if config.held_out_keys is not None else spread_out(sessions, config)
    if keys:
        train, val = split_by_conversation(sessions, set(keys))
    else:  # the latest rule, or a chat too small to spread (a conversation or two): its latest turns
        held_out_from = held_out_start(sessions, config.persona, config)
        train, val = split_by_time(sessions, held_out_from)
    redactor = None
    if config.redact:
        everyone = {name for names in people.values() for name in names}
        redactor = Redactor(_hidden_names(people, config), reserved_names=everyone)
        _check_speakers(everyone, config.persona, redactor)
        train, val = _redacted(train, redactor), _redacted(val, redactor)
    data = PersonaData(
        _speaker(config.persona, redactor),
        people,
        train,
        val,
        redactor,
        config.persona,
        held_out_from=held_out_from,
        held_out_keys=keys,
    )
    data.examples = list(windows(train, data.persona, config.window_turns, config.example_tokens, count_tokens))
    if not data.examples:
        raise InputError(f"{config.persona} has no messages with words to learn from in the selected chats")
    return data


def held_out_start(sessions: list[Session], persona: str, config: DatasetConfig) -> datetime | None:
    """Where the held-out period starts: the start of the latest conversations that hold at least `val_fraction`
    of the persona's turns and span `val_conversations` conversations and `val_days` days, as far as that takes no
    more than a third of the turns. A latest conversation that alone holds more is cut at a turn.

    `sessions` are in time order. None: nothing is held out.
    """
    if config.held_out_from is not None:
        return config.held_out_from
    starts = sorted(turn.start for session in sessions for turn in session.turns if is_target(turn, persona))
    if config.val_fraction <= 0 or len(starts) < 2:
        return None
    least = math.ceil(len(starts) * config.val_fraction)
    most = max(least, math.floor(len(starts) * MAX_HELD_OUT_SHARE))
    latest_turns = starts[len(starts) - least]
    if not config.whole_conversations:
        return latest_turns
    last = max(session.end for session in sessions)
    held, conversations, start = 0, 0, None
    for session in reversed(sessions):
        targets = sum(is_target(turn, persona) for turn in session.turns)
        if held + targets > most:
            break
        held, conversations, start = held + targets, conversations + 1, session.start
        if held >= least and conversations >= config.val_conversations and last - start >= timedelta(config.val_days):
            break
    return start if held >= least else latest_turns


def recorded_split(
    persona: str, held_out_keys: tuple[ConversationKey, ...] | None, held_out_from: datetime | None, **options
) -> DatasetConfig:
    """The dataset of a run as it was split: its recorded held-out conversations (spread), else the period that
    started at `held_out_from` (latest); a run from before either was recorded held out its persona's latest
    turns."""
    if held_out_keys is not None:
        return DatasetConfig(persona, held_out_keys=held_out_keys, **options)
    return DatasetConfig(
        persona,
        hold_out="latest",
        held_out_from=held_out_from,
        whole_conversations=held_out_from is not None,
        **options,
    )


def spread_out(sessions: list[Session], config: DatasetConfig) -> tuple[ConversationKey, ...]:
    """The conversations held out by the `spread` rule: one drawn from each of k equal stretches of the chat's time
    (stretches without a conversation of the persona give none), k growing until they hold `val_fraction` of the
    persona's turns and, while that stays within `SPREAD_CEILING`, `SPREAD_MINIMUM`'s conversations and turns.
    Never every conversation; never more than a third of the turns (then the latest turns' rule decides).

    `sessions` are in time order."""
    counts = [sum(is_target(turn, config.persona) for turn in session.turns) for session in sessions]
    candidates = [index for index, count in enumerate(counts) if count]
    total = sum(counts)
    if config.val_fraction <= 0 or len(candidates) < 2:
        return ()
    least, ceiling = math.ceil(total * config.val_fraction), max(1, math.floor(total * SPREAD_CEILING))
    fewest, turns = SPREAD_MINIMUM
    chosen: list[int] = []
    chosen_held = 0
    k = max(1, least * len(candidates) // total)  # about the conversations `least` takes
    while k < len(candidates):
        picks = _one_per_stretch(sessions, candidates, counts, k, config.seed, max(least, ceiling))
        held = sum(counts[index] for index in picks)
        if held > max(least, ceiling) and chosen_held >= least:
            break  # the minimum would pass the ceiling: as many as fit
        if held > total * MAX_HELD_OUT_SHARE:
            break
        chosen, chosen_held = picks, held
        if held >= least and ((len(picks) >= fewest and held >= turns) or held >= ceiling):
            break
        k += max(1, k // 20)  # a long chat: hundreds of stretches, found in tens of steps
    if chosen_held < least:
        return ()
    return tuple((sessions[index].chat_id, sessions[index].start.isoformat()) for index in chosen)


def _one_per_stretch(
    sessions: list[Session], candidates: list[int], counts: list[int], k: int, seed: int, most: int
) -> list[int]:
    """One of `candidates` (indices of `sessions`) drawn from each of k equal stretches of time that holds any, the
    draws together holding at most `most` of the persona's turns (`counts`, per session). A drawn conversation that
    would pass that gives way to another of its stretch, and a stretch with none that fits gives none: so a chat
    with a few huge conversations still holds out whole ones, the smaller ones of its stretches."""
    first, last = sessions[candidates[0]].start, sessions[candidates[-1]].start
    width = (last - first) / k or timedelta(seconds=1)
    stretches: dict[int, list[int]] = {}
    for index in candidates:
        stretches.setdefault(min(k - 1, int((sessions[index].start - first) / width)), []).append(index)
    draw = random.Random(f"{seed}:{k}")
    picks, held = [], 0
    for _, members in sorted(stretches.items()):
        drawn = draw.choice(members)
        if held + counts[drawn] > most:  # the first draw is kept where it fits, as it always was
            others = [index for index in members if held + counts[index] <= most]
            if not others:
                continue
            drawn = random.Random(f"{seed}:{k}:{drawn}").choice(others)
        picks.append(drawn)
        held += counts[drawn]
    return sorted(picks)


def split_by_conversation(
    sessions: list[Session], held_out: set[ConversationKey]
) -> tuple[list[Session], list[Session]]:
    """(train, val): val holds the conversations `held_out` names, train every other."""
    train, val = [], []
    for session in sessions:
        (val if (session.chat_id, session.start.isoformat()) in held_out else train).append(session)
    return train, val


def split_by_time(sessions: list[Session], start: datetime | None) -> tuple[list[Session], list[Session]]:
    """(train, val): val holds every turn from `start` on, train every turn before it."""
    if start is None:
        return sessions, []
    train, val = [], []
    for session in sessions:
        before = tuple(turn for turn in session.turns if turn.start < start)
        after = tuple(turn for turn in session.turns if turn.start >= start)
        if before:
            train.append(Session(session.chat_id, before))
        if after:
            val.append(Session(session.chat_id, after))
    return train, val


def windows(
    sessions: Iterable[Session],
    persona: str,
    window_turns: int,
    example_tokens: int | None = None,
    count_tokens: Callable[[str], int] | None = None,
) -> Iterator[Example]:
    """Consecutive, non-overlapping windows of each session, each ending with a turn of the persona with words.

    A window holds at most `window_turns` turns and, with `example_tokens`, at most that many tokens of
    `Name: text` lines (a single longer turn gets a window of its own).
    """
    count_tokens = count_tokens or _estimated_tokens
    for session in sessions:
        window: list[Turn] = []
        tokens = 0
        for turn in session.turns:
            cost = count_tokens(f"{turn.sender}: {turn.text}") + _TURN_OVERHEAD_TOKENS if example_tokens else 0
            if window and (len(window) == window_turns or (example_tokens and tokens + cost > example_tokens)):
                yield from _trimmed(session.chat_id, window, persona)
                window, tokens = [], 0
            window.append(turn)
            tokens += cost
        yield from _trimmed(session.chat_id, window, persona)


def _estimated_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _trimmed(chat_id: int, window: list[Turn], persona: str) -> Iterator[Example]:
    """The window without the turns after its last target, if it has a target at all."""
    end = len(window)
    while end and not is_target(window[end - 1], persona):
        end -= 1
    if end:
        yield Example(chat_id, tuple(window[:end]))


def is_target(turn: Turn, persona: str) -> bool:
    """A turn the model learns from: the persona's, with words (not media only)."""
    return turn.sender == persona and turn.has_words


def persona_chats(store: Store, config: DatasetConfig) -> dict[int, list[str]]:
    """Chat id → participants, for the chats the selection covers; raises InputError for a bad selection."""
    aliases = store.aliases()
    everyone = [
        (chat_id, aliases.get(name, name))
        for chat_id, name in store.db.execute("SELECT chat_id, name FROM people ORDER BY chat_id, name")
    ]
    people: dict[int, list[str]] = {}
    for chat_id, name in everyone:
        if name not in people.setdefault(chat_id, []):
            people[chat_id].append(name)
    known = sorted({name for _, name in everyone})
    if config.persona not in known:
        raise InputError(
            f"no participant '{config.persona}' (known: {', '.join(known) or 'none: import a chat first'})"
        )
    chosen = {chat_id: names for chat_id, names in people.items() if config.persona in names}
    for chat_id in config.chats:
        if chat_id not in chosen:
            raise InputError(
                f"--chat {chat_id}: {config.persona} did not write in that chat (their chats: {', '.join(map(str, chosen))})"
            )
    if config.chats:
        chosen = {chat_id: chosen[chat_id] for chat_id in config.chats}
    for name in config.with_people:
        if not any(name in names for names in chosen.values()):
            raise InputError(f"--with {name}: not a participant of {config.persona}'s chats")
    return chosen


def _as_people(messages: Iterable[Message], aliases: dict[str, str]) -> Iterator[Message]:
    """The messages with every merged name written as the person's one name (people --merge)."""
    for message in messages:
        yield message._replace(sender=aliases.get(message.sender, message.sender)) if aliases else message


def _wanted(session: Session, config: DatasetConfig) -> bool:
    return not config.with_people or any(turn.sender in config.with_people for turn in session.turns)


def _hidden_names(people: dict[int, list[str]], config: DatasetConfig) -> list[str]:
    """Everyone but the persona and its partners: the --with people, or the other side of a two-person chat."""
    partners = set(config.with_people)
    for names in people.values():
        if len(names) == 2:
            partners.update(names)
    return sorted({name for names in people.values() for name in names} - partners - {config.persona})


def _redacted(sessions: list[Session], redactor: Redactor) -> list[Session]:
    return [
        Session(
            session.chat_id,
            tuple(
                Turn(
                    _speaker(turn.sender, redactor),
                    tuple(map(redactor.redact, turn.bubbles)),
                    turn.start,
                    turn.end,
                    turn.has_words,
                )
                for turn in session.turns
            ),
        )
        for session in sessions
    ]


def _check_speakers(everyone: set[str], persona: str, redactor: Redactor) -> None:
    """Fail loudly unless redaction keeps every participant apart: the persona's turns, and only those, must
    stay the persona's (the assistant turns of a hosted dataset), and no two people may become one.

    Raises:
        RedactionError: two participants would be written under one name.
    """
    speakers: dict[str, str] = {}
    for name in sorted(everyone, key=lambda name: name != persona):  # the persona first
        speaker = _speaker(name, redactor)
        if speaker in speakers:
            who = "the persona and another participant" if speakers[speaker] == persona else "two participants"
            raise RedactionError(
                f"redaction would write {who} as '{speaker}'; nothing was written (please report this)"
            )
        speakers[speaker] = name


def _speaker(name: str, redactor: Redactor | None) -> str:
    return redactor.redact(name) if redactor else name


def counterpart(store: Store, persona: str) -> str:
    """Who the persona writes with most: who "you" are by default when talking to the clone.

    Raises:
        InputError: an unknown persona.
    """
    chats = persona_chats(store, DatasetConfig(persona))
    aliases = store.aliases()
    written: dict[str, int] = {}
    for person in store.people():
        name = aliases.get(person.name, person.name)
        if person.chat_id in chats and name != persona:
            written[name] = written.get(name, 0) + person.messages
    return max(written, key=lambda name: (written[name], name)) if written else "You"


def reply_moments(
    sessions: Iterable[Session], persona: str, count: int, context_turns: int = 8
) -> list[tuple[tuple[Turn, ...], Turn]]:
    """Up to `count` (context, reply) pairs, spread evenly over the sessions: a persona turn with words and the
    turns of its session just before it (at least one)."""
    candidates = [
        (session.turns[max(0, index - context_turns) : index], turn)
        for session in sessions
        for index, turn in enumerate(session.turns)
        if index and is_target(turn, persona)
    ]
    if len(candidates) <= count:
        return candidates
    return [candidates[i * len(candidates) // count] for i in range(count)]
