"""``phalar index DIR --out LIB``: embed a folder of stems once into a searchable library."""

import os
import sys

import numpy as np
from tqdm import tqdm

from ..library import StemLibrary, check_destination, check_searchable, key_vectors
from .audio import HOP_SECONDS, WINDOW_SECONDS, find_audio_files
from .errors import CliError
from .model import embed_file, load_model


def run(args):
    try:
        check_destination(args.out)
    except FileExistsError as err:
        raise CliError(f"--out {err}") from None
    paths = find_audio_files(args.folder)
    loaded = load_model(args.model, args.device)
    model = loaded.model
    try:
        check_searchable(model.similarity)
    except ValueError as err:
        raise CliError(f"--model {loaded.path}: {err}") from None
    files, keys, row_file, row_window = [], [], [], []
    for path in tqdm(paths, desc="index", unit="file", disable=None):
        try:
            windows = embed_file(model, path, args.batch_size)
        except CliError as err:
            if not args.skip_errors:
                raise CliError(f"{err} (use --skip-errors to leave such files out)") from None
            print(f"phalar index: skipping {err}", file=sys.stderr)
            continue
        keys.append(key_vectors(model.similarity, windows.embeddings).numpy())
        row_file.append(np.full(len(windows.windows), len(files)))
        row_window.append(windows.windows)
        files.append(os.path.relpath(path, args.folder))
    if not files:
        raise CliError(f"{args.folder}: no usable audio file")
    info = dict(
        model=args.model,
        model_sha256=loaded.fingerprint,
        model_name=type(model).__name__,
        similarity=type(model.similarity).__name__,
        root=os.path.abspath(args.folder),
        window_seconds=WINDOW_SECONDS,
        hop_seconds=HOP_SECONDS,
        sample_rate=int(model.sample_rate),
    )
    library = StemLibrary.from_rows(
        np.concatenate(keys),
        np.concatenate(row_file),
        np.concatenate(row_window),
        files,
        info,
        dtype=np.float16 if args.float16 else np.float32,
    )
    try:
        library.save(args.out)
    except OSError as err:
        raise CliError(f"--out {args.out}: {err}") from None
    print(f"{len(library.keys)} windows of {len(files)} stems -> {args.out}")
