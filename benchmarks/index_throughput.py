"""Files per second of ``build_library`` (``phalar index``) with 0, 1 and 2 DataLoader workers.

Indexes every audio file of a folder (e.g. a corpus rendered by ``python -m
phalar_asteroid.data.render``) with the shipped model on this CPU, once per ``--workers``
setting, and prints the wall time and files/s (model load and the first file's warm-up not
timed). Workers read and resample the audio while the main process embeds (``--threads`` torch
threads).

Example::

    python -m phalar_asteroid.data.render --out /tmp/corpus --n-tracks 20 --max-seconds 20 \\
        --seed 0 --workers 1
    python benchmarks/index_throughput.py /tmp/corpus
"""

import argparse
import time

import torch

from phalar_asteroid.inference import load_model
from phalar_asteroid.inference.audio import find_audio_files
from phalar_asteroid.inference.library import build_library


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--model", default="phalar-embedded")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the embedder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded = load_model(args.model, device="cpu")
    paths = find_audio_files(args.folder)
    build_library(loaded, paths[:1], args.folder)  # warm-up
    print(f"{len(paths)} files of {args.folder}, {args.threads} torch thread(s)")
    print(f"{'workers':>7}  {'wall':>8}  {'files/s':>7}")
    for workers in args.workers:
        start = time.perf_counter()
        library = build_library(loaded, paths, args.folder, num_workers=workers)
        wall = time.perf_counter() - start
        print(f"{workers:>7}  {wall:>6.1f} s  {len(paths) / wall:>7.2f}", flush=True)
        assert len(library.files) == len(paths)


if __name__ == "__main__":
    main()
