"""How a text is written, without what it says: its shape, and its words with the rare ones masked.

The features that carry over in time (casing, punctuation, emoji, bubbles, function words and fillers), for the
models that tell one writer from another: the evaluation's judges and the chooser's person-likeness scorer.
"""

import re
from collections import Counter

WORD = re.compile(r"\w+(?:['\u2019]\w+)?")
_LOWER, _UPPER, _DIGIT = re.compile(r"[^\W\d_A-Z]"), re.compile(r"[A-Z]"), re.compile(r"\d")


def shape(text: str) -> str:
    """`Hey, u ok?? 😀` → `Aaa, a aa?? 😀`: how a text is written, without what it says."""
    return _DIGIT.sub("0", _UPPER.sub("A", _LOWER.sub("a", text)))


def frequent_words(texts: list[str], count: int) -> list[str]:
    """The `count` most frequent words of `texts`, lower case."""
    words = Counter(word.lower() for text in texts for word in WORD.findall(text))
    return [word for word, _ in words.most_common(count)]


def masked(text: str, kept: frozenset[str]) -> str:
    """`text` with every word outside `kept` (lower case) written as its shape: style without content."""
    return WORD.sub(lambda word: word[0] if word[0].lower() in kept else shape(word[0]), text)
