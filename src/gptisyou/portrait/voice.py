"""A person's voice: the words, phrases and emoji that are most distinctively theirs, against everyone else's.

Raw counts would crown "the", "ok" and "you" for everyone. The ranking is the weighted log-odds ratio with an
informative Dirichlet prior of Monroe, Colaresi & Quinn ("Fightin' Words", Political Analysis 16(4), 2008): for a
term w with counts y_w (theirs) and z_w (the others'), over totals n and m, and a prior a_w = a0 * p_w from the
two together,

    d_w = log((y_w + a_w) / (n + a0 - y_w - a_w)) - log((z_w + a_w) / (m + a0 - z_w - a_w))
    var(d_w) ~ 1 / (y_w + a_w) + 1 / (z_w + a_w)

and terms are ranked by the z-score d_w / sqrt(var(d_w)): frequent and lopsided beats rare and lopsided, and both beat
frequent and shared.
"""

import math
import re
from collections import Counter
from dataclasses import dataclass

# emoji and pictographs, with their modifiers and joiners: one match is one emoji as a person sees it
EMOJI = re.compile(
    "(?:[\U0001f1e6-\U0001f1ff]{2}|[\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2b55\u2764\u203c\u2049]"
    "[\ufe0f\U0001f3fb-\U0001f3ff]*(?:\u200d[\U0001f300-\U0001faff\u2600-\u27bf\u2764][\ufe0f]*)*)"
)
_TOKEN = re.compile(rf"{EMOJI.pattern}|[^\W\d_]+(?:['\u2019][^\W\d_]+)?", re.UNICODE)
MAX_N = 3  # phrases of up to three words
_PRUNE_AT = 2_000_000  # distinct terms a person may hold before one-off phrases are dropped


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    z: float  # how distinctively theirs: the log-odds z-score
    count: int  # how often they wrote it
    others: int  # how often everyone else did


def terms(text: str) -> list[str]:
    """The words (lower-cased), emoji and two- and three-word phrases of one message."""
    tokens = [token.lower() for token in _TOKEN.findall(text)]
    found = list(tokens)
    for n in range(2, MAX_N + 1):
        found.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return found


def add(counts: Counter, text: str) -> None:
    """Count a message's terms; one-off phrases are dropped when a person's counts grow too large."""
    counts.update(terms(text))
    if len(counts) > _PRUNE_AT:
        for term in [term for term, n in counts.items() if n == 1 and " " in term]:
            del counts[term]


def distinctive(
    mine: Counter, theirs: Counter, top: int = 20, min_count: int = 3, prior: float = 1_000.0, emoji_only: bool = False
) -> list[Term]:
    """The `top` terms of `mine` with the largest log-odds z-score against `theirs` (written at least
    `min_count` times); with `emoji_only`, emoji alone."""
    n, m = sum(mine.values()), sum(theirs.values())
    if not n or not m:
        return []
    total = n + m
    scale = min(prior, total)
    ranked = []
    for term, y in mine.items():
        if y < min_count or (emoji_only != bool(EMOJI.fullmatch(term))):
            continue
        z_count = theirs.get(term, 0)
        alpha = scale * (y + z_count) / total
        rest_mine, rest_theirs = n + scale - y - alpha, m + scale - z_count - alpha
        if rest_mine <= 0 or rest_theirs <= 0:  # the term is all either side wrote: no odds to compare
            continue
        delta = math.log((y + alpha) / rest_mine) - math.log((z_count + alpha) / rest_theirs)
        sigma = math.sqrt(1 / (y + alpha) + 1 / (z_count + alpha))
        ranked.append(Term(term, delta / sigma, y, z_count))
    ranked.sort(key=lambda term: term.z, reverse=True)
    return [term for term in ranked if term.z > 0][:top]
