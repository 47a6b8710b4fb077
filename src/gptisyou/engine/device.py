"""Where models run and in what precision: CUDA when there is one, else the CPU; bf16 where the hardware has it."""

import torch


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast_dtype(device: torch.device | None = None):
    """bf16 where the hardware computes it natively (CUDA, or a CPU with AVX-512 bf16 / AMX), else None: fp32."""
    device = device or default_device()
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
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
