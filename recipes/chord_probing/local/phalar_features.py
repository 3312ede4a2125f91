"""Stage 3: frozen PHALAR frame embeddings (docs/protocols.md#chord-probe-protocol).

One CQT per recording; for every window length of ``window_seconds`` (1, 2 and 4.8 s), windows
every ``hop_seconds`` go through the encoder (``inference.FrameEmbedder``, start-aligned, right
LSP padding): frame i is the window starting at ``frame_period * i``. Windows and strides must be
whole numbers of the model's hops; one hop is the shortest window, since the windows are cut from
the whole track's CQT (the model's ``min_samples`` bounds a waveform given to ``embed``, not a
window). Writes ``<exp_dir>/features_w<window>s/<track_id>.npz`` (``features``
``(n_frames, 2, dim)``, ``frame_period``, ``window_seconds``, ``model_path``); recordings
already done are skipped. The encoder throughput of each window length (windows per second,
embedding only) is printed and written to ``<exp_dir>/throughput_w<window>s.json``. Each file
records the model it was made with, so that an experiment folder never mixes two models.
"""

import argparse
import os

import numpy as np
from common import feature_dir, load_manifest, load_mix, parse_with_conf, pick_device, window_list
from tqdm import tqdm

from phalar_asteroid.eval.chords import window_frames
from phalar_asteroid.inference.frames import FrameEmbedder
from phalar_asteroid.inference.model import load_model
from phalar_asteroid.nn.complex import from_complex
from phalar_asteroid.utils.io import atomic_output

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--manifest", required=True)
parser.add_argument("--model_path", required=True, help="best_model.pth of a PHALAR experiment")
parser.add_argument("--exp_dir", required=True)
parser.add_argument("--use_gpu", type=int, default=1)


def embed_corpus(embedder, manifest, folder: str, model_path: str, window_seconds: float) -> int:
    """Writes the frame embeddings of every recording not done yet; returns how many were new."""
    done = 0
    rate = int(embedder.model.sample_rate)
    for track in tqdm(manifest, desc=f"PHALAR frames, {window_seconds:g} s windows"):
        path = os.path.join(folder, f"{track['track_id']}.npz")
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
                    window_seconds=window_seconds,
                    model_path=model_path,
                )
        done += 1
    return done


def main(conf):
    args, win = conf["main_args"], conf["windows"]
    device = pick_device(bool(args["use_gpu"]))
    model_path = os.path.abspath(args["model_path"])
    model = load_model(model_path, device).model
    manifest = load_manifest(args["manifest"])
    # Every window and the stride are checked before any work: against the model's hop, and the
    # stride against the chroma frames that stage 4 averages on the same grid.
    window_frames(win["hop_seconds"], win["chroma_hop_seconds"], "hop_seconds")
    embedders = {
        seconds: FrameEmbedder(model, seconds, win["hop_seconds"], win["batch_size"])
        for seconds in window_list(win["window_seconds"])
    }
    for seconds, embedder in embedders.items():
        folder = feature_dir(args["exp_dir"], seconds)
        done = embed_corpus(embedder, manifest, folder, model_path, seconds)
        embedder.report_throughput(os.path.join(args["exp_dir"], f"throughput_w{seconds:g}s.json"))
        print(f"PHALAR frames of {len(manifest)} recordings in {folder} ({done} new)")


if __name__ == "__main__":
    main(parse_with_conf(parser))
