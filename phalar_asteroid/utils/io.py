"""Output that appears complete or not at all, fingerprints of files, and truncated input.

Every writer of the package and its recipes goes through :func:`atomic_output`: an interrupted
run, a full disk or a bad argument never leaves a half-written file (or library folder) under
its final name, and a previous complete output is kept until the new one is ready. Every reader
of audio (the dataset manifests, inference) refuses what :func:`audio_truncated` finds cut short.
"""

import contextlib
import dataclasses
import errno
import hashlib
import json
import math
import os
import shutil
import struct
import tempfile

TEMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path: str):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def _replace_folder(tmp: str, path: str):
    """Renames folder ``tmp`` over ``path``; an existing ``path`` is kept until that succeeds."""
    if not os.path.exists(path):
        os.replace(tmp, path)
        return
    aside = tempfile.mkdtemp(prefix=".old-", dir=os.path.dirname(path))
    old = os.path.join(aside, os.path.basename(path))
    os.replace(path, old)
    try:
        os.replace(tmp, path)
    except OSError:
        os.replace(old, path)  # put the previous output back
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def atomic_output(path: str, folder: bool = False):
    """Yields a temporary path beside ``path`` and renames it over ``path`` when the block succeeds.

    A temporary file keeps the destination's extension, so writers that infer a format from the
    name (``np.save``, matplotlib) work. A temporary folder starts empty; an existing folder at
    ``path`` is replaced only once the new one is complete. On any error the temporary output
    is removed and ``path`` is left as it was. Both get the usual permissions (umask), not the
    private ones of :mod:`tempfile`.

    Args:
        path (str): destination file or folder; missing parent folders are created.
        folder (bool): the output is a folder rather than a file.

    Yields:
        str: the temporary path to write to.

    Raises:
        IsADirectoryError: ``path`` is a directory and ``folder`` is False.
        OSError: the parent folder cannot be created or written (the message names ``path``).
    """
    if not folder and os.path.isdir(path):
        raise IsADirectoryError(
            errno.EISDIR, f"cannot write {path}: it is a directory; name a file (in it)"
        )
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
        if folder:
            tmp = tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent)
        else:
            fd, tmp = tempfile.mkstemp(
                prefix=TEMP_PREFIX, suffix=os.path.splitext(path)[1], dir=parent
            )
            os.close(fd)
    except OSError as err:
        raise OSError(err.errno, f"cannot write {path}: {err.strerror or err}") from None
    try:
        yield tmp
        os.chmod(tmp, (0o777 if folder else 0o666) & ~_umask())
        if folder:
            _replace_folder(tmp, os.path.abspath(path))
        else:
            os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def check_writable(path: str, folder: bool = False) -> None:
    """Raises unless :func:`atomic_output` can (most likely) write ``path``; writes nothing.

    Lets a command refuse a bad destination before it spends minutes computing what goes there.

    Args:
        path (str): destination file or folder (missing parent folders would be created).
        folder (bool): the output is a folder rather than a file.

    Raises:
        IsADirectoryError: a file destination that is an existing folder.
        NotADirectoryError: a folder destination that is an existing file, or a parent that is
            not a folder.
        PermissionError: the nearest existing parent folder cannot be written.
    """
    if os.path.isdir(path) and not folder:
        raise IsADirectoryError(f"{path}: is a folder, not a file to write")
    if os.path.exists(path) and not os.path.isdir(path) and folder:
        raise NotADirectoryError(f"{path}: exists and is not a folder")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise NotADirectoryError(f"cannot write {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: {parent}: permission denied")


def to_jsonable(obj):
    """``obj`` in plain JSON types, for :func:`json.dumps` with ``allow_nan=False``.

    A dataclass becomes a dict of its fields and its properties (so fields added later appear
    without a change here); numpy arrays become lists, numpy scalars Python numbers, NaN and
    infinities ``None``; dicts, lists and tuples are converted item by item.

    Args:
        obj: a dataclass instance, numpy value, container or plain value.

    Returns:
        A structure of dicts, lists, str, int, float, bool and None.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        for name in dir(type(obj)):
            if not name.startswith("_") and isinstance(getattr(type(obj), name), property):
                out[name] = to_jsonable(getattr(obj, name))
        return out
    if isinstance(obj, dict):
        return {str(key): to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(value) for value in obj]
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays and scalars
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(obj, path: str, **dump_kwargs) -> None:
    """Writes ``obj`` as JSON (and a final newline) through :func:`atomic_output`.

    Args:
        obj: JSON-serialisable object.
        path (str): destination; its folder is created when needed.
        **dump_kwargs: passed to :func:`json.dump`.
    """
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fhandle:
            json.dump(obj, fhandle, **dump_kwargs)
            fhandle.write("\n")


def file_stat(path: str) -> tuple:
    """``(size in bytes, modification time in ns)`` of a file: what tells that it changed.

    Args:
        path (str): the file.

    Returns:
        tuple: ``(st_size, st_mtime_ns)``.
    """
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


def sha256_file(path: str) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks (identifies exact model weights).

    Args:
        path (str): the file.

    Returns:
        str: hexadecimal digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fhandle:
        for block in iter(lambda: fhandle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: Container (first 4 bytes), its form types, byte order of its chunk sizes and its sample chunk.
_SAMPLE_CHUNKS = {
    b"RIFF": ((b"WAVE",), "<", b"data"),
    b"FORM": ((b"AIFF", b"AIFC"), ">", b"SSND"),
}


def audio_truncated(path: str) -> bool:
    """Whether a WAV or AIFF file's sample chunk claims more bytes than the file holds.

    libsndfile silently shortens such files, so neither ``soundfile.info`` nor reading the file
    can see a truncation. Other formats (RF64, FLAC, MP3, …) are not checked: False.

    Args:
        path (str): an audio file.

    Returns:
        bool: True when the file was cut short.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as fhandle:
        header = fhandle.read(12)
        if header[:4] not in _SAMPLE_CHUNKS:
            return False  # RF64 and others: no 32-bit size to compare against.
        forms, order, sample_chunk = _SAMPLE_CHUNKS[header[:4]]
        if header[8:12] not in forms:
            return False
        while True:
            header = fhandle.read(8)
            if len(header) < 8:
                return False
            chunk_id, chunk_size = header[:4], struct.unpack(order + "I", header[4:])[0]
            if chunk_id == sample_chunk:
                # 0 and 0xFFFFFFFF are streaming placeholders, not real sizes.
                if chunk_size in (0, 0xFFFFFFFF):
                    return False
                return fhandle.tell() + chunk_size > size
            fhandle.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)
