"""Who said it? A judge of the persona's messages against everyone else's, trained on real messages only.

It must tell people apart by how they write, not by what they wrote about in the training period: topics change
from one month to the next, habits do not. So it sees only features that carry over in time:
- the shape of a text: letters as `a`/`A`, digits as `0`, punctuation, spacing, line breaks (bubbles) and emoji
  kept, as character n-grams (casing, punctuation habits, emoji, length, typing habits);
- the chat's most frequent words (function words, fillers: "lol", "yeah", "u"), not its rare topic words.
It is first tested on itself: its ROC AUC on the held-out period's real turns, the persona's against the
others'. Below 0.7 its attributions of generated replies are not worth reading.
"""

from dataclasses import dataclass

import numpy as np

from gptisyou.data.writing import WORD, frequent_words, shape

TRUSTED_AUC = 0.7  # below: the attribution figures cannot be trusted for this chat
FREQUENT_WORDS = 150  # the vocabulary of the word features: the chat's most frequent words


@dataclass(frozen=True, slots=True)
class Attribution:
    real: float  # share of the persona's real held-out replies attributed to the persona: the ceiling
    tuned: float
    base: float
    others_held_out: float  # share of the others' held-out turns attributed to the persona: the floor
    training_messages: int


class WhoSaidIt:
    def __init__(self, persona_texts: list[str], other_texts: list[str], seed: int = 0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        texts = persona_texts + other_texts
        features = make_union(
            TfidfVectorizer(
                analyzer="char", ngram_range=(1, 4), preprocessor=shape, min_df=2, sublinear_tf=True, lowercase=False
            ),
            TfidfVectorizer(
                analyzer="word",
                token_pattern=WORD.pattern,
                vocabulary=frequent_words(texts, FREQUENT_WORDS),
                sublinear_tf=True,
            ),
        )
        self._pipeline = make_pipeline(
            features, LogisticRegression(max_iter=3000, C=1.0, class_weight="balanced", random_state=seed)
        )
        self._pipeline.fit(texts, [1] * len(persona_texts) + [0] * len(other_texts))
        self.training_messages = len(texts)

    def probability(self, texts: list[str]) -> list[float]:
        """The probability that each text is the persona's."""
        return self._pipeline.predict_proba(texts)[:, 1].tolist() if texts else []

    def attributed(self, texts: list[str]) -> list[bool]:
        """For each text with words, whether the judge attributes it to the persona."""
        return [p > 0.5 for p in self.probability([text for text in texts if text.strip()])]

    def share(self, texts: list[str]) -> float:
        """The share of `texts` attributed to the persona (probability over one half)."""
        flags = self.attributed(texts)
        return sum(flags) / len(flags) if flags else 0.0

    def auc(self, persona_texts: list[str], other_texts: list[str], seed: int = 0) -> dict:
        """{"value", "low", "high"}: how well the judge ranks the persona's real turns above the others'."""
        from gptisyou.eval.intervals import paired_interval

        mine, theirs = self.probability(persona_texts), self.probability(other_texts)
        if not mine or not theirs:
            return {"value": None, "low": None, "high": None}
        low, high = paired_interval(mine, theirs, ranking_auc, seed=seed)
        return {"value": ranking_auc(mine, theirs), "low": low, "high": high}


def ranking_auc(positives, negatives) -> float:
    """The area under the ROC curve: the chance that a positive scores above a negative, ties counting half (the
    Mann-Whitney form of sklearn's roc_auc_score, without its per-call overhead: the bootstrap calls it 500 times)."""
    ordered = np.sort(np.asarray(negatives, dtype=float))
    scores = np.asarray(positives, dtype=float)
    below = np.searchsorted(ordered, scores, side="left")
    tied = np.searchsorted(ordered, scores, side="right") - below
    return float((below + tied / 2).sum() / (len(scores) * len(ordered)))
