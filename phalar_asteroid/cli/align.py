"""``phalar align MIX STEM``: the time offset at which a stem fits a mix best."""

import numpy as np

from ..inference.align import AMBIGUOUS_MARGIN_STD, align_files
from ..utils.io import atomic_output
from .errors import CliError, reported
from .options import load_model_option


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


def run(args):
    if not args.step > 0 or not args.max_offset >= 0:
        raise CliError("--step must be positive and --max-offset non-negative")
    loaded = load_model_option(args)
    rate = int(loaded.model.sample_rate)
    if round(args.step * rate) < 1:
        raise CliError(f"--step {args.step} is below one sample at {rate} Hz")
    with reported():
        alignment = align_files(
            loaded.model, args.mix, args.stem, args.max_offset, args.step, args.batch_size
        )
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
    if args.csv:
        _write_csv(args.csv, alignment)
    if args.plot:
        _write_plot(args.plot, alignment)
