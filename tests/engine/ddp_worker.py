"""Worker of ``tests/engine/test_ddp.py``: a tiny PHALAR trained for 3 steps with Lightning's DDP.

Run as a script, the way Lightning's own standalone tests run::

    python tests/engine/ddp_worker.py OUT_DIR [--no-gather]

``Trainer(accelerator="cpu", devices=2, strategy=DDPStrategy(process_group_backend="gloo"))``
re-executes this script for rank 1 (Lightning's subprocess launcher). Each rank trains on its
shard of a deterministic dataset (:class:`PairKeys` through the recipe's
:class:`~phalar_asteroid.engine.sampler.ResumableEpochSampler` and
:class:`~phalar_asteroid.data.pairs.RandomCropCollate`) with same-track extras on some items (so
that the ranks hold different numbers of them) and transposed negatives, and writes
``OUT_DIR/rank<r>.pt``: per step its batch, the step seed, the weights before the step, its loss,
the gradients after DDP's averaging and the logged ``negatives``; then its final weights.
Randomness that would differ between ranks is off: no dropout, no augmentation, fixed crops.
"""

import argparse
import os

import pytorch_lightning as pl
import torch
from pytorch_lightning.strategies import DDPStrategy
from torch.utils.data import DataLoader, Dataset

from phalar_asteroid.data.pairs import RandomCropCollate
from phalar_asteroid.engine import ContrastiveSystem, make_contrastive_optimizer
from phalar_asteroid.engine.sampler import ResumableEpochSampler
from phalar_asteroid.losses import InfoNCELoss
from phalar_asteroid.models import PHALAR

#: A PHALAR with a few hundred weights; its CQT (from 65 Hz) takes clips of 4,097 samples or more.
MODEL = dict(
    n_bins=24,
    fmin=65.4,
    hop_length=320,
    backbone_width=2,
    depth=1,
    lsp_channels=4,
    lsp_components=2,
    embed_dim=8,
    dropout=0.0,
)
RATE = 16000
SAMPLES = 4800
BATCH = 3  # pairs per rank
WORLD = 2
STEPS = 3
TRANSPOSE_FRACTION = 0.5


class PairKeys(Dataset):
    """Deterministic (anchor, positive, extra) items keyed by ``(epoch, index)``.

    The positive is the anchor's tone an octave up with the same envelope; items whose index is
    0 or 3 modulo 5 carry an extra (a detuned positive), the others an empty one.
    """

    def __init__(self, num_items: int):
        self.num_items = num_items

    def __len__(self) -> int:
        return self.num_items

    def __getitem__(self, key):
        _, index = key
        gen = torch.Generator().manual_seed(1000 + index)
        t = torch.arange(SAMPLES) / RATE
        freq = 80.0 + 300.0 * torch.rand((), generator=gen)
        period = 0.1 + 0.2 * torch.rand((), generator=gen)
        envelope = torch.exp(-(t % period) / 0.03)
        anchor = envelope * torch.sin(2 * torch.pi * freq * t)
        positive = envelope * torch.sin(4 * torch.pi * freq * t + 1.0)
        extra = (
            envelope * torch.sin(2 * torch.pi * 1.37 * freq * t) if index % 5 in (0, 3) else t[:0]
        )
        return anchor, positive, extra


def build_system(train_loader=None, gather_negatives: bool = True) -> ContrastiveSystem:
    """The tiny PHALAR (seeded initialisation) and its system, as both the worker and the test
    build it."""
    torch.manual_seed(0)
    model = PHALAR(**MODEL)
    return ContrastiveSystem(
        model,
        make_contrastive_optimizer(model),
        InfoNCELoss(),
        train_loader,
        seed=7,
        transpose_fraction=TRANSPOSE_FRACTION,
        gather_negatives=gather_negatives,
    )


def make_loader() -> DataLoader:
    dataset = PairKeys(WORLD * BATCH * STEPS)
    seconds = SAMPLES / RATE
    return DataLoader(
        dataset,
        batch_size=BATCH,
        sampler=ResumableEpochSampler(len(dataset)),
        collate_fn=RandomCropCollate(seconds, seconds, RATE, seed=0),  # no crop: full clips
        drop_last=True,
    )


class Recorder(pl.Callback):
    """Keeps, per training step, what the test compares with a single-process run."""

    def __init__(self):
        self.steps = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        weights = {k: v.detach().clone() for k, v in pl_module.model.state_dict().items()}
        batch = [x.clone() for x in batch]
        self.steps.append({"batch": batch, "seed": pl_module._step_seed(), "weights": weights})

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        grads = {n: p.grad.clone() for n, p in pl_module.model.named_parameters()}
        self.steps[-1]["grads"] = grads

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps[-1]["loss"] = outputs["loss"].detach().clone()
        self.steps[-1]["negatives"] = float(trainer.callback_metrics["negatives"])


def main(out_dir: str, gather_negatives: bool) -> None:
    torch.set_num_threads(1)
    system = build_system(make_loader(), gather_negatives)
    recorder = Recorder()
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=WORLD,
        strategy=DDPStrategy(process_group_backend="gloo"),
        max_steps=STEPS,
        callbacks=[recorder],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,  # ResumableEpochSampler shards by rank itself
        default_root_dir=out_dir,
    )
    trainer.fit(system)
    record = {
        "rank": trainer.global_rank,
        "world_size": trainer.world_size,
        "steps": recorder.steps,
        "final": {k: v.detach().clone() for k, v in system.model.state_dict().items()},
    }
    torch.save(record, os.path.join(out_dir, f"rank{trainer.global_rank}.pt"))
    trainer.strategy.barrier()  # rank 0 (the process the test waits for) exits after every save


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir")
    parser.add_argument("--no-gather", action="store_true", help="per-device negatives")
    args = parser.parse_args()
    main(args.out_dir, not args.no_gather)
