"""Loss where the persona speaks, with the vocabulary head evaluated only there.

Gemma's head maps each position to 262,144 logits: more multiply-adds than the whole transformer, and far more
memory than anything else in a batch. Most positions are other people's turns with no loss, so the hidden
states are gathered at the labelled positions first, and the head runs on them in chunks, each recomputed in
the backward pass (activation checkpointing) so that at most one chunk of logits exists at a time.
"""

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from gptisyou.train.batches import IGNORE_INDEX


def targeted_loss(
    hidden: torch.Tensor,
    head: torch.nn.Module,
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
    total = hidden.new_zeros((), dtype=torch.float32)
    correct = torch.zeros((), dtype=torch.long, device=hidden.device)
    for start in range(0, count, chunk_size):
        chunk_loss, chunk_correct = checkpoint(
            _chunk_loss, selected[start : start + chunk_size], targets[start : start + chunk_size], head, softcap,
            use_reentrant=False,
        )  # fmt: skip
        total = total + chunk_loss
        correct = correct + chunk_correct
    return total / count, correct, count


def _chunk_loss(hidden: torch.Tensor, targets: torch.Tensor, head: torch.nn.Module, softcap: float | None):
    logits = head(hidden).float()
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits, targets, reduction="sum"), (logits.argmax(-1) == targets).sum()
