"""``phalar search MIX --library LIB --top 10``: the library stems that best fit a mix."""

from ..inference.library import search_file
from .errors import CliError, reported
from .options import load_model_option


def run(args):
    loaded = load_model_option(args)
    with reported():  # the messages name the library folder or the mix file at fault
        hits = search_file(loaded, args.library, args.mix, args.top, args.batch_size)
    if not hits:
        raise CliError(f"no stem in {args.library} has a window aligned with an active mix window")
    print(f"{len(hits)} best-fitting stems of {args.library}")
    print(f"{'rank':>4}  {'score':>8}  {'windows':>7}  stem")
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank:>4}  {hit.score:8.4f}  {hit.n_windows:>7}  {hit.path}")
