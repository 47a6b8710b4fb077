"""Preference tuning after the fine-tune (DPO): the person's real reply is preferred to a model's.

At moments of the training period a model writes its own reply; the real reply is "chosen", the model's
"rejected". Direct preference optimisation (Rafailov et al., 2023) then raises the tuned model's log-likelihood
of the chosen reply relative to the rejected one, each measured against a reference:

- against the base model (the adapter switched off, which also wrote the rejected replies): what is learned is
  what sets the person apart from a generic chat model;
- in self-play (SPIN, Chen et al. 2024; DITTO, Shaikh et al. 2024) the tuned model itself writes the rejected
  replies and is the reference, frozen as the round starts: what is learned is where the clone still writes like
  a model and not like the person. Each round samples afresh from the newest model.

Only moments of the training period are used, never the held-out one. The log-likelihoods come from the
fine-tune's own loss (`targeted_forward`: the vocabulary head at the reply's tokens only).
"""

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gptisyou.data.dataset import PersonaData, reply_moments
from gptisyou.data.render import Spoken
from gptisyou.engine.device import mixed_precision
from gptisyou.engine.responder import Line, Sampling
from gptisyou.engine.torch_engine import TorchClone
from gptisyou.train.batches import TokenizedExample, collate
from gptisyou.train.model import targeted_forward

CONTEXT_TURNS = 6  # turns before each moment: enough to reply to, short enough to keep a pair cheap
PAIRS_PER_STEP = 8
REJECTED_TOKENS = 48  # the base model's reply is cut here: the person's replies are short


@dataclass(frozen=True, slots=True)
class Pair:
    """One moment twice: the same context, ending in the real reply (chosen) or the base model's (rejected)."""

    chosen: TokenizedExample
    rejected: TokenizedExample


def pairs(
    clone: TorchClone, data: PersonaData, count: int, context_tokens: int, seed: int, self_play: bool = False
) -> list[Pair]:
    """`count` moments of the training period, spread over it, each with the base model's reply to it (with
    `self_play`, the tuned model's own)."""
    model, transcript = clone.model, clone.transcript
    found = []
    for index, (context, real) in enumerate(reply_moments(data.train, data.persona, count, CONTEXT_TURNS)):
        history = [Line(turn.sender, turn.text) for turn in context]
        with mixed_precision(model.device), nullcontext() if self_play else model.disable_adapter():
            rejected = clone.reply(history, Sampling(max_new_tokens=REJECTED_TOKENS, seed=seed + index))
        if rejected and rejected != real.text:
            memory = clone.memory_block(history)
            found.append(
                Pair(
                    *(
                        example(transcript, history, data.persona, reply, context_tokens, memory)
                        for reply in (real.text, rejected)
                    )
                )
            )
    return found


def corrected_pairs(clone: TorchClone, corrections: Sequence, memory, context_tokens: int) -> list[Pair]:
    """The user's corrections ("they wouldn't say that") as pairs: the clone's reply is rejected; chosen is what
    the user wrote the person would say, else the person's real reply at the training moment most like the
    correction's context (BM25 over the training period's exchanges, as memory retrieval finds them)."""
    found = []
    for correction in corrections:
        history = [Line(speaker, text) for speaker, text in correction.context]
        chosen = correction.rewrite
        if not chosen:
            said = [text for speaker, text in correction.context if speaker != clone.persona][-3:]
            recalled = memory.recall(said or [correction.reply], 1)
            chosen = recalled[0].reply.text if recalled else None
        if chosen and chosen != correction.reply:
            block = clone.memory_block(history)
            found.append(
                Pair(
                    *(
                        example(clone.transcript, history, clone.persona, reply, context_tokens, block)
                        for reply in (chosen, correction.reply)
                    )
                )
            )
    return found


def example(
    transcript, history: Sequence[Line], persona: str, reply: str, context_tokens: int, memory: Sequence[int]
) -> TokenizedExample:
    """The newest turns of the context that fit in half the window, then `reply` as the only target (the persona's
    earlier turns in the context are not): however long the context or the reply, the reply starts inside the window
    and is learned from (the window cuts its end)."""
    budget, kept = context_tokens // 2 - len(memory), []
    for line in reversed(history):
        budget -= len(transcript.turn(line.speaker, line.text))
        if budget < 0:
            break
        kept.append(Spoken(line.speaker, line.text))
    turns = [*reversed(kept), Spoken(persona, reply, target=True)]
    ids, labels = transcript.training(turns, context_tokens, memory)
    return TokenizedExample(tuple(ids), tuple(labels))


def log_likelihood(model, example: TokenizedExample, pad_id: int) -> torch.Tensor:
    """The summed log-probability of the example's target tokens."""
    loss, _, count = targeted_forward(model, collate([example], pad_id))
    return -loss * count


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """-log sigmoid(beta * (how much more the policy prefers chosen over rejected than the reference does))."""
    margin = (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected)
    return -F.logsigmoid(beta * margin)


def tune(
    model,
    pairs: list[Pair],
    pad_id: int,
    beta: float,
    learning_rate: float,
    on_step: Callable[[dict], None] | None = None,
    self_play: bool = False,
) -> list[dict]:
    """One pass of DPO over `pairs` on the model's trainable (LoRA) weights; a record per optimizer step. The
    reference is the base model, or with `self_play` the model as it is now (before this pass)."""
    with torch.no_grad(), mixed_precision(model.device), nullcontext() if self_play else model.disable_adapter():
        model.eval()
        reference = [
            (log_likelihood(model, p.chosen, pad_id), log_likelihood(model, p.rejected, pad_id)) for p in pairs
        ]
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate)
    records = []
    for start in range(0, len(pairs), PAIRS_PER_STEP):
        model.train()
        group = list(
            zip(pairs[start : start + PAIRS_PER_STEP], reference[start : start + PAIRS_PER_STEP], strict=True)
        )
        loss_sum = preferred = 0.0
        for pair, (reference_chosen, reference_rejected) in group:
            with mixed_precision(model.device):
                chosen, rejected = (
                    log_likelihood(model, pair.chosen, pad_id),
                    log_likelihood(model, pair.rejected, pad_id),
                )
            loss = dpo_loss(chosen, rejected, reference_chosen, reference_rejected, beta)
            (loss / len(group)).backward()
            loss_sum += loss.item()
            preferred += float(chosen - reference_chosen > rejected - reference_rejected)
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        record = {
            "preference_step": len(records) + 1,
            "dpo_loss": loss_sum / len(group),
            "preference_accuracy": preferred / len(group),
        }
        records.append(record)
        if on_step:
            on_step(record)
    return records
