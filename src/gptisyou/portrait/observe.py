"""What kind of person each of them is, in sentences, each with the figures that back it and the other person's
beside them: "Robin seldom starts a conversation: 21 % of them, against 79 % for Sam."

An observation compares the two people of a portrait on one measure, and is said only where they differ enough to
mean something:
- shares (of messages, turns or conversations) at least `RATIO` times and `POINTS` apart, and apart beyond chance
  (a two-proportion z-test, |z| ≥ `Z`);
- amounts (words per turn, minutes to answer, emoji per 100 messages) at least `RATIO` times apart;
- each person with at least `ENOUGH` messages, turns or answers behind their figure (`ENOUGH_CONVERSATIONS`
  conversations for who starts and who ends them).
Equal behaviour says nothing. Without anybody else in the chats there is nobody to compare with, and nothing is said.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

from gptisyou.portrait.said import duration, isolated

RATIO, POINTS, Z = 1.4, 0.04, 2.0
ENOUGH, ENOUGH_CONVERSATIONS = 20, 10
DISTINCTIVE_COUNT = 5  # a word named as someone's own was written at least this many times
_NIGHT_HOURS = range(5)  # midnight to 5 am
_WEEKEND = (5, 6)


@dataclass(frozen=True, slots=True)
class Measure:
    value: Callable[[dict], float | None]  # of a person's portrait
    support: str  # what the figure is counted over: the key of the person's "counts"
    more: str  # said of the person with the larger value: {p} them, {o} the other, {a} theirs, {b} the other's
    less: str  # said of the person with the smaller value
    share: bool = True  # a share (0-1, shown in %), else an amount
    floor: float = 0.0  # the larger value must pass this to be worth a sentence
    shown: Callable[[float, bool], str] | None = None  # an amount as words (the minute flag: times to the minute)


def _glance(key: str) -> Callable[[dict], float | None]:
    return lambda person: person["glance"][key]


def _habit(key: str) -> Callable[[dict], float | None]:
    return lambda person: person["voice"]["habits"][key]


def _hours_share(hours: range, days: tuple[int, ...] = tuple(range(7))) -> Callable[[dict], float | None]:
    def share(person: dict) -> float | None:
        grid = person["rhythm"]["by_weekday_hour"]
        total = sum(map(sum, grid))
        return sum(grid[day][hour] for day in days for hour in hours) / total if total else None

    return share


MEASURES = (
    Measure(
        _glance("opened_share"),
        "conversations",
        "{p} is the one who starts conversations: {a} of them, against {b} for {o}.",
        "{p} seldom starts a conversation: {a} of them, against {b} for {o}.",
    ),
    Measure(
        _glance("closed_share"),
        "conversations",
        "{p} usually has the last word: they end {a} of your conversations, {o} {b}.",
        "{p} rarely has the last word: they end {a} of your conversations, {o} {b}.",
    ),
    Measure(
        _habit("questions"),
        "sampled",
        "{p} asks more questions: {a} of their messages ask something, against {b} of {o}'s.",
        "{p} asks fewer questions: {a} of their messages ask something, against {b} of {o}'s.",
    ),
    Measure(
        _glance("median_turn_words"),
        "turns",
        "{p} writes longer turns: typically {a} words, against {b} for {o}.",
        "{p} keeps it short: typically {a} words a turn, against {b} for {o}.",
        share=False,
    ),
    Measure(
        _glance("mean_bubbles_per_turn"),
        "turns",
        "{p} sends several messages in a row: {a} per turn on average, against {b} for {o}.",
        "{p} says it in one message: {a} per turn on average, against {b} for {o}.",
        share=False,
    ),
    Measure(
        _glance("median_reply_minutes"),
        "answers",
        "{p} takes their time to answer: {a} (median), against {b} for {o}.",
        "{p} answers fast: {a} (median), against {b} for {o}.",
        share=False,
        shown=lambda minutes, to_the_minute: duration(minutes, to_the_minute),
    ),
    Measure(
        _hours_share(_NIGHT_HOURS),
        "messages",
        "{p} is the night owl: {a} of their messages are written between midnight and 5 am, {o}'s {b}.",
        "{p} keeps to the day: {a} of their messages are written between midnight and 5 am, {o}'s {b}.",
    ),
    Measure(
        _hours_share(range(24), _WEEKEND),
        "messages",
        "{p} writes more at weekends: {a} of their messages, against {b} of {o}'s.",
        "{p} writes more on weekdays: {a} of their messages are at weekends, against {b} of {o}'s.",
    ),
    Measure(
        _habit("all_lower_case"),
        "sampled",
        "{p} writes in lower case: {a} of their messages, against {b} of {o}'s.",
        "{p} uses capitals: only {a} of their messages are all lower case, against {b} of {o}'s.",
    ),
    Measure(
        _habit("laughing"),
        "sampled",
        "{p} laughs in writing more: {a} of their messages, against {b} of {o}'s.",
        "{p} laughs in writing less: {a} of their messages, against {b} of {o}'s.",
    ),
    Measure(
        _glance("emoji_per_100_messages"),
        "sampled",
        "{p} uses more emoji: {a} per 100 messages, against {b} for {o}.",
        "{p} uses fewer emoji: {a} per 100 messages, against {b} for {o}.",
        share=False,
        floor=2,
    ),
    Measure(
        _habit("ellipsis"),
        "sampled",
        "{p} trails off with “...”: in {a} of their messages, against {b} of {o}'s.",
        "{p} rarely trails off with “...”: {a} of their messages, against {b} of {o}'s.",
    ),
    Measure(
        _habit("double_exclamation"),
        "sampled",
        "{p} is the emphatic one: “!!” in {a} of their messages, against {b} of {o}'s.",
        "{p} is the calmer one: “!!” in {a} of their messages, against {b} of {o}'s.",
    ),
    Measure(
        _glance("media_share"),
        "messages",
        "{p} sends more photos and media: {a} of their messages, against {b} of {o}'s.",
        "{p} sends fewer photos and media: {a} of their messages, against {b} of {o}'s.",
    ),
)


def observations(portrait: dict, name: str) -> list[str]:
    """What sets `name` (the persona or whom they write with) apart from the other, in sentences with figures;
    empty without another person to compare with."""
    if portrait["with"] is None:
        return []
    other = portrait["with"] if name == portrait["persona"] else portrait["persona"]
    mine, theirs = portrait["people"][name], portrait["people"][other]
    said = [sentence for measure in MEASURES if (sentence := _compare(measure, mine, theirs, name, other, portrait))]
    own = [term["text"] for term in mine["voice"]["distinctive"] if term["count"] >= DISTINCTIVE_COUNT][:4]
    if own and min(mine["counts"]["sampled"], theirs["counts"]["sampled"]) >= ENOUGH:
        words = ", ".join(f"“{isolated(word)}”" for word in own)
        said.append(f"Words that are {isolated(name)}'s rather than {isolated(other)}'s: {words}.")
    return said


def _compare(measure: Measure, mine: dict, theirs: dict, name: str, other: str, portrait: dict) -> str | None:
    a, b = measure.value(mine), measure.value(theirs)
    n, m = mine["counts"][measure.support], theirs["counts"][measure.support]
    if a is None or b is None or min(n, m) < (ENOUGH_CONVERSATIONS if measure.support == "conversations" else ENOUGH):
        return None
    low, high = sorted((a, b))
    if high <= measure.floor or (low > 0 and high / low < RATIO):
        return None
    if measure.share and (high - low < POINTS or abs(_z(a, n, b, m)) < Z):
        return None
    template = measure.more if a > b else measure.less
    shown = {"a": _shown(measure, a, portrait), "b": _shown(measure, b, portrait)}
    return template.format(p=isolated(name), o=isolated(other), **shown)


def _z(a: float, n: int, b: float, m: int) -> float:
    """The two-proportion z statistic of shares `a` of `n` and `b` of `m` (pooled)."""
    pooled = (a * n + b * m) / (n + m)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
    return (a - b) / spread if spread else 0.0


def _shown(measure: Measure, value: float, portrait: dict) -> str:
    if measure.share:
        return f"{value:.0%}"
    if measure.shown:
        return measure.shown(value, portrait.get("times_to_the_minute", False))
    return f"{value:.1f}".removesuffix(".0")
