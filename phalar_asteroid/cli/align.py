"""``phalar align MIX STEM...`` / ``--pairs CSV``: the time offset at which a stem fits a mix
best."""

import numpy as np

from ..utils.io import atomic_output, check_writable, to_jsonable
from .errors import CliError, reported
from .options import each_pair, load_model_option, pairs_option, print_json


def _write_csv(path, alignment):
    with reported("--csv"), atomic_output(path) as tmp:
        np.savetxt(
            tmp,
            np.column_stack((alignment.offsets, alignment.scores)),
            fmt="%.6f",
            delimiter=",",
            header="offset_seconds,score",
            comments="",
        )


def _write_plot(path, alignment):
    import matplotlib  # only when a plot is asked for

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = alignment.offsets[alignment.best]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(alignment.offsets, alignment.scores, lw=1.2)
    ax.axvline(best, color="tab:red", ls="--", lw=1, label=f"best {best:+.3f} s")
    ax.set_xlabel("stem offset (s): positive = delay the stem")
    ax.set_ylabel("symmetric score")
    ax.legend(loc="best")
    fig.tight_layout()
    try:
        with reported(f"--plot {path}:"), atomic_output(path) as tmp:
            fig.savefig(tmp)
    finally:
        plt.close(fig)


def _confidence_line(alignment) -> str:
    """The confidence of the best offset, in words (see ``inference.align.peak_confidence``)."""
    from ..inference.align import AMBIGUOUS_MARGIN_STD  # after the input checks: imports torch

    if alignment.second_offset is None:
        return "confidence: no other peak in the scanned range"
    line = (
        f"confidence: margin {alignment.margin:.4f} ({alignment.margin_std:.3f} std of the curve) "
        f"over the second-best offset {alignment.second_offset:+.3f} s "
        f"(score {alignment.second_score:.4f})"
    )
    if alignment.ambiguous:
        line += (
            f"; ambiguous: margin below {AMBIGUOUS_MARGIN_STD:g} std, the stem may fit at "
            f"{alignment.second_offset:+.3f} s as well"
        )
    return line


def _print(args, alignment, rate):
    offset, score = alignment.offsets[alignment.best], alignment.scores[alignment.best]
    action = "delay" if offset >= 0 else "advance"
    print(
        f"best offset {offset:+.3f} s (score {score:.4f}): {action} the stem by "
        f"{abs(offset):.3f} s to fit the mix"
    )
    print(_confidence_line(alignment))
    step = round(args.step * rate) / rate
    print(
        f"scanned {alignment.offsets[0]:+.3f} … {alignment.offsets[-1]:+.3f} s in {step:.3f} s "
        f"steps under the mix window {alignment.mix_start:.2f}–"
        f"{alignment.mix_start + alignment.window:.2f} s"
    )


def _json(pair, alignment):
    best = dict(
        best_offset=alignment.offsets[alignment.best], best_score=alignment.scores[alignment.best]
    )
    # Every field and property of Alignment (the curve included): new ones appear unasked.
    return {"mix": pair.mix, "stem": pair.stem, **best, **to_jsonable(alignment)}


def run(args):
    if not args.step > 0 or not args.max_offset >= 0:
        raise CliError("--step must be positive and --max-offset non-negative")
    pairs, batch = pairs_option(args)  # every file checked before torch is imported
    if batch and (args.csv or args.plot):
        raise CliError("--csv and --plot take a single pair (one MIX and one STEM file)")
    for option, path in (("--csv", args.csv), ("--plot", args.plot)):
        if path:
            with reported(option):
                check_writable(path)
    loaded = load_model_option(args)
    from ..inference.align import align_files

    rate = int(loaded.model.sample_rate)
    if round(args.step * rate) < 1:
        raise CliError(f"--step {args.step} is below one sample at {rate} Hz")

    def align(mix, stem):
        return align_files(loaded.model, mix, stem, args.max_offset, args.step, args.batch_size)

    n_aligned = 0
    for pair, alignment in each_pair(args, pairs, align):
        n_aligned += 1
        if args.json:
            print_json(_json(pair, alignment))
            continue
        if batch:  # a heading, then the report of a single pair
            print(("" if n_aligned == 1 else "\n") + f"{pair.stem} against {pair.mix}:")
        _print(args, alignment, rate)
    if n_aligned == 0:
        raise CliError("no pair could be aligned")
    if args.csv:
        _write_csv(args.csv, alignment)
    if args.plot:
        _write_plot(args.plot, alignment)
