"""Loss where the persona speaks, with the vocabulary head evaluated only there.

Gemma's head maps each position to 262,144 logits: more multiply-adds than the whole transformer, and far more
memory than anything else in a batch. Most positions are other people's turns with no loss, so the hidden
states are gathered at the labelled positions first and the head runs on them in chunks: at most one chunk of
logits exists at a time. With a frozen head (LoRA never trains it) each chunk's gradient for the hidden states
is computed right away, in the forward pass, so the logits are never needed again; a trainable head falls back
to recomputing each chunk in the backward pass (activation checkpointing).
"""

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from gptisyou.train.batches import IGNORE_INDEX


def targeted_loss(
    hidden: torch.Tensor,
    head: torch.nn.Linear,
    labels: torch.Tensor,
    chunk_size: int = 256,
    softcap: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(mean next-token cross-entropy, correct predictions, labelled positions) over the labelled positions.

    `hidden` is the model's last hidden state [batch, length, width]; position t predicts label t + 1.
    An all-unlabelled batch gives a zero loss that still backpropagates.
    """
    targets = labels[:, 1:]
    mask = targets != IGNORE_INDEX
    selected = hidden[:, :-1][mask]
    targets = targets[mask]
    count = int(targets.numel())
    if count == 0:
        return hidden.sum() * 0.0, torch.zeros((), dtype=torch.long, device=hidden.device), 0
    if head.weight.requires_grad or head.bias is not None:
        total, correct = _checkpointed_chunks(selected, targets, head, chunk_size, softcap)
    else:
        total, correct = _FrozenHeadCrossEntropy.apply(selected, head.weight, targets, chunk_size, softcap)
    return total / count, correct, count


class _FrozenHeadCrossEntropy(torch.autograd.Function):
    """Summed cross-entropy through a frozen linear head, its input gradient computed chunk by chunk up front."""

    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk_size, softcap):
        total = hidden.new_zeros((), dtype=torch.float32)
        correct = torch.zeros((), dtype=torch.long, device=hidden.device)
        grad_hidden = torch.empty_like(hidden)
        rows = torch.arange(min(chunk_size, len(targets)), device=hidden.device)
        for start in range(0, len(targets), chunk_size):
            chunk, chunk_targets = hidden[start : start + chunk_size], targets[start : start + chunk_size]
            logits = (chunk @ weight.to(chunk.dtype).T).float()
            if softcap:
                capped = torch.tanh(logits / softcap)
                logits = capped * softcap
            log_probs = torch.log_softmax(logits, dim=-1)
            picked = rows[: len(chunk_targets)]
            total += -log_probs[picked, chunk_targets].sum()
            correct += (logits.argmax(-1) == chunk_targets).sum()
            grad_logits = log_probs.exp_()  # softmax, in place: d(-log p_target)/d logits = p - onehot
            grad_logits[picked, chunk_targets] -= 1
            if softcap:
                grad_logits *= 1 - capped.square()
            grad_hidden[start : start + chunk_size] = (grad_logits.to(chunk.dtype) @ weight.to(chunk.dtype)).to(
                grad_hidden.dtype
            )
        ctx.save_for_backward(grad_hidden)
        ctx.mark_non_differentiable(correct)
        return total, correct

    @staticmethod
    def backward(ctx, grad_total, _grad_correct):
        (grad_hidden,) = ctx.saved_tensors
        return grad_hidden * grad_total.to(grad_hidden.dtype), None, None, None, None


def _checkpointed_chunks(selected, targets, head, chunk_size, softcap):
    total = selected.new_zeros((), dtype=torch.float32)
    correct = torch.zeros((), dtype=torch.long, device=selected.device)
    for start in range(0, len(targets), chunk_size):
        chunk_loss, chunk_correct = checkpoint(
            _chunk_loss,
            selected[start : start + chunk_size],
            targets[start : start + chunk_size],
            head,
            softcap,
            use_reentrant=False,
        )
        total = total + chunk_loss
        correct = correct + chunk_correct
    return total, correct


def _chunk_loss(hidden: torch.Tensor, targets: torch.Tensor, head: torch.nn.Module, softcap: float | None):
    logits = head(hidden).float()
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits, targets, reduction="sum"), (logits.argmax(-1) == targets).sum()
