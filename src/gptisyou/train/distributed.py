"""Data parallelism under `accelerate launch` (or torchrun): one run, several processes, CPUs or GPUs.

Every process trains on its share of the micro-batches, and the LoRA gradients are averaged before each optimizer
step. Only the adapter learns — a few MB — so one all-reduce of its gradients per step is cheap, and the frozen
base needs no wrapper: the same training loop runs in one process or in many (gloo on CPUs, NCCL on GPUs,
several machines through the launcher's --num_machines/--machine_rank/--main_process_ip).
"""

from contextlib import AbstractContextManager

import torch


class Processes:
    """This process's place in the launch; a single process unless a distributed launcher started it."""

    def __init__(self) -> None:
        from accelerate import PartialState

        # accelerate picks gloo on CPUs only when told the run is on CPU
        self._state = PartialState(cpu=not torch.cuda.is_available())
        self.rank: int = self._state.process_index
        self.count: int = self._state.num_processes
        self.device: torch.device = self._state.device
        self.is_main: bool = self._state.is_main_process

    def main_first(self) -> AbstractContextManager:
        """The main process runs the block first (e.g. converting the base model), then the others."""
        return self._state.main_process_first()

    def average_gradients(self, parameters: list[torch.nn.Parameter]) -> None:
        if self.count == 1:
            return
        gradients = [p.grad for p in parameters if p.grad is not None]
        flat = torch.cat([gradient.reshape(-1) for gradient in gradients])
        torch.distributed.all_reduce(flat)
        flat /= self.count
        for gradient, averaged in zip(gradients, flat.split([g.numel() for g in gradients]), strict=True):
            gradient.copy_(averaged.view_as(gradient))

    def sum(self, *values: float) -> list[float]:
        """Each value summed over the processes (counts, loss sums, flags)."""
        if self.count == 1:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(tensor)
        return tensor.tolist()

    def share(self, value):
        """The main process's `value`, in every process."""
        if self.count == 1:
            return value
        box = [value]
        torch.distributed.broadcast_object_list(box, src=0, device=self.device)
        return box[0]

    def synchronise(self, parameters: list[torch.nn.Parameter]) -> None:
        """Start every process from the main process's weights."""
        for parameter in parameters if self.count > 1 else ():
            torch.distributed.broadcast(parameter.data, src=0)
