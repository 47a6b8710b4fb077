"""Can a classifier tell the persona's real replies from a model's replies to the same moments?

A classifier two-sample test (C2ST): real against generated, cross-validated accuracy. 0.5 means the two sets
cannot be told apart; 1.0 means every reply gives itself away. Its features are deliberately not the
attribution judge's alone: word and character n-grams of the text itself, plus length, bubbles, emoji and
punctuation rates, so that no single trick passes both.

The style-only test sees the same features of the texts with their content words masked (text distortion,
Stamatatos 2017): every word outside the persona's most frequent ones becomes its shape (`Pizza` → `Aaaaa`), so
it tells replies apart by how they are written, not by what they say. That is what a small model can be asked to
fool; telling them apart by content too needs coherence.

Tuned and base answer the same moments, so they are compared pair by pair (McNemar's exact test on the moments
where one model's reply was told apart from the real one and the other's was not).
"""

import re

import numpy as np

from gptisyou.data.writing import masked
from gptisyou.eval.intervals import share

STYLE_WORDS = 100  # the words the style-only test keeps: the persona's most frequent, the rest masked
SIGNIFICANT = 0.05  # a paired difference with a smaller p-value is called significant

_EMOJI = re.compile("[\U0001f300-\U0001faff\U00002600-\U000027bf]")


def _numbers(texts: list[str]) -> np.ndarray:
    rows = []
    for text in texts:
        words = text.split()
        rows.append(
            [
                np.log1p(len(text)),
                np.log1p(len(words)),
                text.count("\n") + 1,
                len(_EMOJI.findall(text)),
                text.count("?"),
                text.count("!"),
                text.count("."),
                sum(c.isupper() for c in text) / (len(text) or 1),
            ]
        )
    return np.array(rows, dtype=float)


def accuracy(
    real: list[str], generated: list[str], seed: int = 0, folds: int = 5, kept: frozenset[str] | None = None
) -> dict:
    """{"value", "low", "high", "n", "detected"}: the cross-validated accuracy of telling `real` from `generated`,
    and for each generated reply whether it was told apart. With `kept`, the style-only test: every other word is
    masked.

    When the two are paired (the i-th generated reply answers the i-th real one's moment), a pair stays in one
    fold: a model that gives back the real reply word for word is then indistinguishable, as it should be.
    """
    if kept is not None:
        real, generated = [masked(text, kept) for text in real], [masked(text, kept) for text in generated]
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    texts = [*real, *generated]
    labels = np.array([1] * len(real) + [0] * len(generated))
    if min(len(real), len(generated)) < folds:
        return {"value": None, "low": None, "high": None, "n": len(texts)}
    correct = np.zeros(len(texts), dtype=bool)
    paired = len(real) == len(generated)
    groups = [*range(len(real)), *range(len(generated))] if paired else list(range(len(texts)))
    splits = GroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(texts, labels, groups)
    for train, test in splits:
        words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\S+")
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, lowercase=False)
        scale = StandardScaler()
        fitted = [words.fit([texts[i] for i in train]), chars.fit([texts[i] for i in train])]
        scale.fit(_numbers([texts[i] for i in train]))

        def features(indices, fitted=fitted, scale=scale):
            chosen = [texts[i] for i in indices]
            return hstack(
                [
                    *(vectoriser.transform(chosen) for vectoriser in fitted),
                    csr_matrix(scale.transform(_numbers(chosen))),
                ]
            ).tocsr()

        model = LogisticRegression(max_iter=3000, random_state=seed).fit(features(train), labels[train])
        correct[test] = model.predict(features(test)) == labels[test]
    return share(correct.tolist(), seed=seed) | {"detected": correct[len(real) :].tolist()}


def paired(tuned: dict, base: dict) -> dict | None:
    """McNemar's exact test of tuned against base, moment by moment: {"tuned_only", "base_only", "p",
    "significant"}, `tuned_only` counting the moments where only the tuned reply was told apart."""
    from scipy.stats import binomtest

    if "detected" not in tuned or "detected" not in base or len(tuned["detected"]) != len(base["detected"]):
        return None
    pairs = list(zip(tuned["detected"], base["detected"], strict=True))
    tuned_only = sum(t and not b for t, b in pairs)
    base_only = sum(b and not t for t, b in pairs)
    p = binomtest(tuned_only, tuned_only + base_only, 0.5).pvalue if tuned_only + base_only else 1.0
    return {"tuned_only": tuned_only, "base_only": base_only, "p": float(p), "significant": bool(p < SIGNIFICANT)}
