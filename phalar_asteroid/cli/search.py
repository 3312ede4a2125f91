"""``phalar search MIX --library LIB --top 10``: the library stems that best fit a mix."""

from ..inference.library import StemLibrary, check_compatible, search_file
from ..utils.io import to_jsonable
from .errors import CliError, reported, warn
from .options import check_audio_option, load_model_option, print_json


def run(args):
    # The mix, the library and the exclusions are checked before torch is imported.
    check_audio_option(args.mix)
    with reported():  # the messages name the library folder at fault
        library = StemLibrary.load(args.library)
    excluded = []
    for path in args.exclude:
        matched = library.match(path)
        if len(matched) == 0:
            warn("search", f"--exclude {path}: no stem of {args.library} is this file or under it")
        excluded += [library.path(i) for i in matched if library.path(i) not in excluded]
    loaded = load_model_option(args)
    with reported():  # the messages name the library folder or the mix file at fault
        check_compatible(library, loaded, args.library)
        hits = search_file(
            loaded,
            library,
            args.mix,
            args.top,
            args.batch_size,
            args.exclude,
            index=None if args.index == "numpy" else args.index,
        )
    if not hits:
        raise CliError(f"no stem in {args.library} has a window aligned with an active mix window")
    if args.json:
        ranked = [dict(rank=rank, **to_jsonable(hit)) for rank, hit in enumerate(hits, start=1)]
        print_json(dict(mix=args.mix, library=args.library, excluded=excluded, hits=ranked))
        return
    print(
        f"{len(hits)} best-fitting stems of {args.library}"
        + (f" ({len(excluded)} excluded)" if excluded else "")
    )
    print(f"{'rank':>4}  {'score':>8}  {'windows':>7}  stem")
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank:>4}  {hit.score:8.4f}  {hit.n_windows:>7}  {hit.path}")
