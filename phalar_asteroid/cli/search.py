"""``phalar search MIX --library LIB --top 10``: the library stems that best fit a mix."""

import os

from ..library import StemLibrary, query_vectors
from .audio import HOP_SECONDS, WINDOW_SECONDS
from .errors import CliError
from .model import embed_file, load_model


def run(args):
    try:
        library = StemLibrary.load(args.library)
    except ValueError as err:
        raise CliError(f"--library {err}") from None
    built = (library.info.get("window_seconds"), library.info.get("hop_seconds"))
    if built != (WINDOW_SECONDS, HOP_SECONDS):
        raise CliError(
            f"--library {args.library} was cut into {built[0]} s windows every {built[1]} s; this "
            f"version uses {WINDOW_SECONDS} s every {HOP_SECONDS} s: rebuild it with phalar index"
        )
    loaded = load_model(args.model, args.device)
    if library.info.get("model_sha256") != loaded.fingerprint:
        raise CliError(
            f"--library {args.library} was built with model {library.info.get('model')!r}, "
            f"not with {args.model!r} ({loaded.path}): pass the same --model"
        )
    mix = embed_file(loaded.model, args.mix, args.batch_size)
    queries = query_vectors(loaded.model.similarity, mix.embeddings).numpy()
    best, scores, pairs = library.search(queries, mix.windows, args.top)
    if len(best) == 0:
        raise CliError(f"no stem in {args.library} has a window aligned with an active mix window")
    root = library.info.get("root", "")
    print(f"{len(library.files)} stems in {args.library} (files under {root})")
    print(f"{'rank':>4}  {'score':>8}  {'windows':>7}  stem")
    for rank, (i, score, n) in enumerate(zip(best, scores, pairs), start=1):
        print(f"{rank:>4}  {score:8.4f}  {n:>7}  {os.path.join(root, library.files[i])}")
