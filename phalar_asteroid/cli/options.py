"""What several subcommands share: the model they load (``--model``, ``--device``), ``--json``
output, and the (mix, stem) pairs of ``score`` and ``align``.

Nothing here imports torch until :func:`load_model_option` runs: the subcommands check their
arguments with the rest first.
"""

import json
import os

from ..inference.audio import check_audio_file
from ..inference.pairs import expand_pairs, read_pairs
from ..utils.io import to_jsonable
from .errors import CliError, describe, reported, warn
from .parser import DEFAULT_MODEL


def load_model_option(args):
    """The model named by ``--model`` on ``--device``, with the CLI's wording of failures.

    Args:
        args (argparse.Namespace): parsed arguments with ``model`` and ``device``.

    Returns:
        LoadedModel: the model in eval mode and its identity.

    Raises:
        CliError: the model cannot be found, read or moved to the device.
    """
    from ..inference.model import load_model  # imports torch and asteroid (seconds)
    from ..models.base import PRETRAINED_DIR

    try:
        return load_model(args.model, args.device)
    except FileNotFoundError as err:
        if args.model == DEFAULT_MODEL:
            raise CliError(
                f"the default model {DEFAULT_MODEL!r} is not shipped with this installation "
                f"(expected {os.path.join(PRETRAINED_DIR, DEFAULT_MODEL + '.pth')}); pass "
                "--model PATH to a checkpoint saved with model.serialize()"
            ) from None
        raise CliError(f"--model: {describe(err)}") from None
    except (ValueError, OSError) as err:
        option = "--device" if str(err).startswith("device ") else "--model"
        raise CliError(f"{option} {describe(err)}") from None


def print_json(obj) -> None:
    """Prints ``obj`` (dataclasses and numpy values included) as one line of strict JSON."""
    print(json.dumps(to_jsonable(obj), allow_nan=False), flush=True)


def check_audio_option(path: str, argument: str = None) -> None:
    """:func:`~phalar_asteroid.inference.audio.check_audio_file` as a :class:`CliError`."""
    with reported(argument):
        check_audio_file(path)


def _skip_or_fail(args, pair, err) -> None:
    """Reports a bad pair on stderr with ``--skip-errors``; raises :class:`CliError` without."""
    message = f"{pair.where}: {describe(err)}" if pair.where else describe(err)
    if not args.skip_errors:
        raise CliError(message) from None
    warn(args.command, f"skipping {message}")


def pairs_option(args) -> tuple:
    """The pairs of ``--pairs CSV`` or ``MIX STEM...``, their files checked (headers only).

    A pair with a missing or unreadable file raises :class:`CliError` naming it (its CSV line),
    or with ``--skip-errors`` is reported on stderr and left out.

    Args:
        args (argparse.Namespace): parsed arguments with ``mix``, ``stem``, ``pairs`` and
            ``skip_errors``.

    Returns:
        tuple: ``(pairs, batch)``: the usable pairs, and whether the command was given more than
        one pair (several stems, a folder or a pairs file).

    Raises:
        CliError: a bad pairs file, a bad pair, or no usable pair.
    """
    with reported():
        pairs = read_pairs(args.pairs) if args.pairs else expand_pairs(args.mix, args.stem)
    batch = bool(args.pairs) or len(args.stem) > 1 or any(os.path.isdir(s) for s in args.stem)
    usable, checked = [], set()
    for pair in pairs:
        try:
            for path in (pair.mix, pair.stem):
                if path not in checked:
                    check_audio_file(path)
                    checked.add(path)
        except OSError as err:
            _skip_or_fail(args, pair, err)
            continue
        usable.append(pair)
    if not usable:
        raise CliError(f"no usable pair in {args.pairs or ' '.join(args.stem)}")
    return usable, batch


def each_pair(args, pairs, function):
    """Yields ``(pair, function(pair.mix, pair.stem))`` for every pair, with the CLI's errors.

    Args:
        args (argparse.Namespace): with ``command`` and ``skip_errors``.
        pairs (list of Pair): from :func:`pairs_option`.
        function (callable): raises ``ValueError`` / ``OSError`` for unusable audio.

    Raises:
        CliError: a pair fails (its message names the pair's CSV line), unless
            ``--skip-errors``, which reports it on stderr and goes on.
    """
    for pair in pairs:
        try:
            result = function(pair.mix, pair.stem)
        except (ValueError, OSError) as err:
            _skip_or_fail(args, pair, err)
            continue
        yield pair, result
