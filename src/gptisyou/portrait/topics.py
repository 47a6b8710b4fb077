"""What the conversations were about: topics found in the chat itself, each named by its top phrases and shown
with two short lines of evidence, its share over time and when it first and last came up.

The documents are the conversations, a long one cut into stretches of 20 to 60 messages (40 as a rule), so that
a chat of a few long conversations still has enough documents. TF-IDF over their words and two-word phrases ( without the
stop words of the languages the chat is written in), then non-negative matrix factorisation (scikit-learn's
NMF). The number of topics, from 3 to 15, is chosen by coherence: the mean normalised pointwise mutual information
(NPMI) of each topic's top 10 words over the documents they appear in (Bouma 2009; Röder et al. 2015); the most
topics whose coherence is within 0.1 of the most coherent number's, so that talk is split as finely as it stays
coherent. A segment's topic weights, normalised, are its shares; a time bucket's share of a topic is
the mean over the segments that started in it: days for a chat under two months, weeks up to two years, months
beyond.
"""

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gptisyou.portrait.facts import Conversation

MIN_SEGMENTS = 10  # fewer, and topics say nothing
SEGMENT_MESSAGES = (
    20,
    40,
)  # a long conversation is cut every 40 messages; a last stretch under 20 joins the one before
TOPIC_COUNTS = (3, 4, 5, 6, 7, 8, 10, 12, 15)  # tried: every count up to 8, then coarser steps
MAX_SEGMENTS = 5_000  # documents topics are found in: an even sample of a longer history's
CHOOSING_SEGMENTS = 1_000  # the number of topics is chosen on an even sample of this many segments at most
TOP_WORDS = 10  # the words a topic's coherence is measured on
COHERENCE_TOLERANCE = 0.1  # of mean NPMI: more topics are taken while they stay this close to the most coherent
MAX_MESSAGES = 200_000  # the most recent messages read, beyond this
_WORD = re.compile(r"[^\W\d_]{3,}")

# the commonest function words of the languages chats are most often written in: to tell the language, and to
# keep them out of topics (scikit-learn ships an English list only)
STOP_WORDS = {
    "en": "the and you that was for are with his they this have from one had not but what all were when there can "
    "your which their said will each about how them then she many some would other into has more her two like "
    "him see time could been who its now did get come made may just yeah okay yes lol haha got gonna really "
    "know think going want well good too also here because much maybe probably hey wow kind make right mean "
    "sure pretty thing things lot actually ok cool nice awesome great guess feel thanks thank hmm hahaha lmao "
    "omg definitely totally dont thats didnt doesnt cant wont isnt youre ive didn doesn isn wasn couldn wouldn "
    "shouldn aren haven",
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
}
_STOP = {language: frozenset(words.split()) for language, words in STOP_WORDS.items()}
DETECTED = (
    "ENGLISH",
    "GERMAN",
    "FRENCH",
    "SPANISH",
    "PORTUGUESE",
    "ITALIAN",
    "DUTCH",
    "TURKISH",
    "POLISH",
    "RUSSIAN",
    "UKRAINIAN",
    "INDONESIAN",
    "ARABIC",
    "HINDI",
    "JAPANESE",
    "CHINESE",
    "KOREAN",
    "SWEDISH",
    "DANISH",
    "BOKMAL",
    "FINNISH",
    "GREEK",
    "ROMANIAN",
    "CZECH",
    "HUNGARIAN",
    "VIETNAMESE",
    "THAI",
    "HEBREW",
    "PERSIAN",
)


@dataclass(frozen=True, slots=True)
class Topic:
    words: tuple[str, ...]  # its top words and phrases, most telling first
    label: str  # its top two or three phrases, none inside another
    examples: tuple[str, ...]  # two short lines from the segments most about it
    share: float  # of all segments' weight
    by_time: dict[str, float]  # time bucket ("2024-03", "2024-03-04" for a week or a day) → its share there
    first: str  # the day of the first and last segment it is the main topic of
    last: str


def languages(texts: list[str], sample_words: int = 200_000) -> list[tuple[str, float]]:
    """(ISO 639-1 code, share of the words) of the languages `texts` are written in, largest first, those under
    15 % left out; read by lingua (accurate on short texts too) among `DETECTED`, or without it by the function
    words of `STOP_WORDS`' languages."""
    sample, seen = [], 0
    for text in texts:
        sample.append(text)
        seen += len(text.split())
        if seen >= sample_words:
            break
    detector = _detector()
    hits: Counter = Counter()
    if detector is None:
        for text in sample:
            for word in text.lower().split():
                hits.update(language for language, words in _STOP.items() if word in words)
    else:
        for text, language in zip(sample, detector.detect_languages_in_parallel_of(sample), strict=True):
            if language is not None:
                hits[language.iso_code_639_1.name.lower()] += len(text.split())
    total = sum(hits.values())
    return [(language, count / total) for language, count in hits.most_common() if count / total >= 0.15]


def _detector():
    try:
        import lingua
    except ImportError:
        return None
    chosen = [getattr(lingua.Language, name) for name in DETECTED]
    return lingua.LanguageDetectorBuilder.from_languages(*chosen).with_low_accuracy_mode().build()


def find(conversations: list[Conversation], spoken: list[str], seed: int = 0) -> tuple[list[Topic], str | None]:
    """The topics of `conversations` (written in the `spoken` languages); with none, the reason why."""
    segments = _segments(conversations)
    segments = segments[:: max(1, math.ceil(len(segments) / MAX_SEGMENTS))]  # an even sample of a long history
    if len(segments) < MIN_SEGMENTS:
        return [], (
            f"{len(segments)} conversation(s) with words: too few to find topics in (it takes {MIN_SEGMENTS}, "
            f"a long one counting once per {SEGMENT_MESSAGES[1]} messages)."
        )
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    stop = set(ENGLISH_STOP_WORDS) | {word for language in spoken for word in _STOP.get(language, ())}
    vectorizer = TfidfVectorizer(
        token_pattern=_WORD.pattern,
        lowercase=True,
        stop_words=sorted(stop),
        ngram_range=(1, 2),
        min_df=2,
        max_df=0.5,
        max_features=10_000,
        sublinear_tf=True,
    )
    too_few_words = (
        f"No topics: the {len(segments):,} conversations share too few words beyond the most common ones (a word "
        "counts once it is in two conversations, and in at most half; a long one counts as several)."
    )
    try:
        matrix = vectorizer.fit_transform(text for _, text in segments)
    except ValueError:  # nothing left after the stop words
        return [], too_few_words
    counts = [k for k in TOPIC_COUNTS if k <= min(matrix.shape) and k <= len(segments) // 3]
    if not counts:
        return [], too_few_words
    vocabulary = vectorizer.get_feature_names_out()
    count = _most_coherent(matrix, vocabulary, counts, seed)
    model, weights = _fitted(matrix, count, seed)
    return _topics(model, weights, vocabulary, segments), None


def _segments(conversations: list[Conversation]) -> list[tuple[datetime, str]]:
    """(start, text) of each conversation, a long one cut into stretches of 40 messages with words (a last stretch
    under 20 joins the one before), from the newest `MAX_MESSAGES` messages at most."""
    shortest, longest = SEGMENT_MESSAGES
    found, read = [], 0
    for conversation in reversed(conversations):
        lines = [line for line in conversation.text.split("\n") if _WORD.search(line)]
        read += len(lines)
        if read > MAX_MESSAGES:
            break
        stretches = [lines[i : i + longest] for i in range(0, len(lines), longest)]
        if len(stretches) > 1 and len(stretches[-1]) < shortest:
            stretches[-2:] = [stretches[-2] + stretches[-1]]
        found.extend((conversation.start, "\n".join(stretch)) for stretch in reversed(stretches))
    return found[::-1]


def _fitted(matrix, count: int, seed: int, rounds: int = 400):
    """(NMF of `count` topics, the documents' weights); a fit still moving after 400 rounds is close enough."""
    import warnings

    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    model = NMF(n_components=count, init="nndsvda", random_state=seed, max_iter=rounds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # NMF's initialisation on a near-empty sample
        return model, model.fit_transform(matrix)


def _most_coherent(matrix, vocabulary, counts: list[int], seed: int) -> int:
    """The most topics among `counts` whose top words co-occur about as well as the best number's do (mean NPMI
    over the segments, within `COHERENCE_TOLERANCE`), chosen on an even sample of the segments: a chat's talk is
    split as finely as it stays coherent."""
    step = max(1, math.ceil(matrix.shape[0] / CHOOSING_SEGMENTS))
    sample = matrix[::step]
    present = (sample > 0).astype(float).tocsc()
    scores = {}
    for count in counts:
        model, _ = _fitted(sample, count, seed, rounds=200)
        scores[count] = sum(_npmi(present, row.argsort()[::-1][:TOP_WORDS]) for row in model.components_) / count
    best = max(scores.values())
    return max(count for count, score in scores.items() if score >= best - COHERENCE_TOLERANCE)


def _npmi(present, columns) -> float:
    """The mean NPMI of each pair of `columns` (terms) over the rows (segments) of the 0/1 matrix `present`."""
    rows = present.shape[0]
    chosen = present[:, columns]
    together = (chosen.T @ chosen).toarray() / rows
    alone = together.diagonal()
    scores = []
    for i in range(len(columns)):
        for j in range(i + 1, len(columns)):
            both = together[i, j]
            if both <= 0 or both >= 1:
                scores.append(-1.0 if both <= 0 else 1.0)
                continue
            scores.append(math.log(both / (alone[i] * alone[j])) / -math.log(both))
    return sum(scores) / len(scores) if scores else 0.0


def _topics(model, weights, vocabulary, segments: list[tuple[datetime, str]]) -> list[Topic]:
    bucket = bucketing(segments[0][0], segments[-1][0])
    totals = weights.sum(axis=1, keepdims=True)
    shares = weights / totals.clip(min=1e-12)
    buckets: dict[str, list[int]] = defaultdict(list)
    for index, (start, _) in enumerate(segments):
        buckets[bucket(start)].append(index)
    overall = shares.sum(axis=0) / max(1, (totals > 0).sum())
    main = weights.argmax(axis=1)
    topics = []
    for k in range(model.n_components):
        ranked = tuple(vocabulary[i] for i in model.components_[k].argsort()[::-1][:8])
        best = weights[:, k].argsort()[::-1][:2]
        examples = tuple(_example(segments[i][1], ranked) for i in best)
        by_time = {name: float(shares[rows, k].mean()) for name, rows in sorted(buckets.items())}
        days = [segments[i][0] for i in range(len(segments)) if main[i] == k and totals[i] > 0] or [
            segments[best[0]][0]
        ]
        first, last = f"{min(days):%Y-%m-%d}", f"{max(days):%Y-%m-%d}"
        topics.append(Topic(ranked, _label(ranked), examples, float(overall[k]), by_time, first, last))
    topics.sort(key=lambda topic: topic.share, reverse=True)
    return topics


def _label(ranked: tuple[str, ...], count: int = 3) -> str:
    """The first `count` phrases of `ranked`, leaving out one that holds or is held in a phrase already taken."""
    taken: list[str] = []
    for phrase in ranked:
        if not any(f" {phrase} " in f" {other} " or f" {other} " in f" {phrase} " for other in taken):
            taken.append(phrase)
        if len(taken) == count:
            break
    return " · ".join(taken)


def bucket_kind(first: datetime, last: datetime) -> str:
    """How a chat's time axis is cut: "day" under two months, "week" up to two years, "month" beyond."""
    span = last - first
    return "day" if span < timedelta(days=61) else "week" if span <= timedelta(days=731) else "month"


def bucketing(first: datetime, last: datetime) -> Callable[[datetime], str]:
    """The name of the time bucket a moment falls in, on the axis `bucket_kind` gives the span."""
    kind = bucket_kind(first, last)
    if kind == "day":
        return lambda moment: f"{moment:%Y-%m-%d}"
    if kind == "week":
        return lambda moment: f"{moment - timedelta(days=moment.weekday()):%Y-%m-%d}"
    return lambda moment: f"{moment:%Y-%m}"


def _example(text: str, words: tuple[str, ...], width: int = 90) -> str:
    """The line of a conversation that holds the most of a topic's words, cut to `width` characters."""
    lines = [line for line in text.splitlines() if line.strip()]
    best = max(lines, key=lambda line: sum(word in line.lower() for word in words), default="")
    return best if len(best) <= width else best[: width - 1].rstrip() + "…"
