"""Stage 3: frozen PHALAR frame embeddings (docs/protocols.md#chord-probe-protocol).

One CQT per recording, ``window_seconds`` (4.8 s) windows every ``hop_seconds`` (20 ms) through
the encoder (``PHALAR.embed_windows``, start-aligned, right LSP padding): frame i is the window
starting at ``frame_period * i``. Writes ``<exp_dir>/features/<track_id>.npz`` (``features``
``(n_frames, 2, dim)``, ``frame_period``); recordings already done are skipped. The encoder
throughput (windows per second, embedding only) is printed and written to
``<exp_dir>/throughput.json``. Each file records the model it was made with, so that an
experiment folder never mixes two models.
"""

import argparse
import os
import time

import numpy as np
import torch
from common import load_manifest, load_mix, parse_with_conf, pick_device
from tqdm import tqdm

from phalar_asteroid.cli.output import atomic_output
from phalar_asteroid.data.datasets.common import write_json_atomic
from phalar_asteroid.models import PHALAR

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--manifest", required=True)
parser.add_argument("--model_path", required=True, help="best_model.pth of a PHALAR experiment")
parser.add_argument("--exp_dir", required=True)
parser.add_argument("--use_gpu", type=int, default=1)


def main(conf):
    args, win = conf["main_args"], conf["windows"]
    device = pick_device(bool(args["use_gpu"]))
    model_path = os.path.abspath(args["model_path"])
    model = PHALAR.from_pretrained(model_path).eval().to(device)
    rate = int(model.sample_rate)
    period = win["hop_seconds"]
    window_frames = model.frames(win["window_seconds"], "window_seconds")
    hop_frames = model.frames(period, "hop_seconds")
    n_windows, seconds, done = 0, 0.0, 0
    manifest = load_manifest(args["manifest"])
    for track in tqdm(manifest, desc="PHALAR frames"):
        path = os.path.join(args["exp_dir"], "features", f"{track['track_id']}.npz")
        if os.path.isfile(path):
            made_with = str(np.load(path)["model_path"])
            if made_with != model_path:
                raise ValueError(
                    f"{path} was made with {made_with}, not {model_path}: "
                    "give this model its own --tag"
                )
            continue
        wav = torch.from_numpy(load_mix(track, rate))
        start = time.perf_counter()
        try:
            windows = model.embed_windows(wav, window_frames, hop_frames, win["batch_size"])
        except ValueError as err:
            raise ValueError(f"Recording {track['track_id']}: {err}") from None
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - start
        n_windows += len(windows)
        with atomic_output(path) as tmp:
            with open(tmp, "wb") as fhandle:
                np.savez(
                    fhandle,
                    features=windows.cpu().numpy(),
                    frame_period=period,
                    model_path=model_path,
                )
        done += 1
    if n_windows:
        throughput = n_windows / seconds
        print(
            f"Encoder throughput: {throughput:.1f} windows/s ({n_windows} windows, {device.type})"
        )
        write_json_atomic(
            {
                "windows": n_windows,
                "seconds": seconds,
                "windows_per_second": throughput,
                "device": str(device),
                "torch_threads": torch.get_num_threads(),
            },
            os.path.join(args["exp_dir"], "throughput.json"),
            indent=1,
        )
    print(f"PHALAR frames of {len(manifest)} recordings in {args['exp_dir']}/features ({done} new)")


if __name__ == "__main__":
    main(parse_with_conf(parser))
