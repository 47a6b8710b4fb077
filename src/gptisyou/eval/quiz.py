"""The blind test for people: a held-out moment of the chat, the persona's real reply and the clone's, in a random
order. Which one did the persona really write? If people cannot tell, the clone sounds like the person.

The questions are the moments of the run's last evaluation (`<run>/eval/metrics.json`). What is shown is real
chat text, so phone numbers, e-mail addresses, URLs and account numbers are hidden first. Answers are stored in
the workspace and counted per run, with a 95 % interval.
"""

import json
import random
from dataclasses import dataclass

from gptisyou.data.redact import Redactor
from gptisyou.errors import InputError
from gptisyou.eval.intervals import share
from gptisyou.runs import Run
from gptisyou.store.database import Store


@dataclass(frozen=True, slots=True)
class Question:
    number: int  # the moment's index in the run's evaluation
    context: tuple[tuple[str, str], ...]  # (speaker, text), oldest first
    replies: tuple[str, str]  # the real one and the clone's, in a random order
    real: int  # which of `replies` is the real one: never shown before the answer


def questions(run: Run, seed: int = 0) -> list[Question]:
    """The quiz of a run, in a seeded random order.

    Raises:
        InputError: the run has not been evaluated yet.
    """
    metrics_file = run.eval_dir / "metrics.json"
    if not metrics_file.is_file():
        raise InputError(f"{run.directory}: not evaluated yet; the quiz uses its held-out moments: gptisyou eval")
    samples = json.loads(metrics_file.read_text())["samples"]
    hide = Redactor()  # no names to hide: contacts and numbers only
    rng = random.Random(seed)
    found = []
    for number, sample in enumerate(samples):
        if not sample["real"].strip() or not sample["tuned"].strip() or sample["real"] == sample["tuned"]:
            continue  # nothing to choose between
        real = rng.randrange(2)
        pair = (sample["tuned"], sample["real"]) if real else (sample["real"], sample["tuned"])
        context = tuple((line["speaker"], hide.redact(line["text"])) for line in sample["context"])
        found.append(Question(number, context, (hide.redact(pair[0]), hide.redact(pair[1])), real))
    rng.shuffle(found)
    return found


def answer(store: Store, run: Run, question: Question, picked: int, via: str) -> bool:
    """Store an answer; returns whether the real reply was picked."""
    right = picked == question.real
    store.record_quiz_answer(str(run.directory), question.number, right, via)
    return right


def tally(store: Store, run: Run, seed: int = 0) -> dict:
    """{"value", "low", "high", "n"}: how often people picked the real reply (0.5: they could not tell)."""
    return share(store.quiz_answers(str(run.directory)), seed)


class WebQuiz:
    """The quiz behind `serve --quiz`: the next question as JSON (the real reply's side withheld), and answers."""

    def __init__(self, workspace, run: Run, persona: str, seed: int | None = None) -> None:
        self.workspace, self.run, self.persona = workspace, run, persona
        self._questions = {
            question.number: question for question in questions(run, random.randrange(2**31) if seed is None else seed)
        }
        self._order = list(self._questions)
        self._next = 0

    def next_question(self) -> dict:
        if not self._order:
            return {"done": True, "persona": self.persona}
        question = self._questions[self._order[self._next % len(self._order)]]
        self._next += 1
        return {"done": False, "persona": self.persona, "number": question.number,
                "context": [list(line) for line in question.context[-6:]], "replies": list(question.replies)}  # fmt: skip

    def answer(self, number: int, picked: int) -> dict:
        """Raises:
        InputError: no such question."""
        question = self._questions.get(number)
        if question is None or picked not in (0, 1):
            raise InputError(f"no question {number} with a reply {picked}")
        with Store.open(self.workspace) as store:
            right = answer(store, self.run, question, picked, via="web")
            return {"right": right, "real": question.real, "tally": tally(store, self.run)}
