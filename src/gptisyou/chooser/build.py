"""A run's chooser, built from its training period alone.

Training-period moments (a persona turn with words, and the turns before it) are split in two, seeded:
- on the first half the clone samples candidates, and the person-likeness scorer learns the persona's real
  training-period turns (those of the second half's moments left out) against them;
- on the second half, the development split, the clone samples candidates too, and the weights are those that
  best pick the real reply out from among [real reply, candidates] (a conditional logit, as the cooperative
  discriminators of Holtzman et al. 2018 were weighed). They keep the form of the module's score: each of
  likeness, relevance and length counts for the person (a weight ≥ 0), relevance as log p(r | c) - λ · log p(r)
  with 0 ≤ λ ≤ 1. Without that form, the weights would learn that a real reply is less likely under the clone
  than the clone's own samples are, and choose the strangest candidate.
"""

import random
from collections.abc import Callable

import numpy as np

from gptisyou.chooser import FEATURES, Chooser, Lengths
from gptisyou.chooser.likeness import Likeness
from gptisyou.data import dataset
from gptisyou.data.dataset import PersonaData, is_target, recorded_split, reply_moments
from gptisyou.engine.clone import Clone
from gptisyou.engine.responder import Line, Sampling, reply_length
from gptisyou.store.database import Store
from gptisyou.store.runs import Run
from gptisyou.store.workspace import ensure_private_dir
from gptisyou.train.config import TrainConfig

BUILD_MOMENTS = 160  # training-period moments: half teach the scorer, half set the weights
BUILD_CANDIDATES = 4  # sampled per moment
RIDGE = 0.01  # keeps the weights of standardised features small where the development moments say little


def run_dataset(store: Store, run: Run) -> PersonaData:
    """The run's dataset as it was split when it was trained (held-out conversations apart), not redacted."""
    recorded = run.config()
    train_config = TrainConfig.recorded(recorded.train)
    split = recorded_split(
        train_config.persona,
        recorded.held_out,
        recorded.held_out_from,
        example_tokens=train_config.window_tokens,
        redact=False,
    )
    return dataset.build(store, split)


def build_for_run(
    run: Run, clone: Clone, data: PersonaData, on_progress: Callable[[str, int, int], None] | None = None
) -> Chooser:
    """The run's chooser, built now (minutes: `BUILD_MOMENTS` x `BUILD_CANDIDATES` replies) and stored with it
    (`Chooser.load(run.chooser_dir)` reads it back). `data` is the run's dataset, as split when it was trained."""
    chooser = build(clone, data, reply_length(run.reply_tokens), on_progress=on_progress)
    chooser.save(ensure_private_dir(run.chooser_dir, inside=run.directory))
    return chooser


def stored_or_built(
    run: Run, clone: Clone, store: Store, on_progress: Callable[[str, int, int], None] | None = None
) -> Chooser:
    """The run's stored chooser, else one built now from its training period (`build_for_run`)."""
    return Chooser.load(run.chooser_dir) or build_for_run(run, clone, run_dataset(store, run), on_progress)


def build(
    clone: Clone,
    data: PersonaData,
    reply_tokens: int,
    seed: int = 0,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> Chooser:
    """The chooser of `clone` (the tuned model, as it replies), from `data`'s training period."""
    progress = on_progress or (lambda *_: None)
    moments = reply_moments(data.train, data.persona, BUILD_MOMENTS)
    development = set(random.Random(seed).sample(range(len(moments)), len(moments) // 2))
    sampled, groups = [], []
    for index, (context, real) in enumerate(moments):
        progress("chooser", index, len(moments))
        history = [Line(turn.sender, turn.text) for turn in context]
        sampling = Sampling(max_new_tokens=reply_tokens, seed=seed + index)
        candidates = [c for c in clone.candidates(history, sampling, BUILD_CANDIDATES) if c.text]
        if index in development:
            if candidates:
                options = [real.text, *(c.text for c in candidates)]
                logprobs = [clone.likelihood(history, real.text), *(c.logprob for c in candidates)]
                priors = [clone.prior(real.text), *(c.prior for c in candidates)]
                groups.append((options, logprobs, priors))
        else:
            sampled += [candidate.text for candidate in candidates]
    progress("chooser", len(moments), len(moments))
    held = {id(real) for index, (_, real) in enumerate(moments) if index in development}
    real = [
        turn.text
        for session in data.train
        for turn in session.turns
        if is_target(turn, data.persona) and id(turn) not in held
    ]
    unweighted = Chooser(Likeness.fit(real, sampled, seed), Lengths.of(real), dict.fromkeys(FEATURES, 0.0), {})
    features = [unweighted.features(*group) for group in groups]
    weights = _weights(features)
    development_figures = {
        "moments": len(groups),
        "candidates": BUILD_CANDIDATES,
        "real_first": _real_first(features, weights),  # the share of moments where the real reply scores best
        "chance": float(np.mean([1 / len(group) for group in features])) if features else None,
    }
    return Chooser(unweighted.likeness, unweighted.lengths, weights, development_figures)


def _weights(groups: list[np.ndarray]) -> dict[str, float]:
    """The weights of FEATURES that make the real reply (row 0 of each group) the likeliest pick, under the
    module's form (see the docstring); all zero when there is nothing to learn from."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    if not groups:
        return dict.fromkeys(FEATURES, 0.0)
    rows = np.vstack(groups)
    scale = rows.std(axis=0) + 1e-9
    scale[2] = scale[1]  # log p(r | c) and log p(r) on one scale, so that λ keeps its meaning
    standard = [group / scale for group in groups]

    def as_weights(parameters: np.ndarray) -> np.ndarray:
        likeness, relevance, contrast, length = parameters
        return np.array([likeness, relevance, -contrast * relevance, length])

    def loss(parameters: np.ndarray) -> float:
        weights = as_weights(parameters)
        picked = sum(logsumexp(group @ weights) - group[0] @ weights for group in standard)
        return picked / len(standard) + RIDGE * float(weights @ weights)

    bounds = [(0, None), (0, None), (0, 1), (0, None)]
    found = minimize(loss, np.array([0.1, 0.1, 0.5, 0.1]), method="L-BFGS-B", bounds=bounds)
    return dict(zip(FEATURES, (as_weights(found.x) / scale).tolist(), strict=True))


def _real_first(groups: list[np.ndarray], weights: dict[str, float]) -> float | None:
    vector = np.array([weights[name] for name in FEATURES])
    firsts = [(scores := group @ vector)[0] > scores[1:].max() for group in groups]
    return float(np.mean(firsts)) if firsts else None
