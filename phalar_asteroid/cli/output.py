"""Output files that appear complete or not at all."""

import contextlib
import os
import tempfile

from .errors import CliError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str):
    """Yields a temporary path beside ``path`` and renames it over ``path`` on success.

    The temporary file keeps the destination's extension, so writers that infer a format from the
    name (e.g. matplotlib) work. On any error it is removed and ``path`` is left as it was.

    Args:
        path (str): destination file; missing parent folders are created.

    Yields:
        str: the temporary path to write to.
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=folder)
    except OSError as err:
        raise CliError(f"cannot write {path}: {err.strerror or err}") from None
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
