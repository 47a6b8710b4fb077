"""The portrait as one self-contained HTML page: every plot inline (PNG), no script, no request to anywhere.

It reads the dict `build.portrait` returns, nothing else, so the page says exactly what `--json` says.
"""

import base64
import html
import io
import math
import re

from gptisyou.plots import label, pyplot
from gptisyou.portrait import said
from gptisyou.portrait.build import people_of
from gptisyou.portrait.said import duration

_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")
_VOICE_NOTE = (
    "<p>The words, phrases and emoji most distinctively each person's, against everyone else's in these "
    "chats (weighted log-odds with an informative Dirichlet prior; the bar is the z-score).</p>"
)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_OVERRIDES = re.compile("[\u202a-\u202e\u2066\u2067]")


def render(portrait: dict) -> str:
    persona = portrait["persona"]
    people = portrait["people"]
    mine = people[persona]["glance"]
    sections = [
        f"<h1>{_name(persona)}, as your chats show them</h1>",
        f"<p class=meta>{_meta(portrait)}</p>",
        *(f"<p class=note>{_e(note)}</p>" for note in portrait["notes"]),
        _observations(portrait),
        "<h2>At a glance</h2>",
        "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in said.glance(portrait)) + "</ul>",
        _glance_table(portrait),
        _group(portrait),
        "<h2>Rhythm</h2>",
        _img(lambda out: _heatmaps(portrait, out), "When each of them writes: weekday by hour"),
        _img(lambda out: _months(portrait, out), "Messages per month"),
        _img(lambda out: _replies(portrait, out), "How fast each replies"),
        _silences(portrait),
        "<h2>Voice</h2>",
        _VOICE_NOTE,
        _img(lambda out: _voices(portrait, out), "Distinctive words and phrases") if mine["messages"] else "",
        _habits_table(portrait),
        "<h2>What you talked about</h2>",
        _topics(portrait),
        _tone(portrait),
        "<h2>The clone beside the person</h2>",
        _clone(portrait),
    ]
    title = "gptisyou — portrait of " + " and ".join(people_of(portrait))
    return _PAGE.format(title=_e(title), body="\n".join(section for section in sections if section))


def _observations(portrait: dict) -> str:
    """What kind of person each is, in sentences with their figures; nothing where nobody stands out."""
    observed = [(name, lines) for name, lines in portrait.get("observations", {}).items() if lines]
    if not observed:
        return ""
    parts = []
    for name, lines in observed:
        parts.append(f"<h3>{_name(name)}</h3><ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>")
    return "<h2>What kind of people they are</h2>" + "".join(parts)


def _meta(portrait: dict) -> str:
    chats = ", ".join(_name(chat["title"]) for chat in portrait["chats"][:5])
    more = f" and {len(portrait['chats']) - 5} more" if len(portrait["chats"]) > 5 else ""
    spoken = ", ".join(f"{entry['language']} {entry['share']:.0%}" for entry in portrait["languages"]) or "—"
    return (
        f"From {len(portrait['chats'])} chat(s): {chats}{more} · {portrait['conversations']:,} conversations · "
        f"languages: {spoken} · computed from the messages on this machine; nothing was sent anywhere."
    )


def _glance_table(portrait: dict) -> str:
    names = people_of(portrait)
    minute = portrait.get("times_to_the_minute", False)
    rows = [
        ("Messages", "messages", "{:,}"),
        ("Share of all messages", "share_of_messages", "{:.0%}"),
        ("Words", "words", "{:,}"),
        ("First message", "first", "{}"),
        ("Last message", "last", "{}"),
        ("Conversations opened", "opened_share", "{:.0%}"),
        ("Median reply delay", "median_reply_minutes", None),
        ("Words per turn (median)", "median_turn_words", "{:g}"),
        ("Messages per turn (mean)", "mean_bubbles_per_turn", "{:.1f}"),
        ("Emoji per 100 messages", "emoji_per_100_messages", "{:.1f}"),
        ("Media share", "media_share", "{:.0%}"),
    ]
    head = "<tr><th></th>" + "".join(f"<th>{_name(name)}</th>" for name in names) + "</tr>"
    body = "".join(
        f"<tr><td>{label}</td>"
        + "".join(f"<td>{_cell(portrait['people'][name]['glance'][key], shape, minute)}</td>" for name in names)
        + "</tr>"
        for label, key, shape in rows
    )
    return f"<table class=glance>{head}{body}</table>"


def _habits_table(portrait: dict) -> str:
    names = people_of(portrait)
    voices = [portrait["people"][name]["voice"] for name in names]
    rows = [
        ("Emoji most theirs", [" ".join(term["text"] for term in v["emoji"][:6]) or "—" for v in voices]),
        ("How they open a conversation", [_counted(v["openers"]) for v in voices]),
        ("How they close one", [_counted(v["sign_offs"]) for v in voices]),
        ("All lower-case", [_share(v["habits"]["all_lower_case"]) for v in voices]),
        ("“!!”", [_share(v["habits"]["double_exclamation"]) for v in voices]),
        ("“...”", [_share(v["habits"]["ellipsis"]) for v in voices]),
        ("Questions", [_share(v["habits"]["questions"]) for v in voices]),
        ("Laughter", [_counted(v["habits"]["laughter"]) for v in voices]),
    ]
    head = "<tr><th></th>" + "".join(f"<th>{_name(name)}</th>" for name in names) + "</tr>"
    body = "".join(
        f"<tr><td>{label}</td>" + "".join(f"<td>{_e(cell)}</td>" for cell in cells) + "</tr>" for label, cells in rows
    )
    return f"<table class=habits>{head}{body}</table>"


def _topics(portrait: dict) -> str:
    if not portrait["topics"]:
        return f"<p class=note>{_e(portrait.get('topics_missing') or 'No topics found.')}</p>"
    items = "".join(
        f"<li><b>{_e(topic['label'])}</b> ({topic['share']:.0%}; {topic['first']} to {topic['last']}) "
        f"<span class=words>{_e(', '.join(topic['words']))}</span>"
        + "".join(f"<blockquote>{_e(example)}</blockquote>" for example in topic["examples"] if example)
        + "</li>"
        for topic in portrait["topics"]
    )
    over = f"Topics {portrait.get('topic_axis', 'month')} by {portrait.get('topic_axis', 'month')}"
    return _img(lambda out: _topic_shares(portrait, out), over) + f"<ol class=topics>{items}</ol>"


_CLONE_ROWS = (
    ("Words per reply (median)", "median_words", "{:g}"),
    ("Messages per reply", "mean_bubbles", "{:.1f}"),
    ("Emoji per 100 replies", "emoji_per_100", "{:.1f}"),
    ("All lower-case", "all_lower_case", "{:.0%}"),
    ("Questions", "questions", "{:.0%}"),
    ("With “!!”", "double_exclamation", "{:.0%}"),
    ("Laughing", "laughter", "{:.0%}"),
)


def _clone(portrait: dict) -> str:
    beside = portrait.get("clone")
    persona = portrait["persona"]
    if not beside:
        return (
            f"<p class=note>No evaluated clone of {_name(persona)} yet: <code>gptisyou train --as "
            f"{_name(persona)}</code> then <code>gptisyou eval --as {_name(persona)}</code> add it here.</p>"
        )
    head = f"<tr><th></th><th>{_name(persona)} (real)</th><th>the clone</th><th>the base model</th></tr>"
    body = "".join(
        f"<tr><td>{label}</td>"
        + "".join(f"<td>{_e(shape.format(beside['stats'][side][key]))}</td>" for side in ("real", "tuned", "base"))
        + "</tr>"
        for label, key, shape in _CLONE_ROWS
    )
    said = "".join(f"<li>{_e(line)}</li>" for line in beside["differences"]) or "<li>No large difference.</li>"
    return (
        f"<p>The same {beside['replies']} held-out moments of run {_e(beside['run'])}: what {_name(persona)} "
        f"really wrote, the tuned clone's reply and the untuned base model's.</p><ul>{said}</ul>"
        f"<table class=clone>{head}{body}</table>"
    )


def _silences(portrait: dict) -> str:
    if not portrait["silences"]:
        return ""
    items = "".join(
        f"<li>{entry['days']:g} days, {entry['from']} → {entry['to']}</li>" for entry in portrait["silences"]
    )
    return f"<h3>Longest silences</h3><ul>{items}</ul>"


# --- plots -------------------------------------------------------------------------------------------------------


def _img(draw, alt: str) -> str:
    buffer = io.BytesIO()
    draw(buffer)
    if not buffer.getvalue():
        return ""
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}"><figcaption>{_e(alt)}</figcaption></figure>'
    )


def _saved(figure, out) -> None:
    figure.tight_layout()
    figure.savefig(out, format="png")
    pyplot().close(figure)


def _heatmaps(portrait: dict, out) -> None:
    plt = pyplot()
    names = people_of(portrait)
    figure, axes = plt.subplots(1, len(names), figsize=(10, 2.9), dpi=110, squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        grid = portrait["people"][name]["rhythm"]["by_weekday_hour"]
        axis.imshow(grid, aspect="auto", cmap="Blues")
        axis.set_title(label(name), fontsize=10)
        axis.set_yticks(range(7), _WEEKDAYS, fontsize=8)
        axis.set_xticks(range(0, 24, 3), [f"{hour}h" for hour in range(0, 24, 3)], fontsize=8)
    _saved(figure, out)


def _group(portrait: dict) -> str:
    """Who answers whom, where more than two people write: each row's turns written soon after each column's."""
    group = portrait.get("group")
    if not group:
        return ""
    members = group["members"]
    head = "<tr><th>answers →</th>" + "".join(f"<th>{_name(name)}</th>" for name in members) + "</tr>"
    body = "".join(
        f"<tr><th>{_name(name)}</th>" + "".join(f"<td>{share:.0%}</td>" for share in row) + "</tr>"
        for name, row in zip(members, group["answers"], strict=True)
    )
    lines = "".join(f"<li>{_e(line)}</li>" for line in group["lines"])
    return (
        f"<h2>Who answers whom</h2><p>Of the turns each person (a row) wrote within {group['answer_minutes']} "
        f"minutes of someone else's, the share that followed each other person (a column).</p>"
        f"<table class=answers>{head}{body}</table><ul>{lines}</ul>"
    )


def _tone(portrait: dict) -> str:
    """Tone over time, the warmest and the tensest conversations with their lines, and how it changed."""
    tone = portrait.get("tone")
    if not tone:
        return ""
    parts = [
        "<h2>Tone</h2>",
        f"<p>From -1 (hostile) to +1 (warm), read with {_e(tone['library'])} in each text.</p>",
        _img(lambda out: _tone_over_time(portrait, out), "Tone over time") if any(tone["by_time"].values()) else "",
    ]
    for title, key in (("The warmest conversations", "warmest"), ("The tensest conversations", "tensest")):
        if tone[key]:
            items = "".join(
                f"<li>{_e(entry['day'])} (tone {entry['tone']:+.2f})"
                + "".join(f"<blockquote>{_e(line)}</blockquote>" for line in entry["evidence"])
                + "</li>"
                for entry in tone[key]
            )
            parts.append(f"<h3>{title}</h3><ul>{items}</ul>")
    parts.append(_change_table(portrait))
    return "".join(parts)


def _change_table(portrait: dict) -> str:
    change = portrait["tone"]["change"]
    rows = (
        ("Tone", "tone", "{:+.2f}"),
        ("Words per turn (median)", "turn_words", "{:g}"),
        ("Minutes to answer (median)", "reply_minutes", "{:g}"),
        ("Conversations started", "opened_share", "{:.0%}"),
    )
    names = list(change["people"])
    head = "<tr><th></th>" + "".join(f"<th>{_name(name)}</th>" for name in names) + "</tr>"

    def cell(pair: list, shape: str) -> str:
        return " → ".join("—" if value is None else shape.format(value) for value in pair)

    body = "".join(
        f"<tr><td>{title}</td>"
        + "".join(f"<td>{cell(change['people'][name][key], shape)}</td>" for name in names)
        + "</tr>"
        for title, key, shape in rows
    )
    return (
        f"<h3>How it changed</h3><p>The first third of the chat (until {change['first_third_until']}) → the "
        f"last third (from {change['last_third_from']}).</p><table class=change>{head}{body}</table>"
    )


def _tone_over_time(portrait: dict, out) -> None:
    plt = pyplot()
    by_time = portrait["tone"]["by_time"]
    buckets = sorted({bucket for series in by_time.values() for bucket in series})
    figure, axis = plt.subplots(figsize=(10, 2.8), dpi=110)
    for colour, (name, series) in zip(_COLOURS, by_time.items(), strict=False):
        points = [(buckets.index(bucket), value) for bucket, value in series.items()]
        axis.plot(
            *zip(*points, strict=True), marker="o" if len(buckets) < 40 else None, color=colour, label=label(name)
        )
    axis.axhline(0, color="#8c8c8c", linewidth=0.8)
    axis.set_ylabel(f"mean tone, by {portrait.get('topic_axis', 'month')}")
    axis.legend(fontsize=8)
    step = max(1, math.ceil(len(buckets) / 12))
    axis.set_xticks(range(0, len(buckets), step), buckets[::step], fontsize=8, rotation=30)
    _saved(figure, out)


def _months(portrait: dict, out) -> None:
    plt = pyplot()
    names = people_of(portrait)
    months = sorted({m for name in names for m in portrait["people"][name]["rhythm"]["by_month"]})
    if not months:
        return
    figure, axis = plt.subplots(figsize=(10, 2.8), dpi=110)
    for index, (colour, name) in enumerate(zip(_COLOURS, names, strict=False)):
        counts = [portrait["people"][name]["rhythm"]["by_month"].get(month, 0) for month in months]
        if len(months) < 4:  # a line through one or two points says nothing: bars side by side
            axis.bar(
                [i + (index - 0.5) * 0.4 for i in range(len(months))], counts, 0.4, color=colour, label=label(name)
            )
        else:
            axis.plot(
                range(len(months)), counts, marker="o" if len(months) < 40 else None, color=colour, label=label(name)
            )
    axis.set_ylabel("messages")
    axis.legend(fontsize=8)
    step = max(1, math.ceil(len(months) / 12))
    axis.set_xticks(range(0, len(months), step), months[::step], fontsize=8, rotation=30)
    _saved(figure, out)


def _replies(portrait: dict, out) -> None:
    plt = pyplot()
    names = people_of(portrait)
    histograms = [portrait["people"][name]["rhythm"]["reply_minutes_histogram"] for name in names]
    labels = list(histograms[0])
    figure, axis = plt.subplots(figsize=(10, 2.6), dpi=110)
    width = 0.4
    for index, (colour, name, counts) in enumerate(zip(_COLOURS, names, histograms, strict=False)):
        total = sum(counts.values()) or 1
        axis.bar(
            [i + (index - 0.5) * width for i in range(len(labels))],
            [counts[edge] / total for edge in labels],
            width,
            color=colour,
            label=label(name),
        )
    axis.set_xticks(range(len(labels)), labels, fontsize=8)
    axis.set_ylabel("share of replies")
    axis.legend(fontsize=8)
    _saved(figure, out)


def _voices(portrait: dict, out) -> None:
    plt = pyplot()
    names = people_of(portrait)
    figure, axes = plt.subplots(1, len(names), figsize=(10, 4.2), dpi=110, squeeze=False)
    for axis, colour, name in zip(axes[0], _COLOURS, names, strict=False):
        terms = portrait["people"][name]["voice"]["distinctive"][:12][::-1]
        axis.barh([label(term["text"]) for term in terms], [term["z"] for term in terms], color=colour)
        axis.set_title(label(name), fontsize=10)
        axis.tick_params(labelsize=8)
        axis.set_xlabel("z-score", fontsize=8)
    _saved(figure, out)


def _topic_shares(portrait: dict, out) -> None:
    plt = pyplot()
    topics = portrait["topics"]
    buckets = sorted({bucket for topic in topics for bucket in topic["by_time"]})
    figure, axis = plt.subplots(figsize=(10, 3), dpi=110)
    layers = [[topic["by_time"].get(bucket, 0) for bucket in buckets] for topic in topics]
    labels = [label(topic["label"]) for topic in topics]
    colours = plt.get_cmap("tab20").colors[: len(topics)]
    axis.stackplot(range(len(buckets)), layers, labels=labels, colors=colours, alpha=0.85)
    step = max(1, math.ceil(len(buckets) / 12))
    axis.set_xticks(range(0, len(buckets), step), buckets[::step], fontsize=8, rotation=30)
    axis.set_ylabel(f"share of the conversation, by {portrait.get('topic_axis', 'month')}")
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    _saved(figure, out)


# --- formatting --------------------------------------------------------------------------------------------------


def _e(text) -> str:
    """Text from the data as HTML: escaped, its embeddings and overrides (U+202A…U+202E, U+2066, U+2067) left out so
    that none left open turns the rest of the page around."""
    return html.escape(_OVERRIDES.sub("", str(text)))


def _name(name: str) -> str:
    """A name as HTML, isolated: a right-to-left name reorders nothing beside it."""
    return f"<bdi>{_e(name)}</bdi>"


def _cell(value, shape: str | None, to_the_minute: bool = False) -> str:
    if value is None:
        return "—"
    return _e(duration(value, to_the_minute) if shape is None else shape.format(value))


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _counted(pairs: list) -> str:
    return ", ".join(f"{text} ({count})" for text, count in pairs[:4]) or "too few to tell"


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #1d2327; }}
h1 {{ font-size: 1.7em; margin-bottom: .2em; }} .meta {{ color: #667; }} .note {{ background: #fff6e0; padding: .5em .8em; }}
table {{ border-collapse: collapse; margin: 1em 0; width: 100%; }}
th, td {{ border-bottom: 1px solid #dde; padding: .35em .6em; text-align: left; vertical-align: top; }}
figure {{ margin: 1em 0; }} figcaption {{ color: #667; font-size: 13px; }}
img {{ max-width: 100%; display: block; }}
blockquote {{ margin: .3em 0 .3em 1em; color: #445; font-style: italic; }}
</style></head>
<body>
{body}
</body></html>
"""
