"""Checkpoints: a run's adapter, optimizer, schedule, position in the data and random state, so that `--resume`
continues exactly where it stopped."""

import math
from dataclasses import asdict, dataclass

import torch

from gptisyou.store.runs import Run
from gptisyou.store.workspace import built_whole
from gptisyou.train.model import load_adapter


@dataclass
class Progress:
    """Where a run is: saved in its checkpoint."""

    step: int = 0
    micro_batches: int = 0  # consumed, in the seeded batch order
    best: float = math.inf
    stale: int = 0  # evaluations since the best one


def save(run: Run, model, optimizer, schedule, progress: Progress) -> None:
    """Replaced all at once: a checkpoint is whole or absent, never half written."""
    state = {
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "progress": asdict(progress),
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    with built_whole(run.checkpoint) as partial:
        model.save_pretrained(partial)
        torch.save(state, partial / "training_state.pt")


def restore(run: Run, model, optimizer, schedule) -> Progress:
    load_adapter(model, run.checkpoint)
    state = torch.load(run.checkpoint / "training_state.pt", weights_only=False, map_location="cpu")
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["rng"])
    if state.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    return Progress(**state["progress"])
