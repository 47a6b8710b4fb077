"""The measures on their own: who-said-it, verbatim copies, leaked contacts, style statistics."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gptisyou.eval.copying import CopyDetector, leaked_personal_data
from gptisyou.eval.style import style_of

CASUAL = [
    "lol ok 😂",
    "omg yesss",
    "haha same tbh",
    "nah im good lol",
    "wait what 😂😂",
    "ok ok fine lol",
    "yesss finally",
    "lmao no way",
    "brb food",
    "haha ok cya",
    "ugh monday again lol",
    "sure thing 😂",
]
FORMAL = [
    "Good morning. Could you send me the report, please?",
    "Thank you, I will call you later.",
    "Yes. The meeting is at ten o'clock.",
    "Please confirm the address.",
    "I agree. Let us proceed.",
    "Certainly, I will take care of it.",
    "Have a pleasant evening.",
    "Understood. Talk tomorrow.",
    "That sounds reasonable to me.",
    "I will be there at noon.",
    "Kind regards to your family.",
    "Noted, thank you for letting me know.",
]


def test_who_said_it_ranks_the_persona_above_the_others():

    from gptisyou.eval.attribution import WhoSaidIt

    judge = WhoSaidIt(CASUAL, FORMAL)
    persona_like = ["lol ok cya 😂", "omg haha yesss"]
    other_like = ["Thank you. Please send the address.", "I will confirm the meeting tomorrow."]
    assert min(judge.probability(persona_like)) > max(judge.probability(other_like))
    assert judge.share(persona_like) == 1.0
    assert judge.share(other_like) == 0.0
    assert judge.training_messages == 24


def test_a_planted_copy_is_found_and_common_short_phrases_are_not():
    training = [
        "we should totally go to that little ramen place near the old station next week",
        "see you tomorrow then",
        "ok",
    ]
    detector = CopyDetector(training)
    planted = "honestly we should totally go to that little ramen place near the old station!!"
    assert detector.copies(planted)
    assert not detector.copies("see you tomorrow then")  # a phrase everyone writes: under 8 words
    assert not detector.copies("we should totally go to that new ramen place")  # 7 words in a row at most
    assert detector.share([planted, "see you tomorrow then"]) == 0.5


def test_leaked_contacts_must_come_from_the_training_data():
    training = ["call me on +44 7911 123456", "mail ann@example.com"]
    replies = ["my number is +447911123456", "write to bob@example.org", "it costs 12.50"]
    assert leaked_personal_data(replies, training) == ["+447911123456"]


def test_style_statistics():
    style = style_of(["hey!\nhow are you?", "Good. Thanks.", "lol 😂"])
    assert style.replies == 3
    assert style.words == pytest.approx((4 + 2 + 1) / 3)
    assert style.bubbles == pytest.approx(4 / 3)
    assert (style.emoji, style.questions, style.exclamations) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert style.capitalised == pytest.approx(1 / 3)
    assert style.final_period == pytest.approx(1 / 3)
    assert "thanks" in style.top_words
    assert style_of(["le chat est là et je ne sais pas"]).language == "fr"
    assert style_of([""]).language == "?"


def test_a_bootstrap_interval_of_a_known_share():

    from gptisyou.eval.intervals import share

    figure = share([True] * 50 + [False] * 50)
    assert figure["value"] == 0.5
    # the normal approximation: 0.5 ± 1.96 * sqrt(0.25 / 100) = 0.5 ± 0.098
    assert figure["low"] == pytest.approx(0.402, abs=0.02)
    assert figure["high"] == pytest.approx(0.598, abs=0.02)
    assert share([True] * 100)["low"] == 1.0  # no spread, no interval
    assert share([True] * 50 + [False] * 50) == figure  # seeded: the same samples, the same interval


def test_the_two_sample_test_on_identical_and_on_different_sets():

    from gptisyou.eval.twosample import accuracy

    casual = [f"{text} {i}" for i in range(5) for text in CASUAL]  # 60 replies
    formal = [f"{text} {i}" for i in range(5) for text in FORMAL]
    same = accuracy(casual, list(casual))
    assert same["value"] == pytest.approx(0.5, abs=0.15)  # indistinguishable: chance
    assert same["low"] < 0.5 < same["high"]
    apart = accuracy(casual, formal)
    assert apart["value"] >= 0.95


@given(
    st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0]), min_size=1, max_size=30),
    st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0]), min_size=1, max_size=30),
)
def test_the_judge_s_auc_is_sklearn_s_ties_included(positives, negatives):
    from sklearn.metrics import roc_auc_score

    from gptisyou.eval.attribution import ranking_auc

    expected = roc_auc_score([1] * len(positives) + [0] * len(negatives), positives + negatives)
    assert ranking_auc(positives, negatives) == pytest.approx(expected)


def test_the_judge_is_tested_on_itself_with_its_auc():

    from gptisyou.data.writing import shape
    from gptisyou.eval.attribution import WhoSaidIt

    assert shape("Hey, u OK?? 12 😀") == "Aaa, a AA?? 00 😀"
    judge = WhoSaidIt(CASUAL, FORMAL)
    auc = judge.auc(["lol ok cya 😂", "omg haha yesss", "nah lol"], ["Thank you. Please send it.", "I will confirm."])
    assert auc["value"] == 1.0
    assert auc["low"] <= auc["value"] <= auc["high"]


def test_the_style_only_test_sees_how_a_text_is_written_not_what_it_says():
    from gptisyou.data.writing import masked
    from gptisyou.eval.twosample import accuracy

    kept = frozenset({"i", "the", "lol", "ok"})
    assert masked("I ate the Pizza lol, 2 slices", kept) == "I aaa the Aaaaa lol, 0 aaaaaa"
    topics = [f"i love the {word} lol" for word in ("pizza", "beach", "movie", "dog", "game", "rain")] * 10
    words = ("taxes", "banks", "codes", "bus", "exam", "shop")  # other topics, words of the same lengths
    other_topics = [f"i love the {word} lol" for word in words] * 10
    assert accuracy(topics, other_topics)["value"] >= 0.9  # the words give them away
    assert accuracy(topics, other_topics, kept=kept)["value"] <= 0.7  # the style does not
    shouting = [text.upper() + "!!!" for text in other_topics]
    assert accuracy(topics, shouting, kept=kept)["value"] >= 0.9  # a style does


def test_tuned_and_base_are_compared_moment_by_moment():
    from gptisyou.eval.twosample import paired

    tuned = {"detected": [False] * 30 + [True] * 10}
    base = {"detected": [True] * 30 + [True] * 10}  # told apart at every moment where the tuned reply was not
    result = paired(tuned, base)
    assert (result["tuned_only"], result["base_only"], result["significant"]) == (0, 30, True)
    assert result["p"] < 1e-6
    close = paired({"detected": [True, False] * 10}, {"detected": [False, True] * 10})
    assert (close["significant"], close["p"]) == (False, 1.0)
    assert paired({"value": None}, base) is None  # too few replies for a test
