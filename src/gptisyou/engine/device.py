"""Where models run and in what precision: CUDA when there is one, else Apple's MPS, else the CPU, unless
`$GPTISYOU_DEVICE` (the global `--device`) names one; bf16 where the hardware has it."""

import os

import torch

from gptisyou.errors import InputError

DEVICES = ("auto", "cpu", "cuda", "mps")


def default_device() -> torch.device:
    """The device asked for with --device, or the fastest there is.

    Raises:
        InputError: the device asked for is not on this machine.
    """
    asked = os.environ.get("GPTISYOU_DEVICE", "auto")
    available = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    if asked == "auto":
        return torch.device(next(name for name, there in available.items() if there))
    if not available.get(asked):
        raise InputError(
            f"--device {asked}: not on this machine (here: {', '.join(n for n, t in available.items() if t)})"
        )
    return torch.device(asked)


def autocast_dtype(device: torch.device | None = None):
    """bf16 where the hardware computes it natively (CUDA, or a CPU with AVX-512 bf16 / AMX), else None: fp32."""
    device = device or default_device()
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "mps":
        return None  # fp32: autocast on MPS does not cover every operation a LoRA step needs
    return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None


def mixed_precision(device: torch.device):
    """bf16 autocast on `device` where its hardware has bf16, else a context that changes nothing (fp32)."""
    dtype = autocast_dtype(device)
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def quiet_transformers() -> None:
    """No per-file progress bars or deprecation chatter from transformers/peft: our own progress says enough."""
    import warnings

    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
