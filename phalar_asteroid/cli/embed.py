"""``phalar embed AUDIO... --out emb.npz``: window embeddings of audio files."""

import numpy as np
from tqdm import tqdm

from ..inference.audio import HOP_SECONDS, WINDOW_SECONDS
from ..utils.io import atomic_output, check_writable
from .errors import reported
from .options import check_audio_option, load_model_option, print_json


def run(args):
    for path in args.audio:  # inputs and destination checked before torch is imported
        check_audio_option(path)
    with reported("--out"):
        check_writable(args.out)
    loaded = load_model_option(args)
    from ..inference.embedding import embed_file

    model = loaded.model
    embeddings, file_index, window_index = [], [], []
    for i, path in enumerate(tqdm(args.audio, desc="embed", unit="file", disable=None)):
        with reported():
            windows = embed_file(model, path, args.batch_size)
        embeddings.append(windows.embeddings.numpy())
        file_index.append(np.full(len(windows.windows), i))
        window_index.append(windows.windows)
    window_index = np.concatenate(window_index)
    with reported("--out"), atomic_output(args.out) as tmp:
        with open(tmp, "wb") as fhandle:
            np.savez(
                fhandle,
                embeddings=np.concatenate(embeddings),
                file_index=np.concatenate(file_index),
                window_index=window_index,
                start_seconds=window_index * HOP_SECONDS,
                files=np.asarray(args.audio, dtype=str),
                model=np.asarray(args.model),
                model_sha256=np.asarray(loaded.fingerprint),
                window_seconds=np.asarray(WINDOW_SECONDS),
                hop_seconds=np.asarray(HOP_SECONDS),
                sample_rate=np.asarray(int(model.sample_rate)),
            )
    if args.json:
        print_json(
            dict(
                out=args.out,
                n_files=len(args.audio),
                n_windows=len(window_index),
                windows_per_file=[len(w) for w in file_index],
                files=args.audio,
                window_seconds=WINDOW_SECONDS,
                hop_seconds=HOP_SECONDS,
                model=args.model,
                model_sha256=loaded.fingerprint,
            )
        )
    else:
        print(f"{len(window_index)} windows of {len(args.audio)} files -> {args.out}")
