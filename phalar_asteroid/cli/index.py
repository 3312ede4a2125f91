"""``phalar index DIR --out LIB``: embed a folder of stems once into a searchable library."""

import sys

import numpy as np

from ..inference.audio import find_audio_files
from ..inference.library import build_library, check_destination
from .errors import CliError, describe, reported
from .options import load_model_option


def _skip(path, err):
    print(f"phalar index: skipping {describe(err)}", file=sys.stderr)


def run(args):
    with reported("--out"):
        check_destination(args.out)
    with reported():
        paths = find_audio_files(args.folder)
    loaded = load_model_option(args)
    try:
        library = build_library(
            loaded,
            paths,
            args.folder,
            args.batch_size,
            dtype=np.float16 if args.float16 else np.float32,
            on_error=_skip if args.skip_errors else None,
        )
    except (ValueError, OSError) as err:
        hint = "" if args.skip_errors else " (use --skip-errors to leave such files out)"
        raise CliError(f"{describe(err)}{hint}") from None
    with reported("--out"):
        library.save(args.out)
    print(f"{len(library.keys)} windows of {len(library.files)} stems -> {args.out}")
