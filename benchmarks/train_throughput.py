"""Training throughput (pairs per second) of PHALAR and COCOLA, one optimiser step at a time.

Each step is what the recipe's ContrastiveSystem does: encode anchors and positives in one call,
score the (B, B) logits with the model's similarity, InfoNCE, backward, optimiser step (PHALAR:
Muon + AdamW; COCOLA: Adam). Data loading is left out: random clips are drawn once. COCOLA is
timed with its HPSS features computed on the fly (inside the step, as in training from audio)
and precomputed (features drawn once, only the network trains).

Every config runs at each ``--precisions`` entry, side by side: ``32-true`` (the old CPU path)
and ``bf16-mixed`` (autocast to bfloat16, the front end and the spectral pooling staying in
float32, as Lightning's ``precision="bf16-mixed"`` does in the recipe). On CPUs with native
bf16 (AVX512-BF16, AMX) oneDNN's bf16 convolutions are the backbone's fast path. Besides wall
time, the process CPU time per step is printed: with one thread it is the compute cost even on
a shared machine.

Usage::

    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \\
        python benchmarks/train_throughput.py --batch 16 --seconds 5 --steps 5 [--device cuda]
    # the harmony preset's configuration, old and new path in one run:
    python benchmarks/train_throughput.py --configs phalar_quick --threads 1 --seconds 6 \\
        --extras 16 --precisions 32-true,bf16-mixed
"""

import argparse
import json
import time

import torch

from phalar_asteroid.engine import ContrastiveSystem, make_contrastive_optimizer
from phalar_asteroid.losses import InfoNCELoss
from phalar_asteroid.models import PHALAR
from phalar_asteroid.models.cocola import COCOLA

CONFIGS = ("phalar", "phalar_quick", "cocola_onthefly", "cocola_precomputed")
PRECISIONS = ("32-true", "bf16-mixed")


def build(name: str):
    """(model, optimiser kwargs, loss positive target, precomputed features?) of a config."""
    if name == "phalar":
        return PHALAR(), {}, 0.9, False
    if name == "phalar_quick":  # the CPU demo's narrower model (recipe preset "quick")
        return PHALAR(hop_length=320, depth=4), {}, 0.9, False
    adam = dict(optimizer="adam", adam_lr=1e-3, adam_b2=0.999, adam_eps=1e-8, adam_wd=0.0)
    return COCOLA(), adam, 1.0, name == "cocola_precomputed"


def measure(
    name: str,
    batch: int,
    seconds: float,
    steps: int,
    warmup: int,
    device: str,
    precision: str = "32-true",
    extras: int = 0,
) -> dict:
    """Times ``steps`` training steps after ``warmup`` untimed ones.

    Args:
        name (str): one of :data:`CONFIGS`.
        batch (int): pairs per step.
        seconds (float): clip length.
        steps (int): timed steps.
        warmup (int): untimed steps first.
        device (str): ``"cpu"`` or ``"cuda"``.
        precision (str): one of :data:`PRECISIONS`.
        extras (int): extra negative clips encoded with the pairs (the recipe's same-track
            and transposed negatives).

    Returns:
        dict: config, precision, pairs per second, wall and CPU seconds per step, parameters.
    """
    torch.manual_seed(0)
    model, optim_kwargs, target, precompute = build(name)
    model = model.to(device).train()
    optimizer = make_contrastive_optimizer(model, **optim_kwargs)
    system = ContrastiveSystem(model, optimizer, InfoNCELoss(target), train_loader=None)
    samples = int(seconds * model.sample_rate)
    wav = torch.randn(2, batch, samples, device=device) * 0.1
    extra = torch.randn(extras, samples, device=device) * 0.1
    if precompute:
        with torch.no_grad():
            wav = torch.stack([model.features(w) for w in wav])
            extra = model.features(extra) if extras else wav[0, :0]
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16-mixed")

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            logits = system.batch_logits((wav[0], wav[1], extra), train=True)
        loss = system.loss_func(logits)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "config": name,
        "precision": precision,
        "device": device,
        "batch_pairs": batch,
        "extra_clips": extras,
        "clip_seconds": seconds,
        "pairs_per_second": batch * steps / elapsed,
        "seconds_per_step": elapsed / steps,
        "cpu_seconds_per_step": cpu / steps,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--batch", type=int, default=16, help="pairs per step")
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length")
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--precisions", default=",".join(PRECISIONS), help="comma list: 32-true, bf16-mixed"
    )
    parser.add_argument("--extras", type=int, default=0, help="extra negative clips per step")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for name in filter(None, args.configs.split(",")):
        if name not in CONFIGS:
            parser.error(f"unknown config {name!r}; choose among {CONFIGS}")
        for precision in filter(None, args.precisions.split(",")):
            if precision not in PRECISIONS:
                parser.error(f"unknown precision {precision!r}; choose among {PRECISIONS}")
            res = measure(
                name,
                args.batch,
                args.seconds,
                args.steps,
                args.warmup,
                args.device,
                precision,
                args.extras,
            )
            results.append(res)
            print(
                f"{name:20s} {precision:10s} {res['device']:5s} "
                f"{res['pairs_per_second']:7.2f} pairs/s ({res['seconds_per_step']:.2f} s/step, "
                f"CPU {res['cpu_seconds_per_step']:.2f} s/step; batch {args.batch} + "
                f"{args.extras} extras x {args.seconds:g} s, {res['parameters']:,} params)",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as fhandle:
            json.dump(results, fhandle, indent=1)


if __name__ == "__main__":
    main()
