"""A portrait of one person from the workspace: the facts of every chat they wrote in, as one JSON-able dict that
the page, the terminal summary and `--json` all show.

The person is compared with the people they write with: `with_name` (default: whoever they write with most)
gets the same portrait beside theirs, and their voice is what sets them apart from everyone else in those chats.
"""

from collections import Counter
from datetime import datetime

from gptisyou.data.dataset import DatasetConfig, counterpart, persona_chats
from gptisyou.data.redact import Redactor
from gptisyou.errors import InputError
from gptisyou.portrait import beside, facts, observe, tone, topics, voice
from gptisyou.portrait.said import isolated
from gptisyou.store.database import Store

REPLY_BINS_MINUTES = (1, 5, 15, 60, 180, 720, 1440)  # the reply-delay histogram's upper edges; beyond: later
MIN_MESSAGES = 20  # fewer, and a portrait says nothing
GROUP_MEMBERS = 8  # the most who are shown answering each other in a group chat
MIN_OCCURRENCES = 3  # an opener, sign-off or laugh seen fewer times is not shown as theirs


def portrait(
    store: Store, persona: str, with_name: str | None = None, redact: bool = False, gap_hours: float = 4.0
) -> dict:
    """The facts of `persona` and `with_name` across the persona's chats (those with `with_name` in them, if
    given), ready for JSON.

    Raises:
        InputError: an unknown persona, or a `with_name` who shares no chat with them.
    """
    chats, other = _chats_with(store, persona, with_name)
    aliases = store.aliases()
    everyone = {name for names in chats.values() for name in names}
    redactor = Redactor.hiding_others(everyone, (persona, other)) if redact else None
    tone_of = tone.reader()
    counted = facts.count(
        (store.message_rows(chat_id) for chat_id in sorted(chats)),
        total=store.text_count(sorted(chats)),
        gap_hours=gap_hours,
        name_of=lambda name: aliases.get(name, name),
        text_of=redactor.redact if redactor else str,
        tone_of=tone_of,
    )
    titles = dict(store.db.execute("SELECT id, title FROM chats"))
    result = {
        "persona": persona,
        "with": other,
        "chats": [
            {"id": chat_id, "title": titles.get(chat_id, ""), "people": names} for chat_id, names in chats.items()
        ],
        "notes": _too_few(counted, persona),
    }
    result["people"] = {name: _person_of(name, counted) for name in people_of(result)}
    result |= _topics(counted)
    if counted.texts_sampled < counted.texts_read:
        result["notes"].append(
            f"Voice, habits and topics were read from an even sample of {counted.texts_sampled:,} "
            f"of the {counted.texts_read:,} texts; every other figure counts every message."
        )
    if result["topics_missing"]:
        result["notes"].append(result["topics_missing"])
    result["tone"], unread = _tone(counted, result, tone_of is not None)
    if unread:
        result["notes"].append(unread)
    result["silences"] = [
        {"days": round(days, 1), "from": f"{start:%Y-%m-%d}", "to": f"{end:%Y-%m-%d}"}
        for days, start, end in counted.silences
    ]
    result["conversations"] = len(counted.conversations)
    result["times_to_the_minute"] = not counted.to_the_second
    result["clone"] = _clone_beside(store, persona)
    result["observations"] = {name: observe.observations(result, name) for name in people_of(result)}
    result["group"] = _group(counted) if len(counted.tallies) > 2 else None
    return _redacted(result, redactor) if redactor else result


def _chats_with(store: Store, persona: str, with_name: str | None) -> tuple[dict, str | None]:
    """The persona's chats (those with `with_name` in them, if given), and whom the portrait sets beside them:
    `with_name`, else whom they write with most (None: nobody else wrote in their chats).

    Raises:
        InputError: an unknown persona, or a `with_name` who shares no chat with them.
    """
    chats = persona_chats(store, DatasetConfig(persona))
    if with_name == persona:
        raise InputError(f"--with {with_name}: that is whom the portrait is of; name someone they write with")
    aliases = store.aliases()
    alone = all(aliases.get(name, name) == persona for names in chats.values() for name in names)
    if with_name is None:
        return chats, None if alone else counterpart(store, persona)
    chats = {chat_id: names for chat_id, names in chats.items() if with_name in names}
    if not chats:
        raise InputError(f"--with {with_name}: not a participant of {persona}'s chats")
    return chats, with_name


def _too_few(counted: facts.Chats, persona: str) -> list[str]:
    mine = counted.tallies.get(persona) or facts.Tally(persona)
    if mine.messages >= MIN_MESSAGES:
        return []
    too_few = f"{isolated(persona)} wrote {mine.messages} message(s) in these chats: too few for a portrait to say "
    return [too_few + f"anything (it needs {MIN_MESSAGES})."]


def _person_of(name: str, counted: facts.Chats) -> dict:
    """One person's facts, their terms set against everyone else's."""
    others = Counter()
    for someone, their in counted.tallies.items():
        if someone != name:
            others.update(their.terms)
    return _person(counted.tallies.get(name) or facts.Tally(name), others, len(counted.conversations), counted)


def people_of(portrait: dict) -> list[str]:
    """Whom the portrait shows: the persona, and whom they write with unless nobody else wrote in their chats."""
    return [portrait["persona"], *([portrait["with"]] if portrait["with"] is not None else [])]


def _topics(counted: facts.Chats) -> dict:
    """The languages the conversations are written in, and their topics."""
    spoken = topics.languages([conversation.text for conversation in counted.conversations])
    found, missing = topics.find(counted.conversations, [language for language, _ in spoken])
    conversations = counted.conversations
    axis = topics.bucket_kind(conversations[0].start, conversations[-1].start) if conversations else "month"
    return {
        "topics_missing": missing,
        "languages": [{"language": language, "share": round(part, 3)} for language, part in spoken],
        "topic_axis": axis,  # what the keys of each topic's by_time are: a day, a week's Monday, or a month
        "topics": [_topic(topic) for topic in found],
    }


def _topic(topic: topics.Topic) -> dict:
    shares = {bucket: round(part, 4) for bucket, part in topic.by_time.items()}
    return {
        "label": topic.label,
        "words": list(topic.words),
        "examples": list(topic.examples),
        "share": round(topic.share, 4),
        "by_time": shares,
        "first": topic.first,
        "last": topic.last,
    }


def _group(counted: facts.Chats) -> dict:
    """Who answers whom among the `GROUP_MEMBERS` who write most: each row's shares of the turns it wrote within
    `facts.ANSWER_MINUTES` of someone else's; and each member in one line."""
    members = sorted(counted.tallies, key=lambda name: counted.tallies[name].messages, reverse=True)[:GROUP_MEMBERS]
    matrix = []
    for name in members:
        answered = sum(counted.answers[name, other] for other in members)
        matrix.append([round(facts.share(counted.answers[name, other], answered) or 0, 3) for other in members])
    written = sum(tally.messages for tally in counted.tallies.values())
    lines = []  # one per member, in the same order (a list: the portrait's dict keys are never redacted)
    for name in members:
        tally = counted.tallies[name]
        most = max(members, key=lambda other: counted.answers[name, other] if other != name else -1)
        lines.append(
            f"{isolated(name)}: {facts.share(tally.messages, written) or 0:.0%} of the messages, typically "
            f"{facts.median(tally.turn_words) or 0:g} words a turn, started {tally.opened} conversation(s); answers "
            f"{isolated(most)} most."
        )
    return {"members": members, "answers": matrix, "answer_minutes": facts.ANSWER_MINUTES, "lines": lines}


def _tone(counted: facts.Chats, result: dict, read: bool) -> tuple[dict | None, str | None]:
    """(the tone section, or None; why it is missing, where it is for a reason worth saying)."""
    spoken = [entry["language"] for entry in result["languages"]]
    if not counted.conversations:
        return None, None
    if not read:
        return None, "No tone: it is read with VADER (pip install vaderSentiment, in the eval extra)."
    if not set(spoken) & set(tone.LANGUAGES):
        return (
            None,
            f"No tone: VADER reads English only, and these chats are in {', '.join(spoken) or 'another language'}.",
        )
    return tone.tone(counted, people_of(result)), None


def _clone_beside(store: Store, persona: str) -> dict | None:
    """The clone's replies beside the real ones, from the persona's latest evaluated run; None without one."""
    from gptisyou.store.runs import Run

    try:
        run = Run.latest(store.path.parent, persona)
    except InputError:
        return None
    return beside.beside(run.eval_metrics, persona)


def _person(tally: facts.Tally, others: Counter, sessions: int, counted: facts.Chats) -> dict:
    written = sum(t.messages for t in counted.tallies.values())
    reply = tally.reply_seconds
    return {
        "glance": {
            "messages": tally.messages,
            "share_of_messages": _round(facts.share(tally.messages, written)),
            "words": tally.words,
            "first": _day(tally.first),
            "last": _day(tally.last),
            "conversations": tally.sessions,
            "opened": tally.opened,
            "opened_share": _round(facts.share(tally.opened, sessions)),
            "closed_share": _round(facts.share(tally.closed, sessions)),
            "median_reply_minutes": _round(_minutes(facts.median(reply))),
            "median_turn_words": facts.median(tally.turn_words),
            "mean_bubbles_per_turn": _round(facts.share(sum(tally.turn_bubbles), len(tally.turn_bubbles))),
            "emoji_per_100_messages": _round(100 * (facts.share(tally.emoji, tally.sampled) or 0)),
            "media_share": _round(facts.share(tally.media, tally.messages)),
        },
        "counts": {
            "messages": tally.messages,
            "turns": len(tally.turn_words),
            "answers": len(reply),
            "conversations": sessions,
            "sampled": tally.sampled,
        },  # what each figure is counted over
        "rhythm": {
            "by_weekday_hour": tally.by_hour,
            "by_month": dict(sorted(tally.by_month.items())),
            "reply_minutes_histogram": _histogram(reply),
        },
        "voice": {
            "distinctive": [_term(term) for term in voice.distinctive(tally.terms, others, top=20)],
            "emoji": [
                _term(term) for term in voice.distinctive(tally.terms, others, top=10, min_count=2, emoji_only=True)
            ],
            "openers": _enough(tally.openers.most_common(5)),
            "sign_offs": _enough(tally.sign_offs.most_common(5)),
            "habits": {
                "all_lower_case": _round(facts.share(tally.all_lower, tally.with_letters)),
                "double_exclamation": _round(facts.share(tally.double_bang, tally.sampled)),
                "ellipsis": _round(facts.share(tally.ellipsis, tally.sampled)),
                "questions": _round(facts.share(tally.questions, tally.sampled)),
                "laughing": _round(facts.share(tally.laughing, tally.sampled)),
                "laughter": _enough(tally.laughter.most_common(5)),
            },
        },
    }


def _enough(counted: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The forms seen at least `MIN_OCCURRENCES` times: a row built on one or two says nothing."""
    return [(form, count) for form, count in counted if count >= MIN_OCCURRENCES]


def _histogram(seconds: list[float]) -> dict[str, int]:
    counts = dict.fromkeys([*(f"≤ {_label(edge)}" for edge in REPLY_BINS_MINUTES), "later"], 0)
    for value in seconds:
        minutes = value / 60
        edge = next((edge for edge in REPLY_BINS_MINUTES if minutes <= edge), None)
        counts[f"≤ {_label(edge)}" if edge else "later"] += 1
    return counts


def _label(minutes: int) -> str:
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"


def _term(term: voice.Term) -> dict:
    return {"text": term.text, "z": round(term.z, 2), "count": term.count, "others": term.others}


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _day(moment: datetime | None) -> str | None:
    return f"{moment:%Y-%m-%d}" if moment else None


def _redacted(value, redactor: Redactor):
    """Every quoted string of the portrait with phone numbers, addresses and third parties' names replaced."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):  # its keys are field names, dates and the pair's names: nothing to hide
        return {key: _redacted(item, redactor) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item, redactor) for item in value]
    return value
