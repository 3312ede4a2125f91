"""Stage 3: frozen PHALAR frame embeddings (docs/protocols.md#chord-probe-protocol).

One CQT per recording, ``window_seconds`` (4.8 s) windows every ``hop_seconds`` (20 ms) through
the encoder (``inference.FrameEmbedder``, start-aligned, right LSP padding): frame i is the window
starting at ``frame_period * i``. Writes ``<exp_dir>/features/<track_id>.npz`` (``features``
``(n_frames, 2, dim)``, ``frame_period``); recordings already done are skipped. The encoder
throughput (windows per second, embedding only) is printed and written to
``<exp_dir>/throughput.json``. Each file records the model it was made with, so that an
experiment folder never mixes two models.
"""

import argparse
import os

import numpy as np
from common import load_manifest, load_mix, parse_with_conf, pick_device
from tqdm import tqdm

from phalar_asteroid.inference.frames import FrameEmbedder
from phalar_asteroid.inference.model import load_model
from phalar_asteroid.nn.complex import from_complex
from phalar_asteroid.utils.io import atomic_output

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--manifest", required=True)
parser.add_argument("--model_path", required=True, help="best_model.pth of a PHALAR experiment")
parser.add_argument("--exp_dir", required=True)
parser.add_argument("--use_gpu", type=int, default=1)


def main(conf):
    args, win = conf["main_args"], conf["windows"]
    device = pick_device(bool(args["use_gpu"]))
    model_path = os.path.abspath(args["model_path"])
    model = load_model(model_path, device).model
    rate = int(model.sample_rate)
    embedder = FrameEmbedder(model, win["window_seconds"], win["hop_seconds"], win["batch_size"])
    done = 0
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
        try:
            frames = embedder(load_mix(track, rate))
        except ValueError as err:
            raise ValueError(f"Recording {track['track_id']}: {err}") from None
        with atomic_output(path) as tmp:
            with open(tmp, "wb") as fhandle:
                np.savez(
                    fhandle,
                    # The probe's complex linear layer reads the (real, imaginary) layout.
                    features=from_complex(frames).numpy(),
                    frame_period=embedder.frame_period,
                    model_path=model_path,
                )
        done += 1
    embedder.report_throughput(os.path.join(args["exp_dir"], "throughput.json"))
    print(f"PHALAR frames of {len(manifest)} recordings in {args['exp_dir']}/features ({done} new)")


if __name__ == "__main__":
    main(parse_with_conf(parser))
