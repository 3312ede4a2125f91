"""The error type that ``phalar`` reports as a one-line message instead of a traceback."""


class CliError(Exception):
    """Bad input or an unusable file; the message names the file or argument at fault.

    :func:`phalar_asteroid.cli.main` prints it on stderr and exits with status 1.
    """
