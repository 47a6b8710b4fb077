"""The local LoRA recipe: base model + persona dataset → an adapter in a run directory.

setup (base model, LoRA on every linear projection, tokenized and batched data, optimizer) → loop (AdamW, cosine
schedule with warmup, gradient accumulation and clipping, bf16 autocast where the hardware has it, loss only on
the persona's tokens; one metrics record a step with loss, tokens/s and MFU) → evaluate on the held-out turns
every few steps, keep the best adapter, stop when validation stops improving → finish (adapter, tokenizer, loss
curve, sample replies). The components live beside it: `config`, `model`, `batches`, `loss`, `evaluation`,
`checkpoint`, `distributed`.
"""

import itertools
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from gptisyou.data.dataset import DatasetConfig, PersonaData, build, persona_chats, recorded_split
from gptisyou.data.memory import Memory
from gptisyou.engine.clone import spoken_vocabulary
from gptisyou.engine.device import autocast_dtype, mixed_precision
from gptisyou.engine.responder import Sampling, reply_length
from gptisyou.engine.torch_engine import TorchClone
from gptisyou.store import models as base_model
from gptisyou.store.database import Store
from gptisyou.store.runs import Run, RunConfig
from gptisyou.store.workspace import make_private
from gptisyou.train import checkpoint, preference, samples
from gptisyou.train.batches import TokenizedExample, batches, collate, pad_token_id
from gptisyou.train.config import TrainConfig
from gptisyou.train.curves import plot_curves
from gptisyou.train.distributed import Processes
from gptisyou.train.evaluation import evaluate, held_out, spread, token_counter, tokenized
from gptisyou.train.model import flops_per_token, load_adapter, load_lora_model, matmul_peak_flops, targeted_forward

__all__ = ["Plan", "TrainConfig", "train"]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run is about to do, known once the data is tokenized: shown before the first step."""

    examples: int
    tokens_per_epoch: int
    steps: int
    tokens: int  # to be trained on in all the steps
    processes: int
    device: str


@dataclass
class _Setup:
    """Everything the loop needs, made once."""

    model: object
    tokenizer: object
    data: PersonaData
    train_set: list[TokenizedExample]
    val_set: list[TokenizedExample]
    plan: list[list[TokenizedExample]]  # the micro-batches of an epoch, in the seeded order
    total_steps: int
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    batch_tokens: int
    base_directory: Path
    flops_per_token: float
    peak_flops: float  # of the device, measured: MFU is reported against it


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
    resumed = Run.latest_resumable(workspace, config.persona) if resume else None
    if resumed:  # the run's own settings, with the new limits
        saved = TrainConfig.recorded(resumed.config().train, processes.device.type)
        config = replace(saved, max_steps=config.max_steps, minutes=config.minutes)
    options = {"example_tokens": config.window_tokens, "redact": False}
    if resumed:  # its own held-out conversations
        recorded = resumed.config()
        dataset_config = recorded_split(config.persona, recorded.held_out, recorded.held_out_from, **options)
    else:
        dataset_config = DatasetConfig(config.persona, hold_out=config.hold_out, seed=config.seed, **options)
    persona_chats(store, dataset_config)  # a bad persona fails now, not after a minute of model loading
    torch.manual_seed(config.seed)
    setup = _setup(store, workspace, config, dataset_config, processes)
    if on_plan and processes.is_main:
        on_plan(_plan(setup, config, processes))
    if resumed:
        run, progress = resumed, checkpoint.restore(resumed, setup.model, setup.optimizer, setup.schedule)
    else:
        run = processes.share(_new_run(workspace, config, setup) if processes.is_main else None)
        progress = checkpoint.Progress()
    _loop(run, setup, config, processes, progress, on_step)
    if not processes.is_main:
        return None
    corrected = store.corrections.of(config.persona)
    if config.preference_pairs or config.self_play_rounds or corrected:
        _prefer_real_replies(run, setup, config, corrected)
    _finish(run, setup, config)
    return run.directory


# --- setup ---------------------------------------------------------------------------------------------------


def _setup(
    store: Store, workspace: Path, config: TrainConfig, dataset_config: DatasetConfig, processes: Processes
) -> _Setup:
    with processes.main_first():  # one conversion of the base, not one per process
        base = base_model.prepare(workspace, config.base)
    model, tokenizer = load_lora_model(base.directory, config, processes.device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    processes.synchronise(trainable)
    data = build(store, dataset_config, token_counter(tokenizer))
    train_set = tokenized(data.examples, data, tokenizer, config)
    plan = batches(train_set, config.batch_tokens, config.seed)
    per_step = config.accumulation * processes.count  # micro-batches per optimizer step, over all processes
    total_steps = config.max_steps or max(1, math.ceil(len(plan) * config.epochs / per_step))
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate)
    schedule = _cosine_with_warmup(optimizer, max(1, int(total_steps * config.warmup_fraction)), total_steps)
    labelled = sum(e.targets for e in train_set) / max(1, sum(len(e.input_ids) for e in train_set))
    peak = matmul_peak_flops(processes.device, autocast_dtype(processes.device) or torch.float32)
    val_set = spread(held_out(data, tokenizer, config), config.val_tokens)  # up to 32,768 tokens: in `eval`
    return _Setup(
        model,
        tokenizer,
        data,
        train_set,
        val_set,
        plan,
        total_steps,
        optimizer,
        schedule,
        config.batch_tokens,
        base.directory,
        flops_per_token(model, labelled),
        peak,
    )


def _plan(setup: _Setup, config: TrainConfig, processes: Processes) -> Plan:
    per_epoch = sum(len(example.input_ids) for example in setup.train_set)
    per_step = config.accumulation * processes.count
    planned = round(per_epoch * setup.total_steps * per_step / len(setup.plan))
    return Plan(len(setup.train_set), per_epoch, setup.total_steps, planned, processes.count, processes.device.type)


def _new_run(workspace: Path, config: TrainConfig, setup: _Setup) -> Run:
    run = Run.create(workspace, config.persona)
    reply_tokens = setup.data.reply_tokens(token_counter(setup.tokenizer))
    data = setup.data
    held_out = data.held_out_keys or None  # None: the latest rule, recorded by its start
    run.write_config(RunConfig(asdict(config), setup.base_directory, data.held_out_from, reply_tokens, held_out))
    return run


# --- the loop ------------------------------------------------------------------------------------------------


def _loop(
    run: Run,
    setup: _Setup,
    config: TrainConfig,
    processes: Processes,
    progress: checkpoint.Progress,
    on_step: Callable[[dict], None] | None,
) -> None:
    """Optimizer steps until the planned number, the time limit, or validation stops improving."""
    save = processes.is_main
    per_step = config.accumulation * processes.count
    mine = itertools.islice(
        itertools.cycle(setup.plan), progress.micro_batches + processes.rank, None, processes.count
    )
    started = last_checkpoint = time.monotonic()
    with open(run.metrics_file if save else os.devnull, "a", encoding="utf-8") as metrics:
        if setup.val_set and progress.step == 0:  # the untuned base, for comparison
            metrics.write(json.dumps({"step": 0} | _evaluated(setup, processes)) + "\n")
        try:
            while progress.step < setup.total_steps:
                step_started = time.monotonic()
                loss_sum, correct, targets, tokens = _step(setup, mine, config, processes)
                progress.step, progress.micro_batches = progress.step + 1, progress.micro_batches + per_step
                now = time.monotonic()
                time_up = bool(config.minutes and now - started > config.minutes * 60)
                checkpoint_due = now - last_checkpoint > config.checkpoint_minutes * 60
                # every process takes the same decisions: on the sums, and on any process's clock
                loss_sum, correct, targets, tokens, time_up, checkpoint_due = processes.sum(
                    loss_sum, correct, targets, tokens, time_up, checkpoint_due
                )
                tokens_per_s = tokens / (now - step_started)
                record = {
                    "step": progress.step,
                    "train_loss": loss_sum / max(targets, 1),
                    "train_token_accuracy": correct / max(targets, 1),
                    "lr": setup.schedule.get_last_lr()[0],
                    "tokens_per_s": tokens_per_s,
                    "mfu": tokens_per_s * setup.flops_per_token / setup.peak_flops,
                    "elapsed_s": now - started,
                }
                last = progress.step == setup.total_steps or time_up > 0
                if setup.val_set and (progress.step % config.eval_every == 0 or last):
                    record |= _evaluated(setup, processes)
                    _keep_if_best(run, setup, progress, record["val_loss"], save)
                metrics.write(json.dumps(record) + "\n")
                metrics.flush()
                if checkpoint_due:
                    if save:
                        checkpoint.save(run, setup.model, setup.optimizer, setup.schedule, progress)
                    last_checkpoint = now
                if on_step and save:
                    on_step(record | {"total_steps": setup.total_steps})
                if last or progress.stale >= config.patience:
                    break
        except KeyboardInterrupt:
            if save:
                checkpoint.save(run, setup.model, setup.optimizer, setup.schedule, progress)
            raise


def _step(
    setup: _Setup, mine: Iterator[list[TokenizedExample]], config: TrainConfig, processes: Processes
) -> tuple[float, int, int, int]:
    """One optimizer step over `accumulation` micro-batches: (loss sum, correct, targets, tokens) of this process."""
    setup.model.train()
    trainable = [p for p in setup.model.parameters() if p.requires_grad]
    pad_id = pad_token_id(setup.tokenizer)
    loss_sum = correct = targets = tokens = 0
    for _ in range(config.accumulation):
        batch = collate(next(mine), pad_id)
        tokens += int(batch["attention_mask"].sum())
        with mixed_precision(processes.device):
            loss, right, count = targeted_forward(setup.model, batch)
        (loss / config.accumulation).backward()
        loss_sum, correct, targets = loss_sum + loss.item() * count, correct + int(right), targets + count
    processes.average_gradients(trainable)
    torch.nn.utils.clip_grad_norm_(trainable, config.clip_norm)
    setup.optimizer.step()
    setup.schedule.step()
    setup.optimizer.zero_grad(set_to_none=True)
    return loss_sum, correct, targets, tokens


def _evaluated(setup: _Setup, processes: Processes) -> dict:
    evaluation = evaluate(setup.model, setup.val_set, pad_token_id(setup.tokenizer), setup.batch_tokens, processes)
    return {f"val_{key}": value for key, value in asdict(evaluation).items()}


def _keep_if_best(run: Run, setup: _Setup, progress: checkpoint.Progress, val_loss: float, save: bool) -> None:
    """The best adapter by validation loss is the one a run keeps."""
    if val_loss < progress.best:
        progress.best, progress.stale = val_loss, 0
        if save:
            setup.model.save_pretrained(run.adapter)
    else:
        progress.stale += 1


# --- preference tuning -------------------------------------------------------------------------------------


def _prefer_real_replies(run: Run, setup: _Setup, config: TrainConfig, corrected: list) -> None:
    """DPO from the fine-tune's best adapter (`preference`), on the configured pairs and the user's corrections;
    what it ends with is the run's adapter. Its records and the held-out figures before and after go to
    preference.jsonl."""
    model, tokenizer, pad_id = setup.model, setup.tokenizer, pad_token_id(setup.tokenizer)
    if setup.val_set:
        load_adapter(model, run.adapter)
    before = evaluate(model, setup.val_set, pad_id, setup.batch_tokens) if setup.val_set else None
    memory = Memory.of_training_period(setup.data) if config.memory else None
    said = (turn.text for session in setup.data.train for turn in session.turns)
    # in self-play the tuned model's replies are the rejected ones: sampled, as chat samples them, from the tokens
    # the person uses; the base model's, when it writes them, from its own
    vocabulary = spoken_vocabulary(tokenizer, said) if config.self_play_rounds else None
    clone = TorchClone(model, tokenizer, setup.data.persona, config.context_tokens, memory, config.memory, vocabulary)
    corrections = preference.corrected_pairs(
        clone, corrected, memory or Memory.of_training_period(setup.data), config.context_tokens
    )
    self_play, records, used = config.self_play_rounds > 0, [], 0
    for round_ in range(config.self_play_rounds or 1):  # in self-play each round samples the newest model afresh
        found = preference.pairs(
            clone,
            setup.data,
            config.preference_pairs,
            config.context_tokens,
            config.seed + 1000 * round_,
            self_play=self_play,
        )
        found += corrections if round_ == 0 else []
        used += len(found)
        tuned = preference.tune(
            model, found, pad_id, config.preference_beta, config.preference_learning_rate, self_play=self_play
        )
        records += [record | {"round": round_ + 1} for record in tuned]
    model.save_pretrained(run.adapter)
    with open(run.preference_file, "a", encoding="utf-8") as out:
        out.writelines(json.dumps(record) + "\n" for record in records)
        if before:
            after = evaluate(model, setup.val_set, pad_id, setup.batch_tokens)
            out.write(
                json.dumps(
                    {
                        "pairs": used,
                        "corrections": len(corrected),
                        "val_loss_before": before.loss,
                        "val_loss_after": after.loss,
                    }
                )
                + "\n"
            )


# --- finish --------------------------------------------------------------------------------------------------


def _finish(run: Run, setup: _Setup, config: TrainConfig) -> None:
    """The adapter (the best one by validation loss, if any), tokenizer, loss curve and a few sample replies."""
    model, tokenizer = setup.model, setup.tokenizer
    if setup.val_set:
        load_adapter(model, run.adapter)
    else:
        model.save_pretrained(run.adapter)
    tokenizer.save_pretrained(run.adapter)
    plot_curves(run.metrics(), run.loss_plot)
    with mixed_precision(model.device):
        memory = Memory.of_training_period(setup.data) if config.memory else None
        clone = TorchClone(model, tokenizer, setup.data.persona, config.context_tokens, memory, config.memory)
        reply_tokens = reply_length(run.reply_tokens)  # as long as the person's replies, as eval and chat do
        samples.write(run.samples_file, clone, setup.data, Sampling(max_new_tokens=reply_tokens, seed=config.seed))
    make_private(run.directory)


def _cosine_with_warmup(optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
