"""The portrait in plain words: what the terminal prints, the page's first lines, and what `ask --preset
personality|topics` answers (from the data, at any model size, instead of asking a small model to analyse)."""


def glance(portrait: dict) -> list[str]:
    """The portrait's main facts in plain words."""
    persona, other = portrait["persona"], portrait["with"]
    mine, theirs = portrait["people"][persona]["glance"], portrait["people"][other]["glance"]
    said = []
    if mine["messages"]:
        said.append(f"{persona} wrote {mine['messages']:,} messages ({mine['words']:,} words) from {mine['first']} "
                    f"to {mine['last']}; {other} wrote {theirs['messages']:,}.")  # fmt: skip
    if mine["opened_share"] is not None:
        said.append(f"{persona} opened {mine['opened_share']:.0%} of your {portrait['conversations']:,} "
                    f"conversations, {other} {theirs['opened_share'] or 0:.0%}.")  # fmt: skip
    if mine["median_reply_minutes"] is not None and theirs["median_reply_minutes"] is not None:
        said.append(f"{persona} answers in {duration(mine['median_reply_minutes'])} (median), {other} in "
                    f"{duration(theirs['median_reply_minutes'])}.")  # fmt: skip
    if mine["median_turn_words"] is not None:
        said.append(f"A turn of {persona}'s is typically {mine['median_turn_words']:g} words in "
                    f"{mine['mean_bubbles_per_turn'] or 0:.1f} messages; {other}'s {theirs['median_turn_words'] or 0:g} "
                    f"words in {theirs['mean_bubbles_per_turn'] or 0:.1f}.")  # fmt: skip
    distinctive = portrait["people"][persona]["voice"]["distinctive"][:5]
    if distinctive:
        said.append(f"Most distinctively {persona}'s: " + ", ".join(f"“{term['text']}”" for term in distinctive) + ".")
    if portrait["topics"]:
        said.append("Most talked about: " + "; ".join(", ".join(topic["words"][:3]) for topic in portrait["topics"][:3])
                    + ".")  # fmt: skip
    return said


def personality(portrait: dict) -> list[str]:
    """What the person is like, as far as the chats show it: their rhythm, their voice, their habits."""
    persona = portrait["persona"]
    person = portrait["people"][persona]
    voice, habits = person["voice"], person["voice"]["habits"]
    said = glance(portrait)
    grid = person["rhythm"]["by_weekday_hour"]
    hours = [sum(day[hour] for day in grid) for hour in range(24)]
    if sum(hours):
        peak = max(range(24), key=hours.__getitem__)
        said.append(f"{persona} writes most around {peak}:00.")
    if habits["all_lower_case"] is not None:
        said.append(f"{habits['all_lower_case']:.0%} of their messages are all lower-case; {habits['questions'] or 0:.0%} "
                    f"ask something; {habits['double_exclamation'] or 0:.0%} have “!!”.")  # fmt: skip
    if habits["laughter"]:
        said.append("They laugh with " + ", ".join(f"“{form}”" for form, _ in habits["laughter"][:3]) + ".")
    if voice["emoji"]:
        said.append("Their emoji: " + " ".join(term["text"] for term in voice["emoji"][:6]) + ".")
    if voice["openers"]:
        said.append(
            "They open a conversation with " + ", ".join(f"“{word}”" for word, _ in voice["openers"][:3]) + "."
        )
    return [*portrait["notes"], *said]


def topics(portrait: dict) -> list[str]:
    """What the conversations were about, each topic with its words, its share and a line of evidence."""
    if not portrait["topics"]:
        return [*portrait["notes"]] or ["Not enough conversations to find topics in."]
    lines = []
    for number, topic in enumerate(portrait["topics"], start=1):
        example = next((line for line in topic["examples"] if line), "")
        lines.append(
            f"{number}. {', '.join(topic['words'])} ({topic['share']:.0%})"
            + (f" — e.g. “{example}”" if example else "")
        )
    return lines


def duration(minutes: float) -> str:
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 90:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"
