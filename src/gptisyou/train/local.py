"""The local LoRA recipe: base model + persona dataset → an adapter in a run directory.

setup (base model, LoRA on every linear projection, tokenized and batched data) → train (AdamW, cosine schedule
with warmup, gradient accumulation and clipping, bf16 autocast where the hardware has it, loss only on the
persona's tokens) → evaluate on the held-out turns (loss, perplexity, token accuracy) every few steps, keep the
best adapter, stop when validation stops improving → save (peft adapter, tokenizer, config, metrics.jsonl).
"""

import itertools
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import torch

from gptisyou.dataset import DatasetConfig, PersonaData, build, persona_chats, windows
from gptisyou.errors import InputError
from gptisyou.generate import Clone, Sampling
from gptisyou.render import Transcript
from gptisyou.store import Store
from gptisyou.train import base as base_model
from gptisyou.train import samples
from gptisyou.train.batches import TokenizedExample, batches, collate, pad_token_id, tokenize
from gptisyou.train.curves import plot_curves
from gptisyou.train.distributed import Processes
from gptisyou.train.loss import targeted_loss
from gptisyou.workspace import ensure_private_dir, file_name_for, make_private

_ANY_NUMBER_OF_TURNS = 1_000_000  # held-out windows are bounded by tokens only


@dataclass(frozen=True, slots=True)
class TrainConfig:
    persona: str  # --as
    base: str | None = None  # a model directory or .gguf file; None: the embedded Gemma 3 270M
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0  # peft's default; 0.05 costs ~30 % of CPU speed (a masked copy of every input)
    learning_rate: float = 2e-4
    warmup_fraction: float = 0.05  # of the planned steps
    max_steps: int | None = None  # optimizer steps; None: `epochs` over the data
    minutes: float | None = None  # stop after this long, whatever the step
    epochs: int = 1
    max_tokens: int = 512  # tokens per example
    batch_tokens: int | None = None  # padded tokens per micro-batch; None: 2048 on a CPU, 8192 on a GPU
    accumulation: int = 1  # micro-batches per optimizer step
    clip_norm: float = 1.0
    eval_every: int = 50  # optimizer steps between evaluations
    patience: int = 3  # evaluations without improvement before stopping early
    checkpoint_minutes: float = 5.0  # also written on Ctrl-C
    bf16_frozen_weights: bool = True  # store the frozen base in bf16 where bf16 autocast is available
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Evaluation:
    loss: float
    perplexity: float
    token_accuracy: float
    tokens: int


@dataclass
class _Progress:
    """Where a run is: saved in its checkpoint, so that `resume` continues exactly."""

    step: int = 0
    micro_batches: int = 0  # consumed, in the seeded batch order
    best: float = math.inf
    stale: int = 0  # evaluations since the best one


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run is about to do, known once the data is tokenized: shown before the first step."""

    examples: int
    tokens_per_epoch: int
    steps: int
    tokens: int  # to be trained on in all the steps
    processes: int
    device: str


def train(
    store: Store,
    workspace: Path,
    config: TrainConfig,
    on_step: Callable[[dict], None] | None = None,
    resume: bool = False,
    on_plan: Callable[[Plan], None] | None = None,
) -> Path | None:
    """Fine-tune a LoRA adapter for the persona; returns the run directory (None in the other processes of a
    distributed run: only the main process reports).

    With `resume`, the persona's latest interrupted run continues from its checkpoint with its own settings,
    the same data order and optimizer state. A checkpoint is written every `checkpoint_minutes` and on Ctrl-C.
    Under `accelerate launch`, each process trains on its share of the batches (see `distributed`); only the
    main process writes the run directory.

    Raises:
        InputError: an unknown persona, a base that is neither a model directory nor a GGUF file, or nothing to
            resume.
        MissingExtra: the train extra is not installed.
    """
    processes = Processes()
    run = _resumable_run(workspace, config.persona) if resume else None
    if run:
        limits = {"max_steps": config.max_steps, "minutes": config.minutes}
        config = TrainConfig(**{**json.loads((run / "config.json").read_text())["train"], **limits})
    dataset_config = DatasetConfig(config.persona, max_tokens=config.max_tokens, redact=False)
    persona_chats(store, dataset_config)  # a bad persona fails now, not after a minute of model loading
    torch.manual_seed(config.seed)
    with processes.main_first():  # one conversion of the base, not one per process
        base = base_model.prepare(workspace, config.base)
    model, tokenizer = load_lora_model(base.directory, config, processes.device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    processes.synchronise(trainable)
    data = build(store, dataset_config, _token_counter(tokenizer))
    train_set = tokenized(data.examples, data.persona, tokenizer, config.max_tokens)
    val_set = held_out(data, tokenizer, config.max_tokens)
    batch_tokens = config.batch_tokens or (8192 if processes.device.type == "cuda" else 2048)
    plan = batches(train_set, batch_tokens, config.seed)
    per_step = config.accumulation * processes.count  # micro-batches per optimizer step, over all processes
    total_steps = config.max_steps or max(1, math.ceil(len(plan) * config.epochs / per_step))
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate)
    schedule = _cosine_with_warmup(optimizer, max(1, int(total_steps * config.warmup_fraction)), total_steps)
    pad_id = pad_token_id(tokenizer)
    if on_plan and processes.is_main:
        per_epoch = sum(len(example.input_ids) for example in train_set)
        planned = round(per_epoch * total_steps * per_step / len(plan))
        on_plan(Plan(len(train_set), per_epoch, total_steps, planned, processes.count, processes.device.type))

    if run:
        progress = _load_checkpoint(run, model, optimizer, schedule)
    else:
        run = processes.share(_new_run(workspace, config, base.directory) if processes.is_main else None)
        progress = _Progress()

    def evaluated() -> dict:
        evaluation = evaluate(model, val_set, pad_id, batch_tokens, processes)
        return {f"val_{key}": value for key, value in asdict(evaluation).items()}

    started = last_checkpoint = time.monotonic()
    mine = itertools.islice(itertools.cycle(plan), progress.micro_batches + processes.rank, None, processes.count)
    save = processes.is_main
    with open(run / "metrics.jsonl" if save else os.devnull, "a", encoding="utf-8") as metrics:
        if val_set and progress.step == 0:  # the untuned base, for comparison
            metrics.write(json.dumps({"step": 0} | evaluated()) + "\n")
        try:
            while progress.step < total_steps:
                model.train()
                loss_sum = correct = targets = tokens = 0
                step_started = time.monotonic()
                for _ in range(config.accumulation):
                    batch = collate(next(mine), pad_id)
                    tokens += int(batch["attention_mask"].sum())
                    with mixed_precision(processes.device):
                        loss, right, count = targeted_forward(model, batch)
                    (loss / config.accumulation).backward()
                    loss_sum, correct, targets = loss_sum + loss.item() * count, correct + int(right), targets + count
                progress.micro_batches += per_step
                processes.average_gradients(trainable)
                torch.nn.utils.clip_grad_norm_(trainable, config.clip_norm)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                progress.step += 1
                now = time.monotonic()
                time_up = bool(config.minutes and now - started > config.minutes * 60)
                checkpoint_due = now - last_checkpoint > config.checkpoint_minutes * 60
                # every process takes the same decisions: on the sums, and on any process's clock
                loss_sum, correct, targets, tokens, time_up, checkpoint_due = processes.sum(
                    loss_sum, correct, targets, tokens, time_up, checkpoint_due
                )
                record = {"step": progress.step, "train_loss": loss_sum / max(targets, 1),
                          "train_token_accuracy": correct / max(targets, 1), "lr": schedule.get_last_lr()[0],
                          "tokens_per_s": tokens / (now - step_started), "elapsed_s": now - started}  # fmt: skip
                last = progress.step == total_steps or time_up > 0
                if val_set and (progress.step % config.eval_every == 0 or last):
                    record |= evaluated()
                    if record["val_loss"] < progress.best:  # keep the best adapter by validation loss
                        progress.best, progress.stale = record["val_loss"], 0
                        if save:
                            model.save_pretrained(run / "adapter")
                    else:
                        progress.stale += 1
                metrics.write(json.dumps(record) + "\n")
                metrics.flush()
                if checkpoint_due:
                    if save:
                        _save_checkpoint(run, model, optimizer, schedule, progress)
                    last_checkpoint = now
                if on_step and save:
                    on_step(record | {"total_steps": total_steps})
                if last or progress.stale >= config.patience:
                    break
        except KeyboardInterrupt:
            if save:
                _save_checkpoint(run, model, optimizer, schedule, progress)
            raise
    if save:
        _finish(run, model, tokenizer, data, config, best_saved=bool(val_set))
    return run if save else None


def tokenized(examples, persona: str, tokenizer, max_tokens: int) -> list[TokenizedExample]:
    transcript = Transcript(tokenizer)
    return [tokenize(example, persona, transcript, max_tokens) for example in examples]


def held_out(data: PersonaData, tokenizer, max_tokens: int) -> list[TokenizedExample]:
    """The held-out sessions as windows of at most `max_tokens`, every persona turn in them a target."""
    examples = windows(data.val, data.persona, _ANY_NUMBER_OF_TURNS, max_tokens, _token_counter(tokenizer))
    return tokenized(examples, data.persona, tokenizer, max_tokens)


def load_run(run: Path):
    """(peft model with the run's best adapter, tokenizer, the run's TrainConfig), on CUDA when there is one.

    Raises:
        InputError: the run has no adapter.
    """
    if not (run / "adapter" / "adapter_model.safetensors").is_file():
        raise InputError(f"{run}: no adapter (the run stopped before its first evaluation?)")
    saved = json.loads((run / "config.json").read_text())
    config = TrainConfig(**saved["train"])
    model, tokenizer = load_lora_model(Path(saved["base_directory"]), config)
    load_adapter(model, run / "adapter")
    return model, tokenizer, config


def _new_run(workspace: Path, config: TrainConfig, base_directory: Path) -> Path:
    run = ensure_private_dir(
        workspace / "runs" / file_name_for(config.persona) / datetime.now().strftime("%Y%m%d-%H%M%S"),
        inside=workspace,
    )
    saved = {"train": asdict(config), "base_directory": str(base_directory)}
    (run / "config.json").write_text(json.dumps(saved, indent=1))
    return run


def _finish(run: Path, model, tokenizer, data: PersonaData, config: TrainConfig, best_saved: bool) -> None:
    """The adapter (the best one by validation loss, if any), tokenizer, loss curve and a few sample replies."""
    if best_saved:
        load_adapter(model, run / "adapter")
    else:
        model.save_pretrained(run / "adapter")
    tokenizer.save_pretrained(run / "adapter")
    plot_curves(run / "metrics.jsonl", run / "loss.png")
    with mixed_precision(model.device):
        clone = Clone(model, tokenizer, data.persona, max_context_tokens=config.max_tokens)
        samples.write(run / "samples.md", clone, data, Sampling(seed=config.seed))
    make_private(run)


def evaluate(
    model, examples: list[TokenizedExample], pad_id: int, batch_tokens: int, processes: Processes | None = None
) -> Evaluation:
    """Loss, perplexity and token accuracy on the held-out turns, over every labelled token.

    Under several processes each evaluates its share of the batches; the sums are combined.
    """
    model.eval()
    loss_sum = correct = targets = 0
    rank, count = (processes.rank, processes.count) if processes else (0, 1)
    with torch.no_grad():
        for batch in batches(examples, batch_tokens, seed=0)[rank::count]:
            loss, right, labelled = targeted_forward(model, collate(batch, pad_id))
            loss_sum, correct, targets = loss_sum + loss.item() * labelled, correct + int(right), targets + labelled
    if processes:
        loss_sum, correct, targets = processes.sum(loss_sum, correct, targets)
    loss = loss_sum / max(targets, 1)
    return Evaluation(loss, math.exp(min(loss, 50)), correct / max(targets, 1), targets)


def _save_checkpoint(run: Path, model, optimizer, schedule, progress: _Progress) -> None:
    """Adapter, optimizer, schedule, position and random state, replaced all at once."""
    partial, checkpoint = run / ".checkpoint.partial", run / "checkpoint"
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    state = {"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "progress": asdict(progress),
             "rng": torch.get_rng_state(),
             "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}  # fmt: skip
    torch.save(state, partial / "training_state.pt")
    shutil.rmtree(checkpoint, ignore_errors=True)
    make_private(partial).rename(checkpoint)


def load_adapter(model, directory: Path) -> None:
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(model, load_file(directory / "adapter_model.safetensors"))


def _load_checkpoint(run: Path, model, optimizer, schedule) -> _Progress:
    checkpoint = run / "checkpoint"
    load_adapter(model, checkpoint)
    state = torch.load(checkpoint / "training_state.pt", weights_only=False, map_location="cpu")
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"])
    if state.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return _Progress(**state["progress"])


def _resumable_run(workspace: Path, persona: str) -> Path:
    runs = sorted((workspace / "runs" / file_name_for(persona)).glob("*/checkpoint/training_state.pt"))
    if not runs:
        raise InputError(f"no interrupted run of {persona} to resume (see gptisyou runs)")
    return runs[-1].parent.parent


def targeted_forward(model, batch: dict):
    """(loss, correct, labelled positions) of a LoRA-wrapped causal LM on a collated batch: see `targeted_loss`."""
    causal_lm = model.get_base_model()
    hidden = causal_lm.model(input_ids=batch["input_ids"].to(model.device),
                             attention_mask=batch["attention_mask"].to(model.device)).last_hidden_state  # fmt: skip
    softcap = getattr(causal_lm.config, "final_logit_softcapping", None)
    return targeted_loss(hidden, causal_lm.lm_head, batch["labels"].to(model.device), softcap=softcap)


def load_lora_model(directory: Path, config: TrainConfig, device: torch.device | None = None):
    """(peft model with fresh LoRA on every linear layer, tokenizer), on `device` (default: CUDA if present)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_model.quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    # frozen weights stored in bf16 where the hardware computes in it: autocast then casts nothing per step;
    # the LoRA matrices, the only ones trained, stay fp32 (peft's autocast_adapter_dtype)
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    frozen_dtype = autocast_dtype(device) if config.bf16_frozen_weights else None
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=frozen_dtype or torch.float32).to(device)
    lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")  # fmt: skip
    return get_peft_model(model, lora, autocast_adapter_dtype=True), tokenizer


def _token_counter(tokenizer) -> Callable[[str], int]:
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def mixed_precision(device: torch.device):
    """bf16 autocast on `device` where its hardware has bf16, else a context that changes nothing (fp32)."""
    dtype = autocast_dtype(device)
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def autocast_dtype(device: torch.device | None = None):
    """bf16 where the hardware computes it natively (CUDA, or a CPU with AVX-512 bf16 / AMX), else None: fp32."""
    if device is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None


def _cosine_with_warmup(optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
