"""The error type that ``phalar`` reports as a one-line message instead of a traceback."""

import contextlib
import sys


class CliError(Exception):
    """Bad input or an unusable file; the message names the file or argument at fault.

    :func:`phalar_asteroid.cli.main` prints it on stderr and exits with status 1.
    """


def describe(err: Exception) -> str:
    """One line for an error of the inference layer (``OSError`` from the system included)."""
    if isinstance(err, OSError) and err.strerror:
        # The system's own errors read "[Errno 13] Permission denied: 'x'": name the file first.
        return f"{err.filename}: {err.strerror}" if err.filename else err.strerror
    return str(err)


@contextlib.contextmanager
def reported(argument: str = None):
    """Re-raises the ``ValueError`` / ``OSError`` of the block as :class:`CliError`.

    Args:
        argument (str, optional): prefix of the message, e.g. ``"--library lib/"``.
    """
    try:
        yield
    except (ValueError, OSError) as err:
        message = describe(err)
        raise CliError(f"{argument} {message}" if argument else message) from None


def warn(command: str, message: str) -> None:
    """Prints ``phalar COMMAND: MESSAGE`` on stderr: something skipped, the command goes on."""
    print(f"phalar {command}: {message}", file=sys.stderr)
