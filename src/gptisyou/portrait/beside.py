"""The clone beside the person: the portrait's voice and typing statistics on the held-out replies of the
persona's last evaluation — what they really wrote, the tuned model's and the base model's for the same moments —
and the largest differences said in words.

It reads the run's `eval/metrics.json` (the moments `gptisyou eval` kept), so it compares like with like: the
same contexts, never the training period.
"""

import json
import statistics
from collections import Counter
from pathlib import Path

from gptisyou.portrait import voice
from gptisyou.portrait.facts import Tally
from gptisyou.portrait.said import isolated

SIDES = ("real", "tuned", "base")
_MIN_REPLIES = 10


def beside(metrics_file: Path, persona: str) -> dict | None:
    """{"run", "replies", "stats": {side: {...}}, "differences": [...]}, or None without an evaluation to read."""
    try:
        samples = json.loads(metrics_file.read_text())["samples"]
    except (OSError, ValueError, KeyError):
        return None
    replies = {side: [sample.get(side) or "" for sample in samples] for side in SIDES}
    if len(samples) < _MIN_REPLIES:
        return None
    written = {side: [text for text in texts if text.strip()] for side, texts in replies.items()}
    tallies = {side: _tally(texts) for side, texts in written.items()}
    stats = {side: _stats(tallies[side], written[side]) for side in SIDES}
    return {
        "run": metrics_file.parent.parent.name,
        "replies": len(samples),
        "stats": stats,
        "differences": differences(stats, {side: tally.terms for side, tally in tallies.items()}, persona),
    }


def _tally(texts: list[str]) -> Tally:
    """The typing habits and voice of `texts`, counted as the portrait counts a person's."""
    tally = Tally("")
    for text in texts:
        tally.add_text(text)
    return tally


def _stats(tally: Tally, written: list[str]) -> dict:
    count = tally.sampled or 1
    bubbles = sum(len([line for line in text.splitlines() if line.strip()]) for text in written)
    return {
        "median_words": statistics.median([len(text.split()) for text in written]) if written else 0,
        "mean_bubbles": round(bubbles / count, 2),
        "emoji_per_100": round(100 * tally.emoji / count, 1),
        "all_lower_case": round(tally.all_lower / count, 3),
        "questions": round(tally.questions / count, 3),
        "double_exclamation": round(tally.double_bang / count, 3),
        "laughter": round(tally.laughing / count, 3),
    }


def differences(stats: dict, terms: dict[str, Counter], persona: str, top: int = 6) -> list[str]:
    """The largest ways the tuned clone's replies differ from the real ones, in words, largest first."""
    persona = isolated(persona)
    real, tuned = stats["real"], stats["tuned"]
    found: list[tuple[float, str]] = []
    if real["median_words"] and tuned["median_words"]:
        ratio = tuned["median_words"] / real["median_words"]
        if abs(ratio - 1) >= 0.25:
            words = f"{tuned['median_words']:g} words against {real['median_words']:g}"
            found.append(
                (abs(ratio - 1), f"the clone's replies are {ratio:.1f} times as long as {persona}'s ({words})")
            )
    for key, what in (("emoji_per_100", "emoji per 100 replies"), ("mean_bubbles", "messages per reply")):
        if abs(tuned[key] - real[key]) >= max(0.3, 0.25 * real[key]):
            said = f"{what}: {tuned[key]:g} in the clone's replies, {real[key]:g} in the real ones"
            found.append((abs(tuned[key] - real[key]) / max(real[key], 1), said))
    habits = (
        ("all_lower_case", "all lower-case"),
        ("questions", "questions"),
        ("double_exclamation", "with “!!”"),
        ("laughter", "laughing"),
    )
    for key, what in habits:
        if abs(tuned[key] - real[key]) >= 0.1:
            said = f"{tuned[key]:.0%} of the clone's replies are {what}, {real[key]:.0%} of {persona}'s"
            found.append((abs(tuned[key] - real[key]), said))
    for term in voice.distinctive(terms["real"], terms["tuned"], top=3, min_count=3):
        if not terms["tuned"].get(term.text):
            found.append((0.2, f"{persona} writes “{isolated(term.text)}” ({term.count} times); the clone never does"))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [sentence for _, sentence in found[:top]]
