"""``phalar search MIX --library LIB --top 10``: the library stems that best fit a mix."""

from ..inference.library import StemLibrary, check_compatible, search_file
from .errors import CliError, reported
from .options import load_model_option


def run(args):
    with reported("--library"):
        library = StemLibrary.load(args.library)
    loaded = load_model_option(args)
    with reported(f"--library {args.library} was"):
        check_compatible(library, loaded)
    with reported():
        hits = search_file(loaded, library, args.mix, args.top, args.batch_size)
    if not hits:
        raise CliError(f"no stem in {args.library} has a window aligned with an active mix window")
    print(f"{len(library.files)} stems in {args.library} (files under {library.info.get('root')})")
    print(f"{'rank':>4}  {'score':>8}  {'windows':>7}  stem")
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank:>4}  {hit.score:8.4f}  {hit.n_windows:>7}  {hit.path}")
