"""A deterministic, resumable, shardable sampler: the data order is a function of (seed, epoch) only.

Per epoch the index permutation comes from ``torch.Generator().manual_seed(seed + epoch)`` (as
``DistributedSampler``), is padded to a multiple of ``num_replicas`` and split ``indices[rank::num_replicas]``.
``set_epoch(epoch, start=k)`` skips the first ``k`` samples of this rank, so a resumed run continues mid-epoch
without reading the consumed batches.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class ResumableSampler(Sampler[int]):
    def __init__(self, dataset_size: int, seed: int = 0, shuffle: bool = True, num_replicas: int = 1,
                 rank: int = 0) -> None:
        if dataset_size < 1:
            raise ValueError("the training dataset is empty")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside [0, {num_replicas})")
        self.dataset_size, self.seed, self.shuffle = dataset_size, seed, shuffle
        self.num_replicas, self.rank = num_replicas, rank
        self.per_replica = math.ceil(dataset_size / num_replicas)
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def epoch_indices(self, epoch: int) -> list[int]:
        """This rank's full index list for ``epoch``."""
        if self.shuffle:
            order = torch.randperm(self.dataset_size, generator=torch.Generator().manual_seed(self.seed + epoch))
            indices = order.tolist()
        else:
            indices = list(range(self.dataset_size))
        total = self.per_replica * self.num_replicas
        indices += (indices * math.ceil(total / len(indices)))[: total - len(indices)]
        return indices[self.rank::self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.epoch_indices(self.epoch)[self.start:])

    def __len__(self) -> int:
        return self.per_replica - self.start
