"""The blind test for people: a held-out moment of the chat, the persona's real reply and the clone's, in a random
order. Which one did the persona really write? If people cannot tell, the clone sounds like the person.

The questions are the moments of the run's last evaluation (`<run>/eval/metrics.json`). What is shown is real
chat text, so phone numbers, e-mail addresses, URLs and account numbers are hidden first, in the texts and in
the speakers' names (an SMS contact without a name is their number). Answers are stored in the workspace and
counted per run, with a 95 % interval.

On the web, an answer counts only once per question shown: each question comes with a one-time token, the
answer must bring it back, and which reply was real is said only after the answer is stored. Answers are also
limited per minute, so a script cannot fill the tally.
"""

import json
import random
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

from gptisyou.data.redact import Redactor
from gptisyou.errors import InputError, TooManyRequests
from gptisyou.eval.intervals import share
from gptisyou.store.database import Store
from gptisyou.store.runs import Run


@dataclass(frozen=True, slots=True)
class Question:
    number: int  # the moment's index in the run's evaluation
    context: tuple[tuple[str, str], ...]  # (speaker, text), oldest first
    replies: tuple[str, str]  # the real one and the clone's, in a random order
    real: int  # which of `replies` is the real one: never shown before the answer


def questions(run: Run, seed: int = 0, route: str = "tuned") -> list[Question]:
    """The quiz of a run, in a seeded random order; the clone's reply is `route`'s (an `eval --route` name, or
    "tuned", the run's own, or "base").

    Raises:
        InputError: the run has not been evaluated yet, or not with that route.
    """
    metrics_file = run.eval_metrics
    if not metrics_file.is_file():
        raise InputError(f"{run.directory}: not evaluated yet; the quiz uses its held-out moments: gptisyou eval")
    samples = json.loads(metrics_file.read_text())["samples"]
    if samples and route not in samples[0]:
        raise InputError(
            f"{run.directory}: its last evaluation asked no route {route!r}: gptisyou eval --route {route}"
        )
    hide = Redactor()  # no names to hide: contacts and numbers only
    rng = random.Random(seed)
    found = []
    for number, sample in enumerate(samples):
        clone = sample[route]
        if not sample["real"].strip() or not clone.strip() or sample["real"] == clone:
            continue  # nothing to choose between
        real = rng.randrange(2)
        pair = (clone, sample["real"]) if real else (sample["real"], clone)
        context = tuple((hide.redact(line["speaker"]), hide.redact(line["text"])) for line in sample["context"])
        found.append(Question(number, context, (hide.redact(pair[0]), hide.redact(pair[1])), real))
    rng.shuffle(found)
    return found


def answer(store: Store, run: Run, question: Question, picked: int, via: str, route: str = "tuned") -> bool:
    """Store an answer (counted apart for each route); returns whether the real reply was picked."""
    right = picked == question.real
    store.quiz.record(_answers_of(run, route), question.number, right, via)
    return right


def tally(store: Store, run: Run, seed: int = 0, route: str = "tuned") -> dict:
    """{"value", "low", "high", "n"}: how often people picked the real reply over `route`'s (0.5: they could not
    tell)."""
    return share(store.quiz.of_run(_answers_of(run, route)), seed)


def _answers_of(run: Run, route: str) -> str:
    """What a route's answers are stored under: the run's directory for its own clone, and beside it for others."""
    return str(run.directory) if route == "tuned" else f"{run.directory}#{route}"


class WebQuiz:
    """The quiz behind `serve --quiz`: the next question as JSON with a one-time token (the real reply's side
    withheld), and answers that bring a token back."""

    OUTSTANDING = 1_000  # questions shown and not yet answered; the oldest are forgotten beyond this
    ANSWERS_PER_MINUTE = 30

    def __init__(self, workspace, run: Run, persona: str, seed: int | None = None) -> None:
        self.workspace, self.run, self.persona = workspace, run, persona
        self._questions = {
            question.number: question for question in questions(run, random.randrange(2**31) if seed is None else seed)
        }
        self._order = list(self._questions)
        self._next = 0
        self._shown: OrderedDict[str, int] = OrderedDict()  # token → question number
        self._answered_at: deque[float] = deque()

    def next_question(self) -> dict:
        if not self._order:
            return {"done": True, "persona": self.persona}
        question = self._questions[self._order[self._next % len(self._order)]]
        self._next += 1
        token = secrets.token_urlsafe(16)
        self._shown[token] = question.number
        while len(self._shown) > self.OUTSTANDING:
            self._shown.popitem(last=False)
        return {
            "done": False,
            "persona": self.persona,
            "number": question.number,
            "token": token,
            "context": [list(line) for line in question.context[-6:]],
            "replies": list(question.replies),
        }

    def answer(self, token: str, picked: int) -> dict:
        """Store the answer to the question `token` was shown with; then say which reply was real.

        Raises:
            InputError: a token never given, or already answered, or a reply other than 0 or 1.
            TooManyRequests: more than ANSWERS_PER_MINUTE in the last minute.
        """
        if picked not in (0, 1):
            raise InputError(f"picked must be 0 or 1, not {picked}")
        now = time.monotonic()
        while self._answered_at and now - self._answered_at[0] > 60:
            self._answered_at.popleft()
        if len(self._answered_at) >= self.ANSWERS_PER_MINUTE:
            raise TooManyRequests(f"more than {self.ANSWERS_PER_MINUTE} answers a minute; try again shortly")
        number = self._shown.pop(token, None)
        if number is None:
            raise InputError("this question was answered already, or never shown: ask for the next one")
        self._answered_at.append(now)
        question = self._questions[number]
        with Store.open(self.workspace) as store:
            right = answer(store, self.run, question, picked, via="web")
            return {"right": right, "real": question.real, "tally": tally(store, self.run)}
