"""The model being trained: the base with fresh LoRA on every linear layer, its adapter, and the loss at the
persona's tokens only."""

import functools
from pathlib import Path

import torch

from gptisyou.engine.device import autocast_dtype, default_device, quiet_transformers
from gptisyou.train.config import TrainConfig
from gptisyou.train.loss import targeted_loss


def load_lora_model(directory: Path, config: TrainConfig, device: torch.device | None = None):
    """(peft model with fresh LoRA on every linear layer, tokenizer), on `device` (default: CUDA if present)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    # frozen weights stored in bf16 where the hardware computes in it: autocast then casts nothing per step;
    # the LoRA matrices, the only ones trained, stay fp32 (peft's autocast_adapter_dtype)
    device = device or default_device()
    frozen_dtype = autocast_dtype(device) if config.bf16_frozen_weights else None
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=frozen_dtype or torch.float32).to(device)
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora, autocast_adapter_dtype=True), tokenizer


def load_adapter(model, directory: Path) -> None:
    """Put the adapter saved in `directory` into a LoRA model of the same shape."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(model, load_file(directory / "adapter_model.safetensors"))


def targeted_forward(model, batch: dict):
    """(loss, correct, labelled positions) of a LoRA-wrapped causal LM on a collated batch: see `targeted_loss`."""
    causal_lm = model.get_base_model()
    hidden = causal_lm.model(
        input_ids=batch["input_ids"].to(model.device), attention_mask=batch["attention_mask"].to(model.device)
    ).last_hidden_state
    softcap = getattr(causal_lm.config, "final_logit_softcapping", None)
    return targeted_loss(hidden, causal_lm.lm_head, batch["labels"].to(model.device), softcap=softcap)


def flops_per_token(model, labelled_share: float) -> float:
    """Model FLOPs of a training token: forward and backward through the frozen body (≈ 4 per weight; no weight
    gradients but LoRA's), and the vocabulary head at the labelled share of tokens only (nanoGPT's estimate_mfu,
    adapted to frozen weights)."""
    causal_lm = model.get_base_model()
    head = causal_lm.config.vocab_size * causal_lm.config.hidden_size
    body = sum(p.numel() for name, p in model.named_parameters() if "embed" not in name and "lm_head" not in name)
    return 4 * body + 4 * head * labelled_share


@functools.lru_cache
def matmul_peak_flops(device: torch.device, dtype: torch.dtype) -> float:
    """FLOP/s of a square matmul on `device`, measured once a process for about a quarter of a second: the peak MFU
    is reported against (1024² on a CPU, already at its peak there; 8192² on a GPU). Constant matrices: the speed
    does not depend on the values, and the seeded random state of a run stays untouched."""
    import time

    size = 8192 if device.type == "cuda" else 1024
    a = b = torch.full((size, size), 0.5, dtype=dtype, device=device)
    a @ b
    _synchronise(device)
    repeats, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < 0.25 or repeats < 2:
        a @ b
        _synchronise(device)
        repeats += 1
    return 2 * size**3 * repeats / elapsed


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()  # kernels run asynchronously: wait before reading the clock
