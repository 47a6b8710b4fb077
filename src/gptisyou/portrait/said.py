"""The portrait in plain words: what the terminal prints, the page's first lines, and what `ask --preset
personality|topics` answers (from the data, at any model size, instead of asking a small model to analyse).

Every name and word from the chats sits in a Unicode isolate (U+2068 … U+2069) with its own direction marks taken
out, so a name written right to left, or one ending in an unclosed U+202E, turns nothing around it (a sentence's
figures included). The page keeps the isolates; the terminal drops them (`cli.context.printable`)."""

import re

_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def isolated(text: str) -> str:
    """`text` as an isolate: read in its own direction, turning nothing around it."""
    return f"\u2068{_BIDI.sub('', text)}\u2069"


def glance(portrait: dict) -> list[str]:
    """The portrait's main facts in plain words."""
    persona, mine = isolated(portrait["persona"]), portrait["people"][portrait["persona"]]["glance"]
    alone = portrait["with"] is None  # nobody else wrote in their chats
    other = isolated(portrait["with"] or "")
    theirs = {} if alone else portrait["people"][portrait["with"]]["glance"]
    minute = portrait.get("times_to_the_minute", False)
    said = []
    if mine["messages"]:
        said.append(
            f"{persona} wrote {mine['messages']:,} messages ({mine['words']:,} words) from {mine['first']} "
            f"to {mine['last']}"
            + ("; nobody else wrote in these chats." if alone else f"; {other} wrote {theirs['messages']:,}.")
        )
    if mine["opened_share"] is not None and not alone:
        said.append(
            f"{persona} opened {mine['opened_share']:.0%} of your {portrait['conversations']:,} "
            f"conversations, {other} {theirs['opened_share'] or 0:.0%}."
        )
    if mine["median_reply_minutes"] is not None and not alone and theirs["median_reply_minutes"] is not None:
        said.append(
            f"{persona} answers {_after(mine['median_reply_minutes'], minute)} (median), {other} "
            f"{_after(theirs['median_reply_minutes'], minute)}."
        )
    if mine["median_turn_words"] is not None:
        said.append(
            f"A turn of {persona}'s is typically {mine['median_turn_words']:g} words in "
            f"{mine['mean_bubbles_per_turn'] or 0:.1f} messages"
            + (
                "."
                if alone
                else f"; {other}'s {theirs['median_turn_words'] or 0:g} words in "
                f"{theirs['mean_bubbles_per_turn'] or 0:.1f}."
            )
        )
    distinctive = portrait["people"][portrait["persona"]]["voice"]["distinctive"][:5]
    if distinctive:
        said.append(
            f"Most distinctively {persona}'s: "
            + ", ".join(f"“{isolated(term['text'])}”" for term in distinctive)
            + "."
        )
    if portrait["topics"]:
        said.append(
            "Most talked about: " + "; ".join(isolated(topic["label"]) for topic in portrait["topics"][:3]) + "."
        )
    return said


def personality(portrait: dict) -> list[str]:
    """What the person is like, as far as the chats show it: what sets them apart from whom they write with, each
    with its figures (`observe`); their main facts where nothing does, or nobody else wrote."""
    observed = portrait.get("observations", {}).get(portrait["persona"])
    return [*portrait["notes"], *(observed or glance(portrait))]


def topics(portrait: dict) -> list[str]:
    """What the conversations were about, each topic with its words, its share and a line of evidence."""
    if not portrait["topics"]:
        return [portrait.get("topics_missing") or "No topics found."]
    lines = []
    for number, topic in enumerate(portrait["topics"], start=1):
        example = next((line for line in topic["examples"] if line), "")
        lines.append(
            f"{number}. {isolated(topic['label'])} ({topic['share']:.0%}, {topic['first']} to {topic['last']})"
            + (f" — e.g. “{isolated(example)}”" if example else "")
        )
    return lines


def _after(minutes: float, to_the_minute: bool) -> str:
    """ "in 5 min", or "within the minute"."""
    delay = duration(minutes, to_the_minute)
    return delay if delay == "within the minute" else f"in {delay}"


def duration(minutes: float, to_the_minute: bool = False) -> str:
    """A delay in words; under a minute where the export's times are to the minute is "within the minute"."""
    if minutes < 1 and to_the_minute:
        return "within the minute"
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 90:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"
