"""Real PHALAR key and query vectors of a rendered corpus's windows, for the search benchmarks.

Embeds every stem (keys, ``model.key_vectors``) and every mix (queries, ``model.query_vectors``)
of a corpus rendered by ``python -m phalar_asteroid.data.render``, in the library's 10 s windows,
each file also cropped by 1, 2, 3 and 4 s to give more (overlapping, distinct) windows. Writes
``keys``, ``queries`` (float32) and the stem/mix file of each row to an ``.npz``.

Example::

    python -m phalar_asteroid.data.render --out /tmp/corpus --n-tracks 20 --max-seconds 20 \\
        --seed 0 --workers 1
    python benchmarks/real_keys.py /tmp/corpus --out /tmp/real_keys.npz
"""

import argparse
import os

import numpy as np
import torch

from phalar_asteroid.inference import load_model
from phalar_asteroid.inference.audio import find_audio_files, load_audio
from phalar_asteroid.inference.embedding import embed_waveform


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", default="phalar-embedded")
    parser.add_argument("--shifts", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="s")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = load_model(args.model, device="cpu")
    model, rate = loaded.model, int(loaded.model.sample_rate)
    out = dict(keys=[], queries=[], key_file=[], query_file=[])
    for path in find_audio_files(args.corpus):
        wav = load_audio(path, rate)
        mix = os.path.basename(path) == "mix.wav"
        for shift in args.shifts:
            try:
                emb = embed_waveform(model, wav[shift * rate :], name=path).embeddings
            except ValueError:
                continue
            vectors = (model.query_vectors if mix else model.key_vectors)(emb).numpy()
            out["queries" if mix else "keys"].append(vectors.astype(np.float32))
            out["query_file" if mix else "key_file"] += [path] * len(vectors)
    np.savez(
        args.out,
        keys=np.concatenate(out["keys"]),
        queries=np.concatenate(out["queries"]),
        key_file=np.array(out["key_file"]),
        query_file=np.array(out["query_file"]),
    )
    print(f"{len(out['key_file'])} key and {len(out['query_file'])} query windows -> {args.out}")


if __name__ == "__main__":
    main()
