"""Style statistics of a set of replies: length, bubbles, emoji, punctuation, capitals, top words, language.

Computed the same way for the persona's real held-out replies and for generated ones, so they compare side by
side. Light on purpose: plain regular expressions and counters, no language model.
"""

import re
from collections import Counter
from dataclasses import asdict, dataclass

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?")  # apostrophes inside: "c'est", "don\u2019t"
_EMOJI = re.compile("[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f000-\U0001f2ff\U0001f1e6-\U0001f1ff]")
_STOPWORDS = {  # frequent short words that tell the languages WhatsApp is most used in apart
    "en": "the you and is it to that what have for not this are was but just with so",
    "fr": "le la les et est je tu pas que une un des pour ça c'est oui mais avec",
    "de": "der die das und ist ich du nicht ein eine ja zu mit auch was wie",
    "es": "el la los que es y de no en un una por para pero qué sí con",
    "pt": "o a os que é e não um uma de em para com você mas sim",
    "it": "il la che è e non di un una per sono ma con ho anche sì",
    "nl": "de het een en is ik je niet dat wat met ook maar zijn ja",
}
_LANGUAGE_WORDS = {language: set(words.split()) for language, words in _STOPWORDS.items()}
COMMON_WORDS = set().union(*_LANGUAGE_WORDS.values())


@dataclass(frozen=True, slots=True)
class Style:
    replies: int
    words: float  # mean words per reply
    bubbles: float  # mean messages per reply
    emoji: float  # share of replies with an emoji
    questions: float  # share of replies with a question mark
    exclamations: float  # share with an exclamation mark
    capitalised: float  # share of replies whose first letter is a capital
    final_period: float  # share ending in a full stop
    top_words: list[str]  # most frequent words, common function words left out
    language: str  # by the most frequent function words; "?" when none

    def to_dict(self) -> dict:
        return asdict(self)


def style_of(replies: list[str]) -> Style:
    replies = [reply for reply in replies if reply.strip()] or [""]
    words = [_WORD.findall(reply.lower()) for reply in replies]
    counts = Counter(word for reply in words for word in reply)
    content = Counter({word: n for word, n in counts.items() if word not in COMMON_WORDS and len(word) > 2})
    return Style(
        replies=len(replies),
        words=_mean(len(reply) for reply in words),
        bubbles=_mean(_bubbles(reply) for reply in replies),
        emoji=_share(bool(_EMOJI.search(reply)) for reply in replies),
        questions=_share("?" in reply for reply in replies),
        exclamations=_share("!" in reply for reply in replies),
        capitalised=_share(_first_letter(reply).isupper() for reply in replies),
        final_period=_share(reply.rstrip().endswith(".") for reply in replies),
        top_words=[word for word, _ in content.most_common(10)],
        language=language_of(counts),
    )


LENGTH_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def length_quantiles(replies: list[str]) -> dict:
    """Quantiles of words and of bubbles per reply: enough to draw and compare their distributions."""
    words = sorted(len(_WORD.findall(reply)) for reply in replies)
    bubbles = sorted(_bubbles(reply) for reply in replies)
    return {
        "quantiles": LENGTH_QUANTILES,
        "words": [_quantile(words, q) for q in LENGTH_QUANTILES],
        "bubbles": [_quantile(bubbles, q) for q in LENGTH_QUANTILES],
    }


def _bubbles(reply: str) -> int:
    return max(1, sum(1 for line in reply.split("\n") if line.strip()))


def _quantile(ordered: list[int], q: float) -> float:
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else 0.0


def language_of(counts: Counter) -> str:
    scores = {language: sum(counts[word] for word in words) for language, words in _LANGUAGE_WORDS.items()}
    best = max(scores, key=scores.get)
    return best if scores[best] else "?"


def _first_letter(text: str) -> str:
    return next((char for char in text if char.isalpha()), "")


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _share(flags) -> float:
    return _mean(1.0 if flag else 0.0 for flag in flags)
