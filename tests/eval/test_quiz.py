"""The blind quiz: questions from a run's evaluation, contacts hidden, answers stored and scored."""

import pytest

from gptisyou.eval import quiz
from gptisyou.runs import Run
from gptisyou.store.database import Store
from tests.conftest import fake_trained_run

SAMPLES = [
    {"context": [{"speaker": "Bob", "text": f"call me on +44 7911 123456 ({i})"}], "real": f"real {i}",
     "tuned": f"clone {i}", "base": f"base {i}"}
    for i in range(6)
] + [{"context": [{"speaker": "Bob", "text": "same"}], "real": "same", "tuned": "same", "base": "x"}]  # fmt: skip


@pytest.fixture
def evaluated(workspace) -> Run:
    """A run of Ann's with an evaluation's samples, as `gptisyou eval` leaves it."""
    return fake_trained_run(workspace, samples=SAMPLES)


def test_questions_pair_the_real_reply_with_the_clones_and_hide_contacts(evaluated):
    asked = quiz.questions(evaluated, seed=3)
    assert len(asked) == 6  # the moment where the clone said exactly the real reply is no question
    for question in asked:
        assert question.replies[question.real] == f"real {question.number}"
        assert question.replies[1 - question.real] == f"clone {question.number}"
        assert question.context == (("Bob", f"call me on [PHONE_1] ({question.number})"),)
    assert {question.real for question in asked} == {0, 1}
    assert quiz.questions(evaluated, seed=3) == asked


def test_the_terminal_quiz_stores_and_scores_the_answers(run, evaluated, workspace):
    asked = quiz.questions(evaluated, seed=5)
    picks = ["ab"[asked[0].real], "ab"[1 - asked[1].real]]  # one right, one wrong, then stop
    result = run("quiz", "--as", "Ann", "--seed", "5", input="\n".join([*picks, "q"]) + "\n")
    assert result.exit_code == 0, result.output
    assert "[PHONE_1]" in result.output
    assert "+44 7911" not in result.output
    assert "You picked the real reply 1 of 2 times." in result.output
    with Store.open(workspace) as store:
        assert store.quiz_answers(str(evaluated.directory)) == [True, False]
        assert quiz.tally(store, evaluated)["value"] == 0.5


def test_the_quiz_needs_an_evaluation_first(run, evaluated):
    (evaluated.eval_dir / "metrics.json").unlink()
    result = run("quiz", "--as", "Ann")
    assert result.exit_code == 2
    assert "not evaluated yet" in result.output
