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

EPILOG = f"""examples:
  phalar embed song.wav other.flac --out emb.npz
  phalar score mix.wav bass.wav
  phalar index stems/ --out stems.lib && phalar search mix.wav --library stems.lib --top 10
  phalar align mix.wav drums.wav --plot curve.png

Audio: any file libsndfile reads, at any rate and channel count (averaged to mono, resampled
to 16 kHz). Files are cut into {WINDOWS}: a file shorter than a window is
one window, a tail shorter than a hop is dropped, near-silent windows (RMS below -60 dBFS) are
skipped. Every command takes --model (default: the shipped checkpoint '{DEFAULT_MODEL}')."""

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
model and cached in ~/.cache/phalar_asteroid, or $PHALAR_CACHE_DIR).""",
    ),
    "index": dict(
        help="build a searchable stem library",
        description=f"""Build a stem library from every audio file under FOLDER (recursive): each
active window ({WINDOWS}) is stored as the real vector that makes the model's symmetric score one
dot product (H y for PHALAR), for `phalar search`. The library is a folder (keys.npy, meta.npz)
written under a temporary name and renamed when complete.""",
    ),
    "search": dict(
        help="find the library stems that best fit a mix",
        description="""Rank the stems of a library built by `phalar index` by how well they fit
MIX: the mean symmetric score over aligned windows (window i of the mix against window i of the
stem), by exact search (one pass over the stored vectors). Use the model the library was built
with.""",
    ),
    "align": dict(
        help="find the time offset at which a stem fits a mix",
        description="""Find the offset at which STEM fits MIX best: the stem, shifted by every
offset in [-max-offset, +max-offset] (step --step), is scored against one window of the mix
(placed where the stem is loudest). A positive offset means: delay the stem by that much; a
negative one: advance it (e.g. a stem exported late).""",
    ),
}


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_model_arguments(parser):
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


def _mix_and_stem(parser):
    parser.add_argument("mix", help="the mix (or partial mix) audio file")
    parser.add_argument("stem", help="the stem audio file")


def _embed_arguments(parser):
    parser.add_argument("audio", nargs="+", help="audio files")
    parser.add_argument("--out", required=True, help="output .npz file")


def _score_arguments(parser):
    _mix_and_stem(parser)
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


def _search_arguments(parser):
    parser.add_argument("mix", help="the mix (or partial mix) audio file")
    parser.add_argument("--library", required=True, help="library folder from `phalar index`")
    parser.add_argument("--top", type=positive_int, default=10, help="stems to list (default: 10)")


def _align_arguments(parser):
    _mix_and_stem(parser)
    parser.add_argument(
        "--max-offset", type=float, default=2.0, help="largest offset scanned, s (default: 2)"
    )
    parser.add_argument("--step", type=float, default=0.04, help="offset step, s (default: 0.04)")
    parser.add_argument("--csv", help="write the score curve (offset_seconds,score) here")
    parser.add_argument("--plot", help="write a plot of the score curve here (PNG, PDF, SVG)")


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
        _add_model_arguments(subparser)
    return parser
