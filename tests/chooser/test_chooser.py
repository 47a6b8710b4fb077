"""Best-of-N: the chooser's parts, its storage, and a clone that keeps the reply it picks."""

import numpy as np
import pytest

from gptisyou.chooser import FEATURES, Chooser, Lengths
from gptisyou.chooser.build import _weights
from gptisyou.chooser.likeness import Likeness
from gptisyou.engine.clone import Candidate
from gptisyou.engine.responder import Line, Sampling, Usage

REAL = ["lol ok", "ya sure", "omg no way", "haha yes", "ok cool", "nah lol", "yep", "lol same"] * 6
SAMPLED = ["I would be happy to help you with that today.", "That sounds like a wonderful idea, thank you!"] * 12


def _chooser(weights: dict[str, float]) -> Chooser:
    return Chooser(Likeness.fit(REAL, SAMPLED), Lengths.of(REAL), weights, {"moments": 0})


def _candidate(text: str, logprob: float = -5.0, prior: float = -5.0) -> Candidate:
    return Candidate(text, logprob, prior, Usage())


def test_the_likeness_scorer_tells_the_person_s_writing_from_the_clone_s():
    scores = Likeness.fit(REAL, SAMPLED).score(["lol ya", "I am happy to help you with that, thank you."])
    assert scores[0] > 0 > scores[1]


def test_the_chooser_keeps_the_candidate_most_like_the_person_and_never_an_empty_one():
    chooser = _chooser(dict.fromkeys(FEATURES, 0.0) | {"likeness": 1.0, "length": 1.0})
    candidates = [_candidate(""), _candidate("Thank you so much, I would be happy to help."), _candidate("lol ok")]
    assert chooser.best(candidates) == 2
    assert chooser.best([_candidate(""), _candidate("")]) == 0


def test_relevance_prefers_the_reply_that_fits_the_conversation_over_a_generic_one():
    chooser = _chooser(dict.fromkeys(FEATURES, 0.0) | {"logprob": 1.0, "prior": -1.0})
    generic, fitting = _candidate("ok", logprob=-2.0, prior=-1.0), _candidate("ya sure", logprob=-4.0, prior=-9.0)
    assert chooser.best([generic, fitting]) == 1


def test_the_weights_learn_what_picks_the_real_reply_and_keep_their_form():
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(40):  # the real reply (row 0) has the highest likeness; the other features are noise
        group = rng.normal(size=(5, len(FEATURES)))
        group[0, 0] = group[:, 0].max() + 1
        groups.append(group)
    weights = _weights(groups)
    assert weights["likeness"] > 0
    assert min(weights["logprob"], weights["length"]) >= 0
    assert -weights["logprob"] <= weights["prior"] <= 0  # log p(r | c) - λ · log p(r), 0 ≤ λ ≤ 1
    assert _weights([]) == dict.fromkeys(FEATURES, 0.0)


def test_a_stored_chooser_reads_back_the_same_and_is_private(tmp_path):
    chooser = _chooser(dict.fromkeys(FEATURES, 0.5))
    directory = tmp_path / "chooser"
    directory.mkdir(mode=0o700)
    chooser.save(directory)
    again = Chooser.load(directory)
    candidates = [_candidate("lol ok"), _candidate("That is a wonderful idea.")]
    np.testing.assert_allclose(again.scores(candidates), chooser.scores(candidates), rtol=1e-5)
    assert {oct(path.stat().st_mode & 0o777) for path in directory.iterdir()} == {"0o600"}
    (directory / "chooser.json").write_text("{broken")
    assert Chooser.load(directory) is None  # a damaged chooser is built again, not trusted


@pytest.fixture
def clone(trained):
    import torch

    from gptisyou.engine import torch_engine
    from gptisyou.store.runs import Run

    return torch_engine.load(Run(trained), "Ann", dtype=torch.float32)


def test_a_sampled_reply_s_log_probability_is_the_one_the_model_gives_it(clone):
    history = [Line("Bob", "w3")]
    for seed in range(3):
        usage = Usage()
        text = "".join(clone.stream(history, Sampling(seed=seed, max_new_tokens=8), usage))
        if usage.finish_reason == "stop" and text:
            assert clone.likelihood(history, text) == pytest.approx(usage.logprob, abs=1e-3)
            assert clone.prior(text) < 0


def test_a_clone_with_a_chooser_answers_with_the_candidate_it_keeps(clone):
    history, sampling = [Line("Bob", "w3")], Sampling(seed=5, max_new_tokens=8)
    candidates = clone.candidates(history, sampling, 3)
    assert candidates[0].text == clone.reply(history, sampling)  # the first is the single sample
    chooser = _chooser(dict.fromkeys(FEATURES, 0.0) | {"length": 1.0})
    clone.choosing(chooser, 3)
    assert clone.reply(history, sampling) == candidates[chooser.best(candidates)].text
    clone.choosing(chooser, 1)
    assert clone.reply(history, sampling) == candidates[0].text


def test_a_run_s_chooser_is_built_once_from_its_training_period_then_read_back(clone, trained, workspace, monkeypatch):
    from gptisyou.chooser import build
    from gptisyou.store.database import Store
    from gptisyou.store.runs import Run

    monkeypatch.setattr(build, "BUILD_MOMENTS", 12)
    with Store.open(workspace) as store:
        built = build.stored_or_built(Run(trained), clone, store)
        assert built.development["moments"] <= 12
        monkeypatch.setattr(build, "build_for_run", lambda *_: pytest.fail("built again"))
        assert build.stored_or_built(Run(trained), clone, store).weights == built.weights
