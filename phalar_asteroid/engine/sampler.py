"""Training sampler that resumes mid-epoch and shards over DDP ranks by itself."""

import torch.distributed as dist
from torch.utils.data import Sampler


def _rank_and_world() -> tuple:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class ResumableEpochSampler(Sampler):
    """Sequential sampler of ``(epoch, index)`` keys, with rank sharding and a resume skip.

    The keys index the pair datasets of :mod:`phalar_asteroid.data.pairs`, whose items are pure
    functions of the key: passing the epoch with every index keeps worker processes (persistent
    or not) in step with the trainer, which calls :meth:`set_epoch` at the start of every epoch
    (see :class:`~.system.ContrastiveSystem`). Under DDP, rank r takes indices ``r, r + W, ...``
    of the epoch (equal counts per rank), so the Trainer must not insert its own
    ``DistributedSampler`` (``use_distributed_sampler=False``: Lightning's wrapper would not
    forward ``set_epoch`` to this sampler). After a restart in the middle of an epoch,
    :meth:`skip_once` drops the items the checkpointed run already consumed, so the resumed run
    sees exactly the data of an uninterrupted one.

    Args:
        num_items (int): items per epoch (all ranks together).
    """

    def __init__(self, num_items: int):
        self.num_items = num_items
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch of the keys yielded next."""
        self.epoch = epoch

    def skip_once(self, n_items: int) -> None:
        """Skip the first ``n_items`` keys of this rank in the next iteration only."""
        self._skip = int(n_items)

    def _indices(self) -> range:
        rank, world = _rank_and_world()
        per_rank = self.num_items // world
        return range(rank, per_rank * world, world)

    def __iter__(self):
        skip, self._skip = self._skip, 0
        epoch = self.epoch
        return ((epoch, index) for index in self._indices()[skip:])

    def __len__(self) -> int:
        return len(self._indices())
