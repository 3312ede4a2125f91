"""``phalar index DIR --out LIB``: embed a folder of stems once into a searchable library, or add
to an existing one."""

import os
from types import SimpleNamespace

import numpy as np

from ..inference.audio import find_audio_files
from ..inference.library import (
    BuildInterrupted,
    StemLibrary,
    check_compatible,
    check_destination,
    plan_update,
)
from ..utils.io import check_writable, sha256_file
from .errors import CliError, describe, reported, warn
from .options import load_model_option, print_json


def _existing(args):
    """The library at ``--out`` to add to, or None (none there, or ``--rebuild``)."""
    with reported("--out"):
        check_destination(args.out)
        check_writable(args.out, folder=True)
    if args.rebuild or not os.path.exists(args.out):
        return None
    with reported():  # names the library; an old format says to --rebuild
        existing = StemLibrary.load(args.out)
    if args.float16 and existing.keys.dtype != np.float16:
        raise CliError(
            f"--float16: {args.out} stores {existing.keys.dtype} vectors; add --rebuild to build "
            "it anew as float16"
        )
    return existing


def _checkpoint(args, library) -> bool:
    """Saves the library so far (atomically: :meth:`StemLibrary.save`) for a killed run.

    Returns:
        bool: whether there was anything to save.
    """
    if library is None or not library.files:
        return False
    with reported("--out"):
        library.save(args.out)
    return True


def _save_interrupted(args, library):
    if _checkpoint(args, library):
        warn("index", f"saved {len(library.files)} stems to {args.out}: run again to resume")


def _report(args, library, added, updated=(), dropped=(), skipped=(), appended=True):
    if args.json:
        print_json(
            dict(
                out=args.out,
                n_stems=len(library.files),
                n_windows=len(library.keys),
                added=list(added),
                updated=list(updated),
                dropped=list(dropped),
                skipped=list(skipped),
            )
        )
        return
    if appended and not (added or updated or dropped):
        print(f"{args.out} is up to date: nothing to embed")
    elif appended:
        print(
            f"added {len(added)} stems, embedded {len(updated)} changed ones again, dropped "
            f"{len(dropped)} whose file is gone"
        )
    print(f"{len(library.keys)} windows of {len(library.files)} stems -> {args.out}")


def _check_model(args, existing, loaded):
    try:
        check_compatible(existing, loaded, args.out)
    except ValueError as err:
        raise CliError(f"{err} (or add --rebuild to build it anew)") from None


def run(args):
    with reported():  # the folder, the destination and any library there before the model
        paths = find_audio_files(args.folder)
    existing = _existing(args)
    update = None if existing is None else plan_update(existing, paths)
    if update is not None and not update.to_embed and os.path.isfile(args.model):
        # Nothing to embed, and a checkpoint file to identify without loading it (seconds).
        with reported("--model"):
            checkpoint = SimpleNamespace(path=args.model, fingerprint=sha256_file(args.model))
        _check_model(args, existing, checkpoint)
        if update.missing:
            with reported("--out"):
                update.library.save(args.out)
        _report(args, update.library, (), (), update.missing)
        return
    loaded = load_model_option(args)
    from ..inference.library import build_library

    if existing is not None:
        _check_model(args, existing, loaded)
    skipped = []

    def on_error(path, err):
        skipped.append(path)
        warn("index", f"skipping {describe(err)}")

    float16 = args.float16 or (existing is not None and existing.keys.dtype == np.float16)
    try:
        library = build_library(
            loaded,
            paths if update is None else update.to_embed,
            args.folder,
            args.batch_size,
            dtype=np.float16 if float16 else np.float32,
            on_error=on_error if args.skip_errors else None,
            existing=None if update is None else update.library,
            num_workers=args.num_workers,
            checkpoint_every=args.checkpoint_every,
            on_checkpoint=lambda partial: _checkpoint(args, partial),
        )
    except BuildInterrupted as stop:
        _save_interrupted(args, stop.library)
        raise KeyboardInterrupt from None
    except (ValueError, OSError) as err:
        hint = "" if args.skip_errors else " (use --skip-errors to leave such files out)"
        raise CliError(f"{describe(err)}{hint}") from None
    with reported("--out"):
        library.save(args.out)
    left_out = set(skipped)
    if update is None:
        added = [p for p in paths if p not in left_out]
        _report(args, library, added, skipped=skipped, appended=False)
    else:
        added = [p for p in update.new if p not in left_out]
        updated = [p for p in update.changed if p not in left_out]
        _report(args, library, added, updated, update.missing, skipped)
