"""How the relationship feels, and how that changed: each person's tone over time, the warmest and the tensest
conversations with their evidence, and the first third of the chat against the last.

Tone is VADER's compound score (Hutto & Gilbert 2014, the `vaderSentiment` package) of each sampled text, from
-1 (hostile) to +1 (warm). VADER is a lexicon and rules made for social-media English: it reads slang, emoji,
"!!", capitals and "but"; other languages it does not read, so tone is shown only where English is one of the
chat's languages, and said so.
"""

import statistics
from collections import defaultdict
from collections.abc import Callable

from gptisyou.portrait.facts import Chats, Conversation, Tally, median, share
from gptisyou.portrait.topics import bucketing

LANGUAGES = ("en",)  # what VADER reads
MIN_BUCKET_TEXTS = 5  # a time bucket's tone from fewer texts is left out
MIN_CONVERSATION_TEXTS = 8  # a conversation is ranked warmest or tensest on at least this many texts
EXTREMES = 2  # conversations shown at each end
EVIDENCE_WIDTH = 90


def reader() -> Callable[[str], float] | None:
    """The tone of a text, from -1 to 1; None without the vaderSentiment package."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyser = SentimentIntensityAnalyzer()
    return lambda text: analyser.polarity_scores(text)["compound"]


def tone(counted: Chats, names: list[str]) -> dict:
    """{"by_time": {name: {bucket: mean tone}}, "warmest": [...], "tensest": [...], "change": {...}} of `names`."""
    conversations = counted.conversations
    bucket = bucketing(conversations[0].start, conversations[-1].start)
    by_time = {}
    for name in names:
        scores = defaultdict(list)
        for moment, score in counted.tally(name).tones:
            scores[bucket(moment)].append(score)
        enough = {key: values for key, values in sorted(scores.items()) if len(values) >= MIN_BUCKET_TEXTS}
        by_time[name] = {key: round(statistics.fmean(values), 3) for key, values in enough.items()}
    ranked = sorted((c for c in conversations if len(c.toned) >= MIN_CONVERSATION_TEXTS), key=_mean)
    warmest = ranked[::-1][:EXTREMES]
    return {
        "library": "VADER (vaderSentiment), English",
        "by_time": by_time,
        "warmest": [_shown(c, warm=True) for c in warmest],
        "tensest": [_shown(c, warm=False) for c in ranked[:EXTREMES] if c not in warmest],
        "change": _change(counted, names),
    }


def _mean(conversation: Conversation) -> float:
    return statistics.fmean(score for score, _ in conversation.toned)


def _shown(conversation: Conversation, warm: bool) -> dict:
    """A conversation at one end: its day, its mean tone and its two warmest (or tensest) lines."""
    lines = sorted(conversation.toned, key=lambda pair: pair[0], reverse=warm)[:2]
    evidence = [_cut(text) for _, text in lines]
    return {"day": f"{conversation.start:%Y-%m-%d}", "tone": round(_mean(conversation), 3), "evidence": evidence}


def _cut(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= EVIDENCE_WIDTH else line[: EVIDENCE_WIDTH - 1].rstrip() + "…"


def _change(counted: Chats, names: list[str]) -> dict:
    """The first third of the chat's time against the last third, for each person: tone, words per turn, minutes
    to answer, and the share of the conversations they started."""
    conversations = counted.conversations
    first, last = conversations[0].start, conversations[-1].start
    third = (last - first) / 3
    early, late = first + third, last - third

    early_day, late_day = early.toordinal(), late.toordinal()

    def thirds(days_values, reduce) -> tuple[float | None, float | None]:
        """`reduce` of the values of the first third's days and of the last third's, from (day ordinal, value)."""
        pairs = list(days_values)
        before = [value for day, value in pairs if day <= early_day]
        after = [value for day, value in pairs if day >= late_day]
        return reduce(before), reduce(after)

    def mean(values: list[float]) -> float | None:
        return round(statistics.fmean(values), 3) if values else None

    def minutes(values: list[float]) -> float | None:
        return round(median(values), 1) if values else None

    def opened_share(values: list[float]) -> float | None:
        return round(share(int(sum(values)), len(values)) or 0, 3) if values else None

    change = {"first_third_until": f"{early:%Y-%m-%d}", "last_third_from": f"{late:%Y-%m-%d}", "people": {}}
    for name in names:
        tally: Tally = counted.tally(name)
        opened = ((c.start.toordinal(), float(c.opener == name)) for c in conversations)
        replies = zip(tally.reply_days, (seconds / 60 for seconds in tally.reply_seconds), strict=True)
        change["people"][name] = {
            "tone": thirds(((moment.toordinal(), score) for moment, score in tally.tones), mean),
            "turn_words": thirds(zip(tally.turn_days, tally.turn_words, strict=True), median),
            "reply_minutes": thirds(replies, minutes),
            "opened_share": thirds(opened, opened_share),
        }
    return change
