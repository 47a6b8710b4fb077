"""Who said it? A classifier of the persona's messages against everyone else's, trained on real messages only.

Character n-grams (TF-IDF) and a logistic regression (scikit-learn): spelling, punctuation, emoji and pet
phrases are what tells two people apart in a chat. Trained on the training period's turns; the share of a set
of replies it attributes to the persona is the score. The persona's real held-out replies give the ceiling.
"""

from dataclasses import dataclass


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
        from sklearn.pipeline import make_pipeline

        self._pipeline = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True, lowercase=False),
            LogisticRegression(max_iter=2000, class_weight="balanced", random_state=seed),
        )
        self._pipeline.fit(persona_texts + other_texts, [1] * len(persona_texts) + [0] * len(other_texts))
        self.training_messages = len(persona_texts) + len(other_texts)

    def probability(self, texts: list[str]) -> list[float]:
        """The probability that each text is the persona's."""
        return self._pipeline.predict_proba(texts)[:, 1].tolist() if texts else []

    def share(self, texts: list[str]) -> float:
        """The share of `texts` attributed to the persona (probability over one half)."""
        probabilities = self.probability([text for text in texts if text.strip()])
        return sum(p > 0.5 for p in probabilities) / len(probabilities) if probabilities else 0.0
