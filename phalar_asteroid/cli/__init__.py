"""The ``phalar`` command line: embed, score, index, search and align audio with PHALAR.

:mod:`~phalar_asteroid.cli.parser` defines the grammar; each subcommand's module (``embed``,
``score``, ``index``, ``search``, ``align``) has a ``run(args)`` and is imported only when it runs.
Bad input raises :class:`~phalar_asteroid.cli.errors.CliError`, which :func:`main` prints as one
line on stderr (exit status 1); output files are written under a temporary name and renamed.
Each subcommand checks its input files and destinations before it imports torch and loads the
model (seconds), so a mistyped path is reported at once.
"""

import importlib
import sys
import warnings

from .errors import CliError
from .parser import parse_args


def main(argv=None) -> int:
    """Runs ``phalar`` with ``argv`` (default: ``sys.argv[1:]``).

    Args:
        argv (list, optional): command-line arguments.

    Returns:
        int: exit status (0 success, 1 bad input, 130 interrupted; argparse exits with 2 on bad
        usage).
    """
    args = parse_args(argv)
    # torchmetrics (imported by asteroid) warns about pkg_resources on import: noise for users.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    try:
        importlib.import_module(f".{args.command}", __name__).run(args)
    except CliError as err:
        print(f"phalar {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"phalar {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
