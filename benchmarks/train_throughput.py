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

With ``--crop_seconds MIN,MAX`` every step takes a batch of a new random length, cut by the
recipe's own :class:`~phalar_asteroid.data.pairs.RandomCropCollate` (any length, or with
``--crop_step`` a few), as training does; peak and final resident memory are printed too.
``--variants`` runs each ``precision:allocator:crop_step`` in a process of its own (a fresh
heap), old and new side by side: ``default`` is glibc's allocator as it starts, ``keep`` the one
told to keep freed memory (:func:`~phalar_asteroid.utils.malloc.keep_freed_memory`).

Usage::

    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \\
        python benchmarks/train_throughput.py --batch 16 --seconds 5 --steps 5 [--device cuda]
    # the harmony preset's configuration, old and new path in one run:
    python benchmarks/train_throughput.py --configs phalar_quick --threads 1 --seconds 6 \\
        --extras 16 --precisions 32-true,bf16-mixed
    # random 2-10 s crops as in training: the old path, bf16, bf16 keeping freed memory with
    # crops of any length and of whole seconds (one process each):
    python benchmarks/train_throughput.py --configs phalar_quick --threads 1 --extras 16 \\
        --crop_seconds 2,10 --steps 20 --warmup 2 --variants \\
        32-true:default:0,bf16-mixed:default:0,bf16-mixed:keep:0,bf16-mixed:keep:1
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import torch

from phalar_asteroid.data.pairs import RandomCropCollate
from phalar_asteroid.engine import ContrastiveSystem, make_contrastive_optimizer
from phalar_asteroid.losses import InfoNCELoss
from phalar_asteroid.models import PHALAR
from phalar_asteroid.models.cocola import COCOLA
from phalar_asteroid.utils.malloc import keep_freed_memory

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
    crop_seconds: tuple = None,
    crop_step: float = 0.0,
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
        crop_seconds (tuple, optional): ``(min, max)``: each step crops its clips (``max``
            seconds long) to a new length, as :class:`RandomCropCollate` with ``crop_step`` and
            the step's index as seed; None: every step takes the whole ``seconds``.
        crop_step (float): spacing of the crop lengths; 0: any length.

    Returns:
        dict: config, precision, pairs per second, wall and CPU seconds per step, parameters.
    """
    torch.manual_seed(0)
    model, optim_kwargs, target, precompute = build(name)
    model = model.to(device).train()
    optimizer = make_contrastive_optimizer(model, **optim_kwargs)
    system = ContrastiveSystem(model, optimizer, InfoNCELoss(target), train_loader=None)
    if crop_seconds is not None:
        seconds = crop_seconds[1]
    rate = int(model.sample_rate)
    samples = int(seconds * rate)
    if precompute and crop_seconds is not None:
        raise ValueError("crops of precomputed features are not supported: use a waveform config")
    wav = torch.randn(2, batch, samples, device=device) * 0.1
    extra = torch.randn(extras, samples, device=device) * 0.1
    # The collate's items: anchor, positive and (for the first ``extras``) an extra clip.
    items = [
        (wav[0, i], wav[1, i], extra[i] if i < extras else wav[0, i, :0]) for i in range(batch)
    ]
    if precompute:
        with torch.no_grad():
            wav = torch.stack([model.features(w) for w in wav])
            extra = model.features(extra) if extras else wav[0, :0]
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16-mixed")

    lengths = []

    def step():
        clips = (wav[0], wav[1], extra)
        if crop_seconds is not None:  # a new batch: new length, new tensors
            collate = RandomCropCollate(*crop_seconds, rate, len(lengths), crop_step)
            clips = collate(items)
            lengths.append(clips[0].shape[1])
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            logits = system.batch_logits(clips, train=True)
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
    timed = lengths[warmup:] or [samples] * steps
    return {
        "config": name,
        "precision": precision,
        "device": device,
        "batch_pairs": batch,
        "extra_clips": extras,
        "clip_seconds": sum(timed) / len(timed) / rate,
        "distinct_lengths": len(set(timed)),
        "pairs_per_second": batch * steps / elapsed,
        "seconds_per_step": elapsed / steps,
        "cpu_seconds_per_step": cpu / steps,
        "parameters": sum(p.numel() for p in model.parameters()),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "final_rss_gb": resident_gb(),
    }


def resident_gb() -> float:
    """This process's resident memory now, in GiB (Linux)."""
    with open("/proc/self/statm") as fhandle:
        return int(fhandle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def run_variants(args, variants: list) -> list:
    """Each ``precision:allocator:crop_step`` variant in a fresh process (``GLIBC_TUNABLES``
    left out of its environment): their results."""
    results = []
    for variant in variants:
        precision, allocator, step = variant.split(":")
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "result.json")
            cmd = [sys.executable, __file__, "--configs", args.configs, "--precisions", precision]
            cmd += ["--batch", str(args.batch), "--steps", str(args.steps), "--quiet"]
            cmd += ["--warmup", str(args.warmup), "--threads", str(args.threads)]
            cmd += ["--device", args.device, "--extras", str(args.extras), "--json", out]
            cmd += ["--seconds", str(args.seconds), "--crop_step", step]
            if args.crop_seconds:
                cmd += ["--crop_seconds", args.crop_seconds]
            if allocator == "keep":
                cmd.append("--keep_freed_memory")
            # Without the Makefile's GLIBC_TUNABLES: the allocator is the variant's alone.
            env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
            subprocess.run(cmd, check=True, env=env)
            with open(out) as fhandle:
                results.extend(json.load(fhandle))  # each records its allocator and crop step
        report(results[-1])
    return results


def report(res: dict):
    """One printed line per result."""
    print(
        f"{res['config']:13s} {res['precision']:10s} {res.get('allocator', ''):8s} "
        f"step {res.get('crop_step', 0):g} s  {res['pairs_per_second']:6.2f} pairs/s "
        f"({res['seconds_per_step']:.2f} s/step, CPU {res['cpu_seconds_per_step']:.2f} s/step; "
        f"batch {res['batch_pairs']} + {res['extra_clips']} extras x "
        f"{res['clip_seconds']:.2f} s mean, {res['distinct_lengths']} lengths; RSS peak "
        f"{res['peak_rss_gb']:.2f} GiB, end {res['final_rss_gb']:.2f})",
        flush=True,
    )


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
    parser.add_argument("--crop_seconds", default="", help="MIN,MAX: a new crop length per step")
    parser.add_argument("--crop_step", type=float, default=0.0, help="crop length grid; 0: any")
    parser.add_argument(
        "--keep_freed_memory", action="store_true", help="glibc keeps freed memory (mallopt)"
    )
    parser.add_argument(
        "--variants", default="", help="precision:allocator:crop_step list, one process each"
    )
    parser.add_argument("--quiet", action="store_true", help="no printed lines (--json only)")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    crops = tuple(float(x) for x in args.crop_seconds.split(",")) if args.crop_seconds else None
    if crops is not None and len(crops) != 2:
        parser.error(f"--crop_seconds takes MIN,MAX, got {args.crop_seconds!r}")
    if args.variants:
        results = run_variants(args, list(filter(None, args.variants.split(","))))
        if args.json:
            with open(args.json, "w") as fhandle:
                json.dump(results, fhandle, indent=1)
        return
    if args.keep_freed_memory and not keep_freed_memory():
        parser.error("--keep_freed_memory: this C library has no mallopt")
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
                crops,
                args.crop_step,
            )
            res.update(
                allocator="keep" if args.keep_freed_memory else "default", crop_step=args.crop_step
            )
            results.append(res)
            if not args.quiet:
                report(res)
    if args.json:
        with open(args.json, "w") as fhandle:
            json.dump(results, fhandle, indent=1)


if __name__ == "__main__":
    main()
