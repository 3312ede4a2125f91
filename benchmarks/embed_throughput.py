"""Embedding throughput of PHALAR and COCOLA, and where the time goes.

For each model and clip length, a short warm-up batch and then ``--repeats`` timed batches (the
median is reported) of ``--batch`` random clips; every timed run is split into the front end
(PHALAR: ``model.spectrogram``, the cropped CQT and dB scaling; COCOLA: ``model.features``, the
HPSS log-Mel features) and the rest, which together are exactly ``model(wav)``. Also times the
dense ``Encoder(CQTFB())`` CQT against ``CQTFB.analysis`` on the same batch (longest clips), and
counts multiply-accumulates per 10 s clip with ``torch.utils.flop_counter.FlopCounterMode``.
With CUDA, GPU rows follow (PHALAR under bf16 autocast; COCOLA's HPSS stays on the CPU).
About 3 CPU-minutes with the defaults; wall time grows with other load on the machine.

Example::

    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \\
        python benchmarks/embed_throughput.py --json throughput.json
"""

import argparse
import os
import statistics
import time

import torch
from asteroid_filterbanks import Encoder
from torch.utils.flop_counter import FlopCounterMode

from phalar_asteroid.filterbanks.cqt import CQTFB
from phalar_asteroid.models.cocola import COCOLA
from phalar_asteroid.models.phalar import PHALAR
from phalar_asteroid.utils.io import write_json

SR = 16000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[5.0, 10.0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (>= 3)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    if args.repeats < 3:
        parser.error("--repeats must be at least 3")
    return args


def now(device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def timed(fn, device):
    start = now(device)
    out = fn()
    return out, now(device) - start


def time_split(front, back, wav, repeats, device, autocast):
    """Median total and front-end seconds of ``back(front(wav))``.

    The warm-up run (first-call costs: lazy imports, kernel selection) uses two clips of the
    same length, to keep the benchmark short.
    """
    totals, fronts = [], []
    with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=autocast):
        back(front(wav[:2]))
        for _ in range(repeats):
            feats, t_front = timed(lambda: front(wav), device)
            _, t_back = timed(lambda: back(feats), device)
            totals.append(t_front + t_back)
            fronts.append(t_front)
    return statistics.median(totals), statistics.median(fronts)


def time_median(fn, repeats, device):
    with torch.no_grad():
        fn()
        return statistics.median(timed(fn, device)[1] for _ in range(repeats))


def gmacs(fn):
    """Multiply-accumulates (10⁹) of one call: FlopCounterMode counts 2 FLOPs per MAC."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        fn()
    return counter.get_total_flops() / 2e9


def throughput_rows(models, args, device):
    rows = []
    for name, (front, back, autocast) in models.items():
        for seconds in args.seconds:
            wav = 0.1 * torch.randn(args.batch, int(seconds * SR), device=device)
            total, front_s = time_split(front, back, wav, args.repeats, device, autocast)
            rows.append(
                dict(
                    model=name,
                    device=device.type + (" bf16" if autocast else ""),
                    clip_s=seconds,
                    batch=args.batch,
                    batch_s=total,
                    audio_s_per_s=args.batch * seconds / total,
                    frontend_share=front_s / total,
                )
            )
            print(f"  {name} {seconds:g} s on {device.type}: {total:.3f} s/batch", flush=True)
    return rows


def build_models(device):
    torch.manual_seed(0)
    phalar = PHALAR().eval().to(device)
    cocola = COCOLA().eval().to(device)
    return {
        "PHALAR": (phalar.spectrogram, phalar.embed_spectrogram, device.type == "cuda"),
        # HPSS runs in NumPy on the CPU, as in the reference; the encoder runs in fp32.
        "COCOLA": (cocola.features, cocola, False),
    }


def cqt_row(seconds, args, device):
    """Dense ``Encoder(CQTFB())`` versus the cropped ``CQTFB.analysis`` on one batch."""
    cqt = CQTFB().to(device)
    dense = Encoder(cqt).to(device)
    wav = 0.1 * torch.randn(args.batch, int(seconds * SR), device=device)
    dense_s = time_median(lambda: dense(wav.unsqueeze(1)), args.repeats, device)
    cropped_s = time_median(lambda: cqt.analysis(wav), args.repeats, device)
    return dict(
        device=device.type, clip_s=seconds, batch=args.batch, dense_s=dense_s, cropped_s=cropped_s
    )


def mac_counts():
    torch.manual_seed(0)
    phalar, cocola = PHALAR().eval(), COCOLA().eval()
    cqt = CQTFB()
    wav = torch.zeros(1, 10 * SR)
    spec, feats = phalar.spectrogram(wav), cocola.features(wav)
    return {
        "dense CQT (Encoder(CQTFB()))": gmacs(lambda: Encoder(cqt)(wav.unsqueeze(1))),
        "cropped CQT (CQTFB.analysis)": gmacs(lambda: cqt.analysis(wav)),
        "PHALAR after the CQT (backbone, LSP, head)": gmacs(lambda: phalar.embed_spectrogram(spec)),
        "PHALAR backbone only": gmacs(lambda: phalar.backbone(spec.unsqueeze(1))),
        "COCOLA after HPSS (EfficientNet-B0, projection)": gmacs(lambda: cocola(feats)),
    }


def markdown(rows, cqt, macs, threads, load):
    lines = [
        f"CPU threads: {threads}; GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '(unset)')}; "
        f"1-min load average at start / end: {load[0]:.1f} / {load[1]:.1f}",
        "",
        "| model | device | clip (s) | batch | s / batch | audio-s / wall-s | front-end share |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['device']} | {r['clip_s']:g} | {r['batch']} | "
            f"{r['batch_s']:.3f} | {r['audio_s_per_s']:.1f} | {100 * r['frontend_share']:.0f} % |"
        )
    lines += [
        "",
        "| CQT on | clip (s) | batch | dense Encoder(CQTFB()) (s) | CQTFB.analysis (s) | "
        "speed-up |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in cqt:
        lines.append(
            f"| {r['device']} | {r['clip_s']:g} | {r['batch']} | {r['dense_s']:.3f} | "
            f"{r['cropped_s']:.3f} | "
            f"{r['dense_s'] / r['cropped_s']:.1f}x |"
        )
    lines += ["", "| per 10 s clip | GMAC |", "|---|---:|"]
    lines += [f"| {name} | {value:.3f} |" for name, value in macs.items()]
    return "\n".join(lines)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    # Other processes on the machine slow every wall-clock number: record how busy it was.
    load = [os.getloadavg()[0]]
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    rows, cqt = [], []
    for device in devices:
        rows += throughput_rows(build_models(device), args, device)
        # The dense convolution is slow: time it on the longest clips only.
        cqt.append(cqt_row(max(args.seconds), args, device))
    macs = mac_counts()
    load.append(os.getloadavg()[0])
    print(markdown(rows, cqt, macs, args.threads, load))
    if args.json:
        results = dict(throughput=rows, cqt=cqt, gmac_per_10s_clip=macs, load_average=load)
        write_json(results, args.json, indent=2)


if __name__ == "__main__":
    main()
