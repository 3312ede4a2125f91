"""Training throughput (pairs per second) of PHALAR and COCOLA, one optimiser step at a time.

Each step is what the recipe's ContrastiveSystem does: encode anchors and positives in one call,
score the (B, B) logits with the model's similarity, InfoNCE, backward, optimiser step (PHALAR:
Muon + AdamW; COCOLA: Adam). Data loading is left out: random clips are drawn once. COCOLA is
timed with its HPSS features computed on the fly (inside the step, as in training from audio)
and precomputed (features drawn once, only the network trains).

Usage::

    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \\
        python benchmarks/train_throughput.py --batch 16 --seconds 5 --steps 5 [--device cuda]
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


def build(name: str):
    """(model, optimiser kwargs, loss positive target, precomputed features?) of a config."""
    if name == "phalar":
        return PHALAR(), {}, 0.9, False
    if name == "phalar_quick":  # the CPU demo's narrower model (recipe preset "quick")
        return PHALAR(hop_length=320, depth=4), {}, 0.9, False
    adam = dict(optimizer="adam", adam_lr=1e-3, adam_b2=0.999, adam_eps=1e-8, adam_wd=0.0)
    return COCOLA(), adam, 1.0, name == "cocola_precomputed"


def measure(name: str, batch: int, seconds: float, steps: int, warmup: int, device: str) -> dict:
    """Times ``steps`` training steps after ``warmup`` untimed ones.

    Returns:
        dict: config, pairs per second, seconds per step, parameter count.
    """
    torch.manual_seed(0)
    model, optim_kwargs, target, precompute = build(name)
    model = model.to(device).train()
    optimizer = make_contrastive_optimizer(model, **optim_kwargs)
    system = ContrastiveSystem(model, optimizer, InfoNCELoss(target), train_loader=None)
    wav = torch.randn(2, batch, int(seconds * model.sample_rate), device=device) * 0.1
    if precompute:
        with torch.no_grad():
            wav = torch.stack([model.features(w) for w in wav])
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            logits = system.batch_logits((wav[0], wav[1]), train=True)
        loss = system.loss_func(logits)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return {
        "config": name,
        "device": device,
        "batch_pairs": batch,
        "clip_seconds": seconds,
        "pairs_per_second": batch * steps / elapsed,
        "seconds_per_step": elapsed / steps,
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
    parser.add_argument("--device", default="cpu", help="cpu or cuda (bf16 autocast)")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for name in filter(None, args.configs.split(",")):
        if name not in CONFIGS:
            parser.error(f"unknown config {name!r}; choose among {CONFIGS}")
        res = measure(name, args.batch, args.seconds, args.steps, args.warmup, args.device)
        results.append(res)
        print(
            f"{name:20s} {res['device']:5s} {res['pairs_per_second']:7.2f} pairs/s "
            f"({res['seconds_per_step']:.2f} s/step, batch {args.batch} x {args.seconds:g} s, "
            f"{res['parameters']:,} params)",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as fhandle:
            json.dump(results, fhandle, indent=1)


if __name__ == "__main__":
    main()
