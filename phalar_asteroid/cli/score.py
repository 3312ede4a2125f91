"""``phalar score MIX STEM...`` / ``--pairs CSV``: how well stems fit mixes, and how that compares
with chance."""

from ..utils.io import to_jsonable
from .errors import CliError
from .options import each_pair, load_model_option, pairs_option, print_json


def _print_one(result, rank, n_random):
    print(
        f"score {result.score:.4f} (mean over {result.n_windows} aligned "
        f"{result.window_seconds:g} s windows)"
    )
    if rank is not None:
        print(
            f"higher than {rank:.1f} % of random pairs "
            f"({n_random} mismatched mix/stem pairs of synthetic songs)"
        )


def _print_header(pairs, calibrated):
    one_mix = len({pair.mix for pair in pairs}) == 1
    columns = f"{'score':>8}  {'windows':>7}  " + (f"{'percentile':>10}  " if calibrated else "")
    print(columns + (f"stem (against {pairs[0].mix})" if one_mix else "mix -> stem"))
    return one_mix


def run(args):
    pairs, batch = pairs_option(args)  # every file checked before torch is imported
    loaded = load_model_option(args)
    from ..inference.calibration import load_calibration, percentile
    from ..inference.score import PairScorer

    calibration = None  # built (or read from the cache) once the first score is in
    if batch and not args.json:
        one_mix = _print_header(pairs, not args.no_calibration)
    n_scored = 0
    for pair, result in each_pair(args, pairs, PairScorer(loaded.model, args.batch_size)):
        n_scored += 1
        if calibration is None and not args.no_calibration:
            calibration = load_calibration(loaded, args.batch_size)
        rank = None if calibration is None else percentile(calibration, result.score)
        n_random = None if calibration is None else len(calibration)
        if args.json:
            print_json(
                dict(
                    mix=pair.mix,
                    stem=pair.stem,
                    **to_jsonable(result),
                    percentile=rank,
                    n_random_pairs=n_random,
                )
            )
        elif not batch:
            _print_one(result, rank, n_random)
        else:
            columns = f"{result.score:8.4f}  {result.n_windows:>7}  "
            columns += "" if rank is None else f"{rank:>10.1f}  "
            print(columns + (pair.stem if one_mix else f"{pair.mix} -> {pair.stem}"))
    if n_scored == 0:
        raise CliError("no pair could be scored")
