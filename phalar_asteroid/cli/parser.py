"""The grammar of ``phalar``: subcommands, arguments and help texts.

Kept free of torch and model imports (several seconds) so that ``phalar --help`` answers at once;
each subcommand's module (``embed``, ``score``, ``index``, ``search``, ``align``) is imported only
when it runs.
"""

import argparse

from .. import __version__
from ..inference.audio import HOP_SECONDS, WINDOW_SECONDS

#: The shipped pretrained checkpoint: ``phalar_asteroid/pretrained/phalar-embedded.pth``.
DEFAULT_MODEL = "phalar-embedded"

WINDOWS = f"{WINDOW_SECONDS:g} s windows every {HOP_SECONDS:g} s"

PAIRS = """Several pairs at once (the model is loaded once): give several STEMs or folders of
stems (every audio file under a folder, the mix excepted), or --pairs CSV, a CSV file with a
header row naming the columns mix,stem (paths relative to the CSV file's folder); one result per
pair. A bad pair stops the command with a message naming it (the CSV line), unless
--skip-errors."""

EPILOG = f"""examples:
  phalar embed song.wav other.flac --out emb.npz
  phalar score mix.wav bass.wav
  phalar score mix.wav stems/ --json          # every stem of a folder, one JSON line each
  phalar score --pairs pairs.csv              # CSV with the columns mix,stem
  phalar index stems/ --out stems.lib && phalar search mix.wav --library stems.lib --top 10
  phalar index more_stems/ --out stems.lib    # adds the new files to the library
  phalar search mix.wav --library stems.lib --exclude song1/   # leave out the mix's own stems
  phalar align mix.wav drums.wav --plot curve.png

Audio: any file libsndfile reads, at any rate and channel count (averaged to mono, resampled
to 16 kHz). Files are cut into {WINDOWS}: a file shorter than a window is
one window, a tail shorter than a hop is dropped, near-silent windows (RMS below -60 dBFS) are
skipped. Every command takes --model (default: the shipped checkpoint '{DEFAULT_MODEL}') and
--json (machine-readable output on stdout: one JSON object per line; errors stay one line on
stderr with exit status 1). Inputs and destinations are checked before the model loads."""

COMMANDS = {
    "embed": dict(
        help="embed audio files into an .npz",
        description=f"""Embed audio files: every active window ({WINDOWS}) is embedded. The .npz
holds embeddings (complex64 (windows, dim) for complex models, else float32), file_index,
window_index, start_seconds, files, model, model_sha256, window_seconds, hop_seconds and
sample_rate.""",
    ),
    "score": dict(
        help="coherence score of a stem against a mix",
        description=f"""Coherence score of a stem against a (partial) mix: the model's symmetric
(Hermitian) similarity, higher fits better. Both files are trimmed to the shorter one and cut into
{WINDOWS}; the score is the mean over aligned windows where both are active. It is placed among
the scores of random mismatched mix/stem pairs of built-in synthetic songs (computed once per
model and cached in ~/.cache/phalar_asteroid, or $PHALAR_CACHE_DIR). {PAIRS} --json: score,
n_windows, window_seconds, percentile (null with --no-calibration), n_random_pairs, mix, stem.""",
    ),
    "index": dict(
        help="build a searchable stem library",
        description=f"""Build a stem library from every audio file under FOLDER (recursive): each
active window ({WINDOWS}) is stored as the real vector that makes the model's symmetric score one
dot product (H y for PHALAR), for `phalar search`. The library is a folder (keys.npy, meta.npz)
written under a temporary name and renamed when complete. Stem paths are stored relative to the
library folder: move the library and its stems together. Indexing into an existing library (built
with the same model) embeds only the files not yet in it or changed since (size or modification
time), keeps the others, and drops the stems whose file no longer exists; stems of other folders
are kept, so several folders can share one library. Ctrl-C saves the stems embedded so far: run
the command again to resume. --rebuild embeds everything anew.""",
    ),
    "search": dict(
        help="find the library stems that best fit a mix",
        description="""Rank the stems of a library built by `phalar index` by how well they fit
MIX: the mean symmetric score over aligned windows (window i of the mix against window i of the
stem), by exact search (one pass over the stored vectors). Use the model the library was built
with. --exclude leaves stems out of the ranking (e.g. the stems already in the mix, which fit it
best); the other stems keep their scores.""",
    ),
    "align": dict(
        help="find the time offset at which a stem fits a mix",
        description="""Find the offset at which STEM fits MIX best: the stem, shifted by every
offset in [-max-offset, +max-offset] (step --step), is scored against one window of the mix
(placed where the stem is loudest). A positive offset means: delay the stem by that much; a
negative one: advance it (e.g. a stem exported late). """
        + PAIRS
        + """ --json: the fields of the alignment (offsets, scores: the curve), best_offset,
best_score, mix, stem.""",
    ),
}


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer of at least 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def _add_common_arguments(parser):
    parser.add_argument(
        "--json",
        action="store_true",
        help="print machine-readable results on stdout: one JSON object per line",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"checkpoint saved with model.serialize(), or a shipped name (default: {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--device", default=None, help="torch device (default: cuda when available, else cpu)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=16, help="windows per forward pass (default: 16)"
    )


def _mix_and_stems(parser):
    parser.add_argument("mix", nargs="?", help="the mix (or partial mix) audio file")
    parser.add_argument(
        "stem", nargs="*", help="stem audio files, or folders of them (every audio file under one)"
    )
    parser.add_argument(
        "--pairs", metavar="CSV", help="pairs file with the columns mix,stem, instead of MIX STEM"
    )
    parser.add_argument(
        "--skip-errors", action="store_true", help="skip unusable pairs with a warning"
    )
    parser.set_defaults(check_usage=_check_pairs)


def _check_pairs(parser, args):
    if args.pairs and (args.mix or args.stem):
        parser.error("give MIX STEM... or --pairs CSV, not both")
    if not args.pairs and not args.stem:
        parser.error("give MIX and at least one STEM (a file or a folder), or --pairs CSV")


def _embed_arguments(parser):
    parser.add_argument("audio", nargs="+", help="audio files")
    parser.add_argument("--out", required=True, help="output .npz file")


def _score_arguments(parser):
    _mix_and_stems(parser)
    parser.add_argument(
        "--no-calibration", action="store_true", help="skip the percentile among random pairs"
    )


def _index_arguments(parser):
    parser.add_argument("folder", help="folder of stem audio files")
    parser.add_argument("--out", required=True, help="library folder to write")
    parser.add_argument(
        "--float16", action="store_true", help="store the vectors as float16 (half the memory)"
    )
    parser.add_argument(
        "--skip-errors", action="store_true", help="skip unusable files with a warning"
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="embed every file anew instead of adding to an existing library at --out",
    )
    parser.add_argument(
        "--num-workers",
        "--num_workers",
        type=non_negative_int,
        default=0,
        help="processes that read and resample the audio while the model embeds (default: 0, "
        "read in the main process)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=non_negative_int,
        default=100,
        metavar="N",
        help="save the library to --out every N embedded files, so that a killed run resumes "
        "from there (default: 100; 0: only at the end)",
    )


def _search_arguments(parser):
    parser.add_argument("mix", help="the mix (or partial mix) audio file")
    parser.add_argument("--library", required=True, help="library folder from `phalar index`")
    parser.add_argument("--top", type=positive_int, default=10, help="stems to list (default: 10)")
    parser.add_argument(
        "--exclude",
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="stem files, or folders of stems, to leave out of the ranking (e.g. those already in "
        "the mix); absolute or relative to the working directory",
    )
    parser.add_argument(
        "--index",
        choices=("numpy", "exact", "ivf", "hnsw"),
        default="numpy",
        help="search engine: numpy (default: one exact pass over the keys), exact (faiss flat "
        "inner product, same results), ivf or hnsw (faiss approximate, for large libraries; built "
        "on first use and saved in the library folder as ann-ivf/ or ann-hnsw/)",
    )


def _align_arguments(parser):
    _mix_and_stems(parser)
    parser.add_argument(
        "--max-offset", type=float, default=2.0, help="largest offset scanned, s (default: 2)"
    )
    parser.add_argument("--step", type=float, default=0.04, help="offset step, s (default: 0.04)")
    parser.add_argument(
        "--csv", help="write the score curve (offset_seconds,score) here (one pair only)"
    )
    parser.add_argument(
        "--plot", help="write a plot of the score curve here (PNG, PDF, SVG; one pair only)"
    )


ARGUMENTS = {
    "embed": _embed_arguments,
    "score": _score_arguments,
    "index": _index_arguments,
    "search": _search_arguments,
    "align": _align_arguments,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``phalar`` with its five subcommands.

    Returns:
        argparse.ArgumentParser: parsed arguments carry ``command`` (the subcommand's name).
    """
    parser = argparse.ArgumentParser(
        prog="phalar",
        description="Musical stem retrieval with PHALAR (phase-aware contrastive embeddings).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, texts in COMMANDS.items():
        subparser = subparsers.add_parser(name, **texts)
        ARGUMENTS[name](subparser)
        _add_common_arguments(subparser)
        subparser.set_defaults(parser=subparser)
    return parser


def parse_args(argv=None):
    """Parses ``phalar``'s arguments, with the checks argparse cannot express (exit status 2).

    Args:
        argv (list, optional): command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        argparse.Namespace: the arguments; ``command`` names the subcommand.
    """
    args = build_parser().parse_args(argv)
    check = getattr(args, "check_usage", None)
    if check is not None:
        check(args.parser, args)
    return args
