"""``phalar score MIX STEM``: how well a stem fits a mix, and how that compares with chance."""

from ..inference.calibration import load_calibration, percentile
from ..inference.score import score_files
from .errors import reported
from .options import load_model_option


def run(args):
    loaded = load_model_option(args)
    with reported():
        result = score_files(loaded.model, args.mix, args.stem, args.batch_size)
    print(
        f"score {result.score:.4f} (mean over {result.n_windows} aligned "
        f"{result.window_seconds:g} s windows)"
    )
    if not args.no_calibration:
        calibration = load_calibration(loaded, args.batch_size)
        print(
            f"higher than {percentile(calibration, result.score):.1f} % of random pairs "
            f"({len(calibration)} mismatched mix/stem pairs of synthetic songs)"
        )
