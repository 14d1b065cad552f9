"""The training batches as a function of the step: one ``DataLoader`` for the whole run.

Step ``s`` of process ``rank`` reads batch ``s mod steps_per_epoch`` of epoch ``s // steps_per_epoch`` of a
``DistributedSampler`` reshuffled with ``seed + epoch``, so the batch of any step is known without replaying the
loader (this is what makes resume exact), and the union of the ranks' batches at one step is the batch of one process
with ``world`` times the batch size (what makes ``N x B`` equal to ``1 x N B``). The loader is built once per run:
its workers live for the whole run and prefetch across epoch boundaries; on CUDA its batches are in pinned memory so
that the copy to the GPU is asynchronous. Its workers ignore Ctrl-C: the trainer handles it (finishes the step, saves
``last.pt``), and a worker that died of it would break the loader first.
"""
from __future__ import annotations

import signal
from typing import Iterator

import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from s2sbench.data.loader import collate


class StepBatches(Sampler[list[int]]):
    """Index lists of the steps ``start .. stop - 1`` of one process."""

    def __init__(self, n: int, batch_size: int, start: int, stop: int, seed: int, rank: int, world: int) -> None:
        self.n, self.bs, self.start, self.stop, self.seed, self.rank, self.world = (n, batch_size, start, stop, seed,
                                                                                   rank, world)
        self.per_epoch = n // (batch_size * world)

    def order(self, epoch: int) -> list[int]:
        s = DistributedSampler(range(self.n), num_replicas=self.world, rank=self.rank, shuffle=True, seed=self.seed,
                               drop_last=True)
        s.set_epoch(epoch)
        return list(s)

    def __iter__(self) -> Iterator[list[int]]:
        epoch, order = -1, []
        for step in range(self.start, self.stop):
            e, k = divmod(step, self.per_epoch)
            if e != epoch:
                epoch, order = e, self.order(e)
            yield order[k * self.bs : (k + 1) * self.bs]

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


def train_loader(ds, batch_size: int, start: int, stop: int, *, seed: int, rank: int, world: int, num_workers: int,
                 pin_memory: bool) -> DataLoader:
    gen = torch.Generator().manual_seed(seed * 100_003 + start)  # worker seeds; never the global RNG
    return DataLoader(ds, batch_sampler=StepBatches(len(ds), batch_size, start, stop, seed, rank, world),
                      collate_fn=collate, num_workers=num_workers, generator=gen, pin_memory=pin_memory,
                      worker_init_fn=_ignore_ctrl_c if num_workers else None)


def _ignore_ctrl_c(_worker: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
