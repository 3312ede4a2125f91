"""Stage 2: the chroma baseline's features (model independent).

``librosa.feature.chroma_cqt`` of every recording at its native sample rate, with a hop of
``int(chroma_hop_seconds * sr)`` samples (20 ms, as the reference's ``int(0.02 * sr)``), so
chroma frame i describes time ``frame_period * i``. Stage 4 averages these frames over each
PHALAR window for the like-for-like baseline. Writes ``<out_dir>/<track_id>.npz``
(``features`` ``(n_frames, 12)``, ``frame_period``); recordings already done are skipped.
"""

import argparse
import os

import librosa
import numpy as np
from common import load_manifest, load_mix, parse_with_conf
from tqdm import tqdm

from phalar_asteroid.utils.io import atomic_output

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--manifest", required=True)
parser.add_argument("--out_dir", required=True, help="Chroma feature folder")


def main(conf):
    args = conf["main_args"]
    period = conf["windows"]["chroma_hop_seconds"]
    manifest = load_manifest(args["manifest"])
    todo = []
    for track in manifest:
        path = os.path.join(args["out_dir"], f"{track['track_id']}.npz")
        if not os.path.isfile(path):
            todo.append(track)
        elif float(np.load(path)["frame_period"]) != period:
            raise ValueError(
                f"{path} holds chroma every {np.load(path)['frame_period']} s, not {period} s"
            )
    for track in tqdm(todo, desc="chroma_cqt"):
        rate = track["sample_rate"]
        chroma = librosa.feature.chroma_cqt(
            y=load_mix(track, rate), sr=rate, hop_length=int(period * rate)
        )
        with atomic_output(os.path.join(args["out_dir"], f"{track['track_id']}.npz")) as tmp:
            with open(tmp, "wb") as fhandle:
                np.savez(fhandle, features=chroma.T.astype(np.float32), frame_period=period)
    print(f"Chroma of {len(manifest)} recordings in {args['out_dir']} ({len(todo)} new)")


if __name__ == "__main__":
    main(parse_with_conf(parser))
