"""Where a PHALAR training step spends its time: front end, backbone, head, backward, optimiser
and data.

One step of the recipe's ContrastiveSystem is cut into its phases and each is timed on its own,
in process CPU time (with one thread, the compute cost even on a shared machine) and wall time,
averaged over ``--steps`` after one untimed step:

- front end: the CQT and dB scaling of every clip (``PHALAR.spectrogram``, float32 always);
- backbone forward: the separable CNN;
- head forward: spectral pooling, complex head, similarity logits and InfoNCE;
- backward and optimiser (Muon + AdamW);
- data (with ``--manifest``): drawing and collating one batch of the recipe's pairs
  (``StemPairDataset`` + ``RandomCropCollate``, augmentations on) in this process; the recipe
  does this in a loader worker, off the critical path when a core is free for it.

Each ``--precisions`` entry is profiled in the same run (``32-true``, ``bf16-mixed``).

Usage::

    python benchmarks/train_profile.py --threads 1 --seconds 6 --extras 16 \\
        [--manifest recipes/stem_retrieval/data/harmony/manifests/cocochorales_train.json]
"""

import argparse
import time

import torch

from phalar_asteroid.engine import make_contrastive_optimizer
from phalar_asteroid.losses import InfoNCELoss
from phalar_asteroid.models import PHALAR


class PhaseClock:
    """Accumulates CPU and wall seconds per phase name."""

    def __init__(self):
        self.cpu, self.wall = {}, {}
        self._marks = None

    def start(self):
        self._marks = (time.process_time(), time.perf_counter())

    def lap(self, phase: str):
        cpu, wall = time.process_time(), time.perf_counter()
        self.cpu[phase] = self.cpu.get(phase, 0.0) + cpu - self._marks[0]
        self.wall[phase] = self.wall.get(phase, 0.0) + wall - self._marks[1]
        self._marks = (cpu, wall)


def profile_model(batch: int, extras: int, seconds: float, steps: int, precision: str) -> dict:
    """Per-phase seconds of one training step of the harmony preset's PHALAR.

    Args:
        batch (int): pairs per step.
        extras (int): extra negative clips encoded with the pairs.
        seconds (float): clip length.
        steps (int): timed steps (after one untimed).
        precision (str): ``"32-true"`` or ``"bf16-mixed"``.

    Returns:
        dict: ``{"cpu": {phase: s}, "wall": {phase: s}}`` per step.
    """
    torch.manual_seed(0)
    model = PHALAR(hop_length=320, depth=4).train()
    optimizer = make_contrastive_optimizer(model)
    loss_func = InfoNCELoss(0.9)
    wav = torch.randn(2 * batch + extras, int(seconds * model.sample_rate)) * 0.1
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    clock = PhaseClock()
    for step in range(steps + 1):
        if step == 1:
            clock = PhaseClock()
        optimizer.zero_grad(set_to_none=True)
        clock.start()
        with autocast:
            spec = model.spectrogram(wav)
            clock.lap("front end")
            features = model.backbone(spec.unsqueeze(1))
            clock.lap("backbone forward")
            emb = model.head(model.pool_dropout(model.pool(features)).flatten(2))
            loss = loss_func(model.similarity(emb[:batch], emb[batch:]))
            clock.lap("head forward")
        loss.backward()
        clock.lap("backward")
        optimizer.step()
        clock.lap("optimiser")
    return {
        kind: {phase: seconds / steps for phase, seconds in table.items()}
        for kind, table in (("cpu", clock.cpu), ("wall", clock.wall))
    }


def profile_data(manifest_path: str, batch: int, steps: int) -> dict:
    """CPU and wall seconds to draw and collate one training batch in this process."""
    from phalar_asteroid.data.datasets import Manifest
    from phalar_asteroid.data.pairs import RandomCropCollate, StemPairDataset

    dataset = StemPairDataset(
        Manifest.load(manifest_path), segment_seconds=10.0, same_track_fraction=0.5
    )
    collate = RandomCropCollate(2.0, 10.0, 16000)
    clock = PhaseClock()
    for step in range(steps):
        clock.start()
        collate([dataset[(0, step * batch + i)] for i in range(batch)])
        clock.lap("data")
    return {
        kind: {"data": table["data"] / steps}
        for kind, table in (("cpu", clock.cpu), ("wall", clock.wall))
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16, help="pairs per step")
    parser.add_argument("--extras", type=int, default=16, help="extra negative clips per step")
    parser.add_argument("--seconds", type=float, default=6.0, help="clip length (mean crop)")
    parser.add_argument("--steps", type=int, default=2, help="timed steps")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--precisions", default="32-true,bf16-mixed", help="comma list")
    parser.add_argument("--manifest", default=None, help="a training manifest, to time data too")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = profile_data(args.manifest, args.batch, args.steps) if args.manifest else None
    for precision in args.precisions.split(","):
        res = profile_model(args.batch, args.extras, args.seconds, args.steps, precision)
        if data:
            for kind in ("cpu", "wall"):
                res[kind].update(data[kind])
        total = sum(res["cpu"].values())
        print(f"{precision}: {2 * args.batch + args.extras} clips of {args.seconds:g} s per step")
        for phase, cpu in res["cpu"].items():
            print(
                f"  {phase:17s} CPU {cpu:6.2f} s ({100 * cpu / total:4.1f} %)  "
                f"wall {res['wall'][phase]:6.2f} s"
            )
        print(f"  {'step':17s} CPU {total:6.2f} s  -> {args.batch / total:.2f} pairs/s of CPU")


if __name__ == "__main__":
    main()
