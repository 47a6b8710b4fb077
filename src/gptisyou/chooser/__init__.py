"""Best-of-N: of several replies the clone samples for one turn, keep the one most like the person.

Each candidate is weighed on four things, each a number:
- `likeness`: the person-likeness scorer's log-odds (`likeness.Likeness`, the persona's real replies against the
  clone's own samples, training period only);
- `logprob` and `prior`: log p(reply | conversation) and log p(reply) under the clone. Together they are the
  mutual-information relevance of Li et al. (2016), log p(r | c) - λ · log p(r): a reply that fits any
  conversation ("ok", "haha") scores high on both, and loses;
- `length`: the log-share of the person's own turns with as many words, and as many bubbles.

The weights are set on a development split of the training period (`build`): those that best pick the person's
real reply out from among the clone's candidates for the same moment. Nothing here sees held-out data or the
evaluation's classifiers: what chooses a reply is never what grades it. A chooser is built once per run and
stored in `<run>/chooser/`.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gptisyou.chooser.likeness import Likeness
from gptisyou.data.writing import WORD
from gptisyou.engine.clone import Candidate
from gptisyou.engine.responder import bubbles

FEATURES = ("likeness", "logprob", "prior", "length")
WORD_BINS = (0, 1, 2, 3, 4, 5, 7, 10, 15, 23, 35)  # lower edges: a turn of 8 words falls in the 7-9 bin
BUBBLE_BINS = (1, 2, 3, 4)


@dataclass(frozen=True, slots=True)
class Lengths:
    """The person's turns by words and by bubbles: log-shares per bin (add-one smoothed)."""

    words: list[float]
    bubbles: list[float]

    @classmethod
    def of(cls, texts: list[str]) -> "Lengths":
        return cls(
            _log_shares([_words(text) for text in texts], WORD_BINS),
            _log_shares([_bubbles(text) for text in texts], BUBBLE_BINS),
        )

    def score(self, text: str) -> float:
        return self.words[_bin(_words(text), WORD_BINS)] + self.bubbles[_bin(_bubbles(text), BUBBLE_BINS)]


@dataclass(frozen=True, slots=True)
class Chooser:
    likeness: Likeness
    lengths: Lengths
    weights: dict[str, float]  # per feature of FEATURES
    development: dict  # how well the weights pick the real reply on the development moments (see build)

    def features(self, texts: list[str], logprobs: list[float], priors: list[float]) -> np.ndarray:
        """(len(texts), len(FEATURES)): each text's numbers, in FEATURES order."""
        columns = [self.likeness.score(texts), logprobs, priors, [self.lengths.score(text) for text in texts]]
        return np.column_stack([np.asarray(column, dtype=float) for column in columns])

    def scores(self, candidates: list[Candidate]) -> np.ndarray:
        texts = [candidate.text for candidate in candidates]
        features = self.features(texts, [c.logprob for c in candidates], [c.prior for c in candidates])
        scores = features @ np.array([self.weights[name] for name in FEATURES])
        return np.where([bool(text.strip()) for text in texts], scores, -np.inf)  # an empty reply is no reply

    def best(self, candidates: list[Candidate]) -> int:
        """The index of the candidate to keep (the first when all are empty)."""
        return best_index(self.scores(candidates))

    def save(self, directory: Path) -> None:
        """Writes the chooser into `directory` (which exists), each file whole or not at all."""
        from gptisyou.store.workspace import built_whole, written_whole

        with built_whole(directory / "likeness.npz") as partial:
            self.likeness.save(partial)
        settings = {"weights": self.weights, "lengths": asdict(self.lengths), "development": self.development}
        with written_whole(directory / "chooser.json") as file:
            json.dump(settings, file, indent=1)

    @classmethod
    def load(cls, directory: Path) -> "Chooser | None":
        """The chooser stored in `directory`, or None when there is none (or only part of one)."""
        try:
            settings = json.loads((directory / "chooser.json").read_text())
            likeness = Likeness.load(directory / "likeness.npz")
        except (OSError, ValueError, KeyError):
            return None
        return cls(likeness, Lengths(**settings["lengths"]), settings["weights"], settings["development"])


def best_index(scores) -> int:
    """The index of the best of `scores` (a chooser's), the first when none is finite (every candidate empty)."""
    scores = np.asarray(scores, dtype=float)
    return int(np.argmax(scores)) if np.isfinite(scores).any() else 0


def _words(text: str) -> int:
    return len(WORD.findall(text))


def _bubbles(text: str) -> int:
    return max(1, len(bubbles(text)))


def _bin(value: int, edges: tuple[int, ...]) -> int:
    return max(index for index, edge in enumerate(edges) if value >= edge)


def _log_shares(values: list[int], edges: tuple[int, ...]) -> list[float]:
    counts = np.ones(len(edges))
    for value in values:
        counts[_bin(value, edges)] += 1
    return np.log(counts / counts.sum()).tolist()
