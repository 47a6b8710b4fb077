"""Person-likeness: how much a reply reads like the persona's real replies rather than like the clone's own samples.

A logistic regression on how a text is written (character n-grams of its shape, `Hey u ok??` → `Aaa a aa??`) and
on its words with content words masked (the persona's most frequent words kept, every other word as its shape).
It is trained on the training period only: the persona's real turns against what the clone wrote for
training-period moments, so it learns what still gives the clone away. Its features are hashed, so the whole
scorer is a vector of weights and a list of kept words, stored with the run (no pickle).
"""

from pathlib import Path

import numpy as np

from gptisyou.data.writing import frequent_words, masked, shape

HASHED_FEATURES = 2**18  # per kind of feature: collisions among a chat's few thousand n-grams are rare
KEPT_WORDS = 100  # the persona's most frequent words, kept as words; the rest are masked


class Likeness:
    def __init__(self, weights: np.ndarray, intercept: float, kept: list[str]) -> None:
        self.weights, self.intercept, self.kept = weights, intercept, kept

    @classmethod
    def fit(cls, real: list[str], sampled: list[str], seed: int = 0) -> "Likeness":
        """Learns the persona's `real` replies (1) against the clone's `sampled` ones (0), classes balanced."""
        from sklearn.linear_model import LogisticRegression

        kept = frequent_words(real, KEPT_WORDS)
        features = _features([*real, *sampled], frozenset(kept))
        labels = [1] * len(real) + [0] * len(sampled)
        model = LogisticRegression(max_iter=3000, class_weight="balanced", random_state=seed).fit(features, labels)
        return cls(model.coef_[0].astype(np.float32), float(model.intercept_[0]), kept)

    def score(self, texts: list[str]) -> np.ndarray:
        """The log-odds that each text is the persona's own rather than the clone's."""
        if not texts:
            return np.zeros(0)
        return _features(texts, frozenset(self.kept)) @ self.weights + self.intercept

    def save(self, path: Path) -> None:
        with path.open("wb") as file:
            np.savez_compressed(file, weights=self.weights, intercept=self.intercept, kept=np.array(self.kept))

    @classmethod
    def load(cls, path: Path) -> "Likeness":
        with np.load(path, allow_pickle=False) as stored:
            return cls(stored["weights"], float(stored["intercept"]), stored["kept"].tolist())


def _features(texts: list[str], kept: frozenset[str]):
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import HashingVectorizer

    shapes = HashingVectorizer(
        analyzer="char",
        ngram_range=(1, 4),
        preprocessor=shape,
        lowercase=False,
        n_features=HASHED_FEATURES,
        alternate_sign=False,
    )
    words = HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        token_pattern=r"\S+",
        preprocessor=lambda text: masked(text, kept),
        lowercase=False,
        n_features=HASHED_FEATURES,
        alternate_sign=False,
    )
    return hstack([shapes.transform(texts), words.transform(texts)]).tocsr()
