"""The local LoRA recipe: base model + persona dataset → an adapter in a run directory.

setup (base model, LoRA on every linear projection, tokenized and batched data) → train (AdamW, cosine schedule
with warmup, gradient accumulation and clipping, bf16 autocast where the hardware has it, loss only on the
persona's tokens) → evaluate on the held-out turns (loss, perplexity, token accuracy) every few steps, keep the
best adapter, stop when validation stops improving → save (peft adapter, tokenizer, config, metrics.jsonl).
"""

import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import torch

from gptisyou import dataset_formats
from gptisyou.dataset import DatasetConfig, build, persona_chats, windows
from gptisyou.store import Store
from gptisyou.train import base as base_model
from gptisyou.train.batches import TokenizedExample, batches, collate, tokenize
from gptisyou.train.curves import plot_curves
from gptisyou.train.loss import targeted_loss
from gptisyou.workspace import ensure_private_dir, make_private

_ANY_NUMBER_OF_TURNS = 1_000_000  # held-out windows are bounded by tokens only


@dataclass(frozen=True, slots=True)
class TrainConfig:
    persona: str  # --as
    base: str | None = None  # a model directory or .gguf file; None: the embedded Gemma 3 270M
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    learning_rate: float = 2e-4
    warmup_fraction: float = 0.05  # of the planned steps
    max_steps: int | None = None  # optimizer steps; None: `epochs` over the data
    minutes: float | None = None  # stop after this long, whatever the step
    epochs: int = 1
    max_tokens: int = 512  # tokens per example
    batch_tokens: int = 2048  # padded tokens per micro-batch
    accumulation: int = 1  # micro-batches per optimizer step
    clip_norm: float = 1.0
    eval_every: int = 50  # optimizer steps between evaluations
    patience: int = 3  # evaluations without improvement before stopping early
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Evaluation:
    loss: float
    perplexity: float
    token_accuracy: float
    tokens: int


def train(
    store: Store,
    workspace: Path,
    config: TrainConfig,
    on_step: Callable[[dict], None] | None = None,
) -> Path:
    """Fine-tune a LoRA adapter for the persona; returns the run directory.

    Raises:
        InputError: an unknown persona, or a base that is neither a model directory nor a GGUF file.
        MissingExtra: the train extra is not installed.
    """
    dataset_config = DatasetConfig(config.persona, max_tokens=config.max_tokens, redact=False)
    persona_chats(store, dataset_config)  # a bad persona fails now, not after a minute of model loading
    torch.manual_seed(config.seed)
    base = base_model.prepare(workspace, config.base)
    model, tokenizer = _load(base.directory, config)
    count_tokens = _token_counter(tokenizer)
    data = build(store, dataset_config, count_tokens)
    train_set = [
        tokenize(dataset_formats.local_record(e, data.persona), tokenizer, config.max_tokens) for e in data.examples
    ]
    val_examples = windows(data.val, data.persona, _ANY_NUMBER_OF_TURNS, config.max_tokens, count_tokens)
    val_set = [
        tokenize(dataset_formats.local_record(e, data.persona), tokenizer, config.max_tokens) for e in val_examples
    ]
    plan = batches(train_set, config.batch_tokens, config.seed)
    total_steps = config.max_steps or max(1, math.ceil(len(plan) * config.epochs / config.accumulation))

    run = ensure_private_dir(workspace / "runs" / _safe(config.persona) / datetime.now().strftime("%Y%m%d-%H%M%S"))
    (run / "config.json").write_text(json.dumps({**asdict(config), "base_directory": str(base.directory)}, indent=1))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    schedule = _cosine_with_warmup(optimizer, max(1, int(total_steps * config.warmup_fraction)), total_steps)
    autocast = _autocast_dtype()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    best, stale, started = math.inf, 0, time.monotonic()
    micro_batches = itertools.cycle(plan)
    with open(run / "metrics.jsonl", "w", encoding="utf-8") as metrics:
        if val_set:  # the untuned base, for comparison
            evaluation = evaluate(model, val_set, pad_id, config.batch_tokens)
            metrics.write(json.dumps({"step": 0} | {f"val_{k}": v for k, v in asdict(evaluation).items()}) + "\n")
        for step in range(1, total_steps + 1):
            model.train()
            loss_sum = correct = targets = tokens = 0
            step_started = time.monotonic()
            for _ in range(config.accumulation):
                batch = collate(next(micro_batches), pad_id)
                tokens += int(batch["attention_mask"].sum())
                with torch.autocast(model.device.type, dtype=autocast, enabled=autocast is not None):
                    loss, right, count = _forward(model, batch)
                (loss / config.accumulation).backward()
                loss_sum, correct, targets = loss_sum + loss.item() * count, correct + int(right), targets + count
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            record = {"step": step, "train_loss": loss_sum / max(targets, 1),
                      "train_token_accuracy": correct / max(targets, 1), "lr": schedule.get_last_lr()[0],
                      "tokens_per_s": tokens / (time.monotonic() - step_started),
                      "elapsed_s": time.monotonic() - started}  # fmt: skip
            last = step == total_steps or bool(config.minutes and record["elapsed_s"] > config.minutes * 60)
            if val_set and (step % config.eval_every == 0 or last):
                evaluation = evaluate(model, val_set, pad_id, config.batch_tokens)
                record |= {f"val_{key}": value for key, value in asdict(evaluation).items()}
                if evaluation.loss < best:  # keep the best adapter by validation loss
                    best, stale = evaluation.loss, 0
                    model.save_pretrained(run / "adapter")
                else:
                    stale += 1
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
            if on_step:
                on_step(record | {"total_steps": total_steps})
            if last or stale >= config.patience:
                break
    if not val_set:
        model.save_pretrained(run / "adapter")
    tokenizer.save_pretrained(run / "adapter")
    plot_curves(run / "metrics.jsonl", run / "loss.png")
    return make_private(run)


def evaluate(model, examples: list[TokenizedExample], pad_id: int, batch_tokens: int) -> Evaluation:
    """Loss, perplexity and token accuracy on the held-out turns, over every labelled token."""
    model.eval()
    loss_sum = correct = targets = 0
    with torch.no_grad():
        for batch in batches(examples, batch_tokens, seed=0):
            loss, right, count = _forward(model, collate(batch, pad_id))
            loss_sum, correct, targets = loss_sum + loss.item() * count, correct + int(right), targets + count
    loss = loss_sum / max(targets, 1)
    return Evaluation(loss, math.exp(min(loss, 50)), correct / max(targets, 1), targets)


def _forward(model, batch: dict):
    causal_lm = model.get_base_model()
    hidden = causal_lm.model(input_ids=batch["input_ids"].to(model.device),
                             attention_mask=batch["attention_mask"].to(model.device)).last_hidden_state  # fmt: skip
    softcap = getattr(causal_lm.config, "final_logit_softcapping", None)
    return targeted_loss(hidden, causal_lm.lm_head, batch["labels"].to(model.device), softcap=softcap)


def _load(directory: Path, config: TrainConfig):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")  # fmt: skip
    return get_peft_model(model, lora), tokenizer


def _token_counter(tokenizer) -> Callable[[str], int]:
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def _autocast_dtype():
    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None


def _cosine_with_warmup(optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _safe(name: str) -> str:
    return "".join(char if char.isalnum() else "_" for char in name)
