"""How a person writes, in a few plain lines a chat model can follow: the card of the prompted (endpoint) clone.

It is read from the sessions the caller gives, never from the whole workspace on its own: a run's training period
when the card is to be judged (`eval` never lets the held-out conversations into it), everything otherwise. The
measures are the portrait's: words and bubbles per turn, casing, laughter, emoji, punctuation habits, the words
and phrases most distinctively theirs against the people they write to, and the usual topics of their talk.
"""

import statistics
from collections import Counter
from collections.abc import Sequence

from gptisyou.data.conversations import Session
from gptisyou.data.writing import WORD
from gptisyou.portrait import facts, topics, voice

DISTINCTIVE = 15  # words and phrases named on the card
TOPICS = 5
HABIT = 0.05  # a habit is named once at least this share of their messages shows it


def card(sessions: Sequence[Session], persona: str) -> str:
    """The card of `persona` from `sessions`: one line per trait, the ones the sessions say nothing about left out."""
    mine, others = facts.Tally(persona), Counter()
    for session in sessions:
        for turn in session.turns:
            if not turn.has_words:
                continue
            if turn.sender != persona:
                for bubble in turn.bubbles:
                    voice.add(others, bubble)
                continue
            mine.turn_words.append(len(WORD.findall(turn.text)))
            mine.turn_bubbles.append(len(turn.bubbles))
            for bubble in turn.bubbles:
                mine.add_text(bubble)
    if not mine.turn_words:
        return f"{persona} writes short chat messages."
    lines = [_length(mine), *_habits(mine)]
    if terms := voice.distinctive(mine.terms, others, top=DISTINCTIVE):
        lines.append("Words and phrases typical of them: " + ", ".join(f'"{term.text}"' for term in terms) + ".")
    if found := _topics(sessions):
        lines.append("What they usually talk about: " + "; ".join(found) + ".")
    return "\n".join(f"- {line}" for line in lines)


def bubbles_per_turn(sessions: Sequence[Session], persona: str) -> float:
    """How many separate messages the persona sends in a row, on average (1 without any turn of theirs)."""
    counts = [len(turn.bubbles) for s in sessions for turn in s.turns if turn.sender == persona and turn.has_words]
    return statistics.fmean(counts) if counts else 1.0


def _length(tally: facts.Tally) -> str:
    words = statistics.median(tally.turn_words)
    bubbles = statistics.fmean(tally.turn_bubbles)
    several = sum(count > 1 for count in tally.turn_bubbles) / len(tally.turn_bubbles)
    split = f"and split {several:.0%} of their turns into several messages" if several >= HABIT else "in one message"
    return f"A turn of theirs is usually {words:g} words long ({bubbles:.1f} messages on average), {split}."


def _habits(tally: facts.Tally) -> list[str]:
    said = []
    if tally.with_letters:
        lower = tally.all_lower / tally.with_letters
        said.append(f"{lower:.0%} of their messages are all lower case." if lower >= HABIT else "They use capitals.")
    shares = {
        "laugh": tally.laughing / tally.sampled,
        "question": tally.questions / tally.sampled,
        "!!": tally.double_bang / tally.sampled,
        "...": tally.ellipsis / tally.sampled,
    }
    if shares["laugh"] >= HABIT:
        written = ", ".join(f'"{laugh}"' for laugh, _ in tally.laughter.most_common(3))
        said.append(f"They laugh in writing in {shares['laugh']:.0%} of messages, as {written}.")
    per_100 = 100 * tally.emoji / tally.sampled
    if tally.emoji:
        used = Counter({term: n for term, n in tally.terms.items() if voice.EMOJI.fullmatch(term)})
        said.append(f"{per_100:.0f} emoji per 100 messages, mostly {' '.join(e for e, _ in used.most_common(5))}.")
    else:
        said.append("They never use emoji.")
    marks = [f'"{mark}" in {share:.0%}' for mark, share in shares.items() if mark != "laugh" and share >= HABIT]
    if marks:
        said.append("Punctuation: " + ", ".join(marks) + " of messages.")
    return said


def _topics(sessions: Sequence[Session]) -> list[str]:
    """A few words for each of the conversations' main topics; none without the eval extra (scikit-learn)."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return []
    conversations = [
        facts.Conversation(session.start, "\n".join(turn.text for turn in session.turns if turn.has_words))
        for session in sessions
    ]
    spoken = [language for language, _ in topics.languages([c.text for c in conversations])]
    found, _ = topics.find(conversations, spoken)
    return [topic.label.replace(" · ", ", ") for topic in found[:TOPICS]]
