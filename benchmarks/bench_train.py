"""Training speed and memory: gptisyou's LoRA step against a plain Hugging Face Trainer + PEFT, in one run.

    python benchmarks/bench_train.py [--steps 4] [--batch 4] [--length 256]

Every variant trains the embedded Gemma 3 270M (converted once into benchmarks/.data/) with LoRA r=16 on all
linear layers, on the same batches: `--batch` sequences of `--length` tokens, the second half of each labelled (a
reply after its context). Each runs in its own process, so its peak memory is its own:

- baseline: `transformers.Trainer` with its defaults (fp32, full logits, the model computes the loss);
- head only: gptisyou's loss — the vocabulary head evaluated only at labelled positions, in chunks — under bf16
  autocast where the hardware has it, frozen weights in fp32;
- gptisyou: the same with the frozen weights stored in bf16 (the recipe's default).

Printed: tokens/s and peak memory of each, the ratios to the baseline, the matmul peak measured in the same run
and the model FLOPs utilisation (MFU). CUDA when present, CPU otherwise.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import describe  # benchmarks/machine.py

from gptisyou.engine.device import autocast_dtype, default_device, mixed_precision
from gptisyou.store import models as base
from gptisyou.train.batches import IGNORE_INDEX
from gptisyou.train.config import TrainConfig
from gptisyou.train.model import flops_per_token, load_lora_model, matmul_peak_flops, targeted_forward

DATA = Path(__file__).resolve().parent / ".data"
VARIANTS = {
    "baseline": "HF Trainer + PEFT (full logits, fp32)",
    "head-only": "+ head at labels only, chunked, bf16 autocast",
    "gptisyou": "+ frozen weights in bf16 (gptisyou's default)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--base", type=Path, help="a model directory instead of the embedded Gemma 3 270M")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # one measurement, in a child
    args = parser.parse_args()
    directory = args.base or base.prepare(DATA / "workspace-train").directory
    if args.variant:
        print(json.dumps(measure(args, directory)))
        return
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    autocast = autocast_dtype()
    print(
        f"\nmachine: {describe()}, {device}, torch {torch.__version__}, bf16 autocast: {autocast is not None}; "
        f"{args.steps} steps of {args.batch}x{args.length} tokens, half labelled\n"
    )
    results = {}
    for variant, label in VARIANTS.items():
        child = [sys.executable, __file__, "--variant", variant, *_shared_arguments(args)]
        finished = subprocess.run(child, check=False, capture_output=True, text=True)
        if finished.returncode:  # e.g. out of memory: the others still run
            print(f"{label:48} failed: {(finished.stderr.strip().splitlines() or ['?'])[-1][:100]}")
            continue
        results[variant] = json.loads(finished.stdout.splitlines()[-1])  # the Trainer prints its summary first
        speed, memory = results[variant]["tokens_per_s"], results[variant]["peak_memory_mb"]
        ratio = f"{speed / results['baseline']['tokens_per_s']:5.2f}x" if "baseline" in results else "    —"
        print(f"{label:48} {speed:8.1f} tokens/s  {ratio}   peak memory {memory:7.0f} MB")
    if "baseline" not in results or "gptisyou" not in results:
        return
    peak = matmul_peak_flops(default_device(), torch.bfloat16 if autocast else torch.float32) / 1e9
    size = 8192 if torch.cuda.is_available() else 2048
    ours = results["gptisyou"]
    print(
        f"\ntarget: ≥ 3x the baseline's tokens/s on a 2-core CPU → {ours['tokens_per_s'] / results['baseline']['tokens_per_s']:.2f}x"
    )
    print(
        f"matmul peak ({'bf16' if autocast else 'fp32'} {size}²): {peak:.0f} GFLOP/s; "
        f"MFU ≈ {ours['tokens_per_s'] * ours['flops_per_token'] / 1e9 / peak:.1%} "
        f"(≈{ours['flops_per_token'] / 1e9:.2f} GFLOP per token)"
    )


def _shared_arguments(args) -> list[str]:
    shared = ["--steps", str(args.steps), "--batch", str(args.batch), "--length", str(args.length)]
    return shared + (["--base", str(args.base)] if args.base else [])


def measure(args, directory: Path) -> dict:
    torch.manual_seed(0)
    model, _ = load_lora_model(directory, TrainConfig("bench", bf16_frozen_weights=args.variant == "gptisyou"))
    config = model.get_base_model().config
    batches = _random_batches(args, config.vocab_size, model.device)
    seconds = (_trainer_seconds if args.variant == "baseline" else _loop_seconds)(model, batches)
    return {
        "tokens_per_s": args.batch * args.length * args.steps / seconds,
        "peak_memory_mb": _peak_memory_mb(),
        "flops_per_token": flops_per_token(model, labelled_share=0.5),  # half of each row is labelled
    }


def _random_batches(args, vocab: int, device) -> list[dict]:
    batches = []
    for _ in range(args.steps + 1):  # the first one warms up
        input_ids = torch.randint(0, vocab, (args.batch, args.length))
        labels = input_ids.clone()
        labels[:, : args.length // 2] = IGNORE_INDEX
        batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": labels}
        batches.append({key: value.to(device) for key, value in batch.items()})
    return batches


def _loop_seconds(model, batches: list[dict]) -> float:
    """gptisyou's step: targeted loss under autocast, AdamW on the LoRA weights."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    for index, batch in enumerate(batches):
        if index == 1:
            _synchronise()
            start = time.perf_counter()
        with mixed_precision(model.device):
            loss = targeted_forward(model, batch)[0]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    _synchronise()
    return time.perf_counter() - start


def _trainer_seconds(model, batches: list[dict]) -> float:
    """A plain `transformers.Trainer` over the same rows, timed from the end of its first (warm-up) step."""
    from transformers import Trainer, TrainerCallback, TrainingArguments, default_data_collator

    rows = [{key: batch[key][i].cpu() for key in batch} for batch in batches for i in range(len(batch["input_ids"]))]
    marks = []

    class StepTimes(TrainerCallback):
        def on_step_end(self, *_, **__):
            _synchronise()
            marks.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as output:
        arguments = TrainingArguments(
            output,
            max_steps=len(batches),
            per_device_train_batch_size=len(batches[0]["input_ids"]),
            learning_rate=1e-4,
            report_to=[],
            save_strategy="no",
            logging_strategy="no",
            disable_tqdm=True,
            use_cpu=not torch.cuda.is_available(),
            dataloader_num_workers=0,
        )
        Trainer(
            model=model,
            args=arguments,
            train_dataset=rows,
            data_collator=default_data_collator,
            callbacks=[StepTimes()],
        ).train()
    return marks[-1] - marks[0]


def _synchronise() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


if __name__ == "__main__":
    main()
