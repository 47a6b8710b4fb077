"""What the conversations were about: topics found in the conversations themselves, each named by its words and
shown with two short lines of evidence, and their share month by month.

Each conversation (a session) is one document; TF-IDF over its words, without the stop words of the languages
the chat is written in, then non-negative matrix factorisation (scikit-learn's NMF) into a handful of topics.
A conversation's topic weights, normalised, are its shares; a month's share of a topic is the mean over the
conversations that started in it.
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from gptisyou.portrait.facts import Conversation

MIN_CONVERSATIONS = 10  # fewer, and topics say nothing
MAX_CONVERSATIONS = 50_000  # the most recent ones, beyond this (a 1 M-message history holds far more)
_WORD = re.compile(r"[^\W\d_]{3,}")

# the commonest function words of the languages chats are most often written in: to tell the language, and to
# keep them out of topics (scikit-learn ships an English list only)
STOP_WORDS = {
    "en": "the and you that was for are with his they this have from one had not but what all were when there can "
          "your which their said will each about how them then she many some would other into has more her two like "
          "him see time could been who its now did get come made may just yeah okay yes lol haha got gonna really "
          "know think going want well good too also here because much",
    "de": "der die und das ist ich nicht sie ein eine mit auch auf den dem des sich von wie ist wir ihr aber noch "
          "nur was wenn bin hast habe schon doch mal dann jetzt gut ganz kann mir dich dir mich bei zum zur oder",
    "fr": "les des est une que qui pas pour dans sur avec mais vous nous ils elle son ses aux par plus tout fait "
          "bien comme ont être avoir cette ces moi toi suis ça oui non alors quoi très",
    "es": "que los las una por con para como más pero sus les del está muy este esta todo bien eso qué cuando "
          "también hay nos ella ellos tengo tiene sí porque",
    "pt": "que não uma para com por mais como mas dos das está muito isso também você sim tem bem então quando "
          "ele ela aqui foi meu minha",
    "it": "che non una per con del della sono come anche più questo questa tutto bene sei hai ho cosa quando "
          "perché allora molto",
    "nl": "het een van dat die niet zijn voor met ook maar wat als bij nog wel heb hij zij ben jij dan naar "
          "goed even echt",
}  # fmt: skip
_STOP = {language: frozenset(words.split()) for language, words in STOP_WORDS.items()}


@dataclass(frozen=True, slots=True)
class Topic:
    words: tuple[str, ...]  # its top words, most telling first
    examples: tuple[str, ...]  # two short lines from the conversations most about it
    share: float  # of all conversations' weight
    by_month: dict[str, float]  # "2024-03" → share of that month's conversations


def languages(texts: list[str], sample_words: int = 200_000) -> list[tuple[str, float]]:
    """(language, share) of the languages the texts are written in, by their function words; largest first,
    those under 15 % left out."""
    hits: Counter = Counter()
    seen = 0
    for text in texts:
        for word in text.lower().split():
            seen += 1
            for language, words in _STOP.items():
                if word in words:
                    hits[language] += 1
        if seen >= sample_words:
            break
    total = sum(hits.values())
    return [(language, count / total) for language, count in hits.most_common() if count / total >= 0.15]


def find(
    conversations: list[Conversation], spoken: list[str], count: int | None = None, seed: int = 0
) -> tuple[list[Topic], str | None]:
    """The topics of `conversations` (written in the `spoken` languages); with none, the reason why."""
    recent = [c for c in conversations if _WORD.search(c.text)][-MAX_CONVERSATIONS:]
    if len(recent) < MIN_CONVERSATIONS:
        return [], (
            f"{len(recent)} conversation(s) with words: too few to find topics in (it takes {MIN_CONVERSATIONS})."
        )
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    stop = set(ENGLISH_STOP_WORDS) | {word for language in spoken for word in _STOP.get(language, ())}
    vectorizer = TfidfVectorizer(token_pattern=_WORD.pattern, lowercase=True, stop_words=sorted(stop),
                                 min_df=2, max_df=0.5, max_features=20_000, sublinear_tf=True)  # fmt: skip
    too_few_words = (
        f"No topics: the {len(recent):,} conversations share too few words beyond the most common "
        "ones (a word counts once it is in two conversations, and in at most half)."
    )
    try:
        matrix = vectorizer.fit_transform(c.text for c in recent)
    except ValueError:  # nothing left after the stop words
        return [], too_few_words
    count = count or max(2, min(8, len(recent) // 25))
    count = min(count, matrix.shape[1], matrix.shape[0])
    if count < 2:
        return [], too_few_words
    model = NMF(n_components=count, init="nndsvda", random_state=seed, max_iter=400)
    weights = model.fit_transform(matrix)
    vocabulary = vectorizer.get_feature_names_out()
    totals = weights.sum(axis=1, keepdims=True)
    shares = weights / totals.clip(min=1e-12)
    months: dict[str, list[int]] = defaultdict(list)
    for index, conversation in enumerate(recent):
        months[f"{conversation.start:%Y-%m}"].append(index)
    overall = shares.sum(axis=0) / max(1, (totals > 0).sum())
    topics = []
    for k in range(count):
        top = tuple(vocabulary[i] for i in model.components_[k].argsort()[::-1][:6])
        best = weights[:, k].argsort()[::-1][:2]
        examples = tuple(_example(recent[i].text, top) for i in best)
        by_month = {month: float(shares[rows, k].mean()) for month, rows in sorted(months.items())}
        topics.append(Topic(top, examples, float(overall[k]), by_month))
    topics.sort(key=lambda topic: topic.share, reverse=True)
    return topics, None


def _example(text: str, words: tuple[str, ...], width: int = 90) -> str:
    """The line of a conversation that holds the most of a topic's words, cut to `width` characters."""
    lines = [line for line in text.splitlines() if line.strip()]
    best = max(lines, key=lambda line: sum(word in line.lower() for word in words), default="")
    return best if len(best) <= width else best[: width - 1].rstrip() + "…"
