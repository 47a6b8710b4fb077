"""The blind quiz: questions from a run's evaluation, contacts hidden, answers stored and scored."""

import json

import pytest

from gptisyou.errors import InputError, TooManyRequests
from gptisyou.eval import quiz
from gptisyou.store.database import Store
from gptisyou.store.runs import Run
from tests.conftest import fake_trained_run

SAMPLES = [
    {
        "context": [{"speaker": "Bob", "text": f"call me on +44 7911 123456 ({i})"}],
        "real": f"real {i}",
        "tuned": f"clone {i}",
        "base": f"base {i}",
    }
    for i in range(6)
] + [{"context": [{"speaker": "Bob", "text": "same"}], "real": "same", "tuned": "same", "base": "x"}]


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
        assert store.quiz.of_run(str(evaluated.directory)) == [True, False]
        assert quiz.tally(store, evaluated)["value"] == 0.5


def test_the_quiz_draws_the_clone_s_reply_from_any_route_and_counts_each_apart(run, evaluated, workspace):
    route = "endpoint:llama3@http://127.0.0.1:11434/v1"
    samples = [sample | {route: f"prompted {number}"} for number, sample in enumerate(SAMPLES)]
    evaluated.eval_metrics.write_text(json.dumps({"samples": samples}))
    asked = quiz.questions(evaluated, seed=5, route=route)
    assert {question.replies[1 - question.real] for question in asked} == {f"prompted {n}" for n in range(7)}
    first = asked[0]
    result = run("quiz", "--as", "Ann", "--seed", "5", "--route", route, input=f"{'ab'[first.real]}\nq\n")
    assert result.exit_code == 0, result.output
    with Store.open(workspace) as store:
        assert quiz.tally(store, evaluated, route=route)["n"] == 1
        assert quiz.tally(store, evaluated)["n"] == 0  # the run's own clone: no answer yet
    missing = run("quiz", "--as", "Ann", "--route", "endpoint:other@http://127.0.0.1:1/v1")
    assert missing.exit_code == 2
    assert "asked no route 'endpoint:other@http://127.0.0.1:1/v1'" in missing.output


def test_the_quiz_needs_an_evaluation_first(run, evaluated):
    (evaluated.eval_dir / "metrics.json").unlink()
    result = run("quiz", "--as", "Ann")
    assert result.exit_code == 2
    assert "not evaluated yet" in result.output


def test_a_speaker_known_only_by_a_number_or_address_is_hidden_too(workspace):
    samples = [
        {
            "context": [{"speaker": "+1 555 010 9999", "text": "hi"}, {"speaker": "ann@example.com", "text": "yo"}],
            "real": "real",
            "tuned": "clone",
            "base": "base",
        }
    ]
    [question] = quiz.questions(fake_trained_run(workspace, samples=samples))
    assert [speaker for speaker, _ in question.context] == ["[PHONE_1]", "[EMAIL_1]"]


def test_a_web_answer_counts_once_per_question_shown_and_the_truth_comes_after_it(evaluated, workspace):
    """202 forged posts made the tally read 100 %: an answer now needs the one-time token of a shown question."""
    web = quiz.WebQuiz(workspace, evaluated, "Ann", seed=1)
    shown = web.next_question()
    assert "real" not in shown
    assert set(shown) >= {"token", "replies", "context"}
    result = web.answer(shown["token"], 0)
    assert result["real"] in (0, 1)
    assert result["tally"]["n"] == 1
    for forged in (shown["token"], "made-up", ""):
        with pytest.raises(InputError, match="answered already, or never shown"):
            web.answer(forged, 1)
    with Store.open(workspace) as store:
        assert len(store.quiz.of_run(str(evaluated.directory))) == 1


def test_web_answers_faster_than_a_person_gives_them_are_refused(evaluated, workspace, monkeypatch):
    monkeypatch.setattr(quiz.WebQuiz, "ANSWERS_PER_MINUTE", 3)
    web = quiz.WebQuiz(workspace, evaluated, "Ann", seed=1)
    tokens = [web.next_question()["token"] for _ in range(5)]
    for token in tokens[:3]:
        web.answer(token, 1)
    with pytest.raises(TooManyRequests, match="more than 3 answers a minute"):
        web.answer(tokens[3], 1)


def test_web_answers_stored_before_tokens_no_longer_count(workspace, evaluated):
    """Answers the old API took could have been forged: the migration sets every earlier web answer aside."""
    from gptisyou.store import database

    with Store.open(workspace) as store:
        store.db.execute("DELETE FROM _migrations WHERE name = '_counted_quiz_answers'")
        store.db.execute("ALTER TABLE quiz_answers DROP COLUMN counted")
        for via in ("web", "web", "terminal"):
            store.db.execute(
                "INSERT INTO quiz_answers (run, question, picked_real, via, answered_at) "
                "VALUES (?, 0, 1, ?, '2026-11-01')",
                (str(evaluated.directory), via),
            )
    with database.Store.open(workspace) as store:
        assert store.quiz.of_run(str(evaluated.directory)) == [True]  # the terminal's


def test_the_quiz_api_refuses_forged_and_hurried_answers_over_http(evaluated, workspace, tiny_base, monkeypatch):
    import urllib.error
    import urllib.request

    import transformers

    from gptisyou.engine.torch_engine import TorchClone
    from gptisyou.serve.server import Served, create_app
    from tests.conftest import ScriptedModel, live_server

    def call(url: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    monkeypatch.setattr(quiz.WebQuiz, "ANSWERS_PER_MINUTE", 2)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_base)
    clone = TorchClone(ScriptedModel.saying("w1 <eot>", tokenizer), tokenizer, "Ann")
    app = create_app(clone, Served("ann", me="Bob", quiz=quiz.WebQuiz(workspace, evaluated, "Ann", seed=1)))
    with live_server(app) as url:
        tokens = [call(f"{url}/api/quiz")[1]["token"] for _ in range(3)]
        assert call(f"{url}/api/quiz", {"number": 0, "picked": 1})[0] == 400  # the old form: no token
        assert call(f"{url}/api/quiz", {"token": tokens[0], "picked": 1})[0] == 200
        status, body = call(f"{url}/api/quiz", {"token": tokens[0], "picked": 1})
        assert (status, body["error"]["message"]) == (
            400,
            ("this question was answered already, or never shown: ask for the next one"),
        )
        assert call(f"{url}/api/quiz", {"token": tokens[1], "picked": 0})[0] == 200
        assert call(f"{url}/api/quiz", {"token": tokens[2], "picked": 0})[0] == 429
