"""Atomic output: complete or absent, for files and folders; JSON; file fingerprints; truncated
audio files."""

import dataclasses
import hashlib
import json
import os

import numpy as np
import pytest
import soundfile as sf

from phalar_asteroid.utils.io import (
    atomic_output,
    audio_truncated,
    check_writable,
    sha256_file,
    to_jsonable,
    write_json,
)


def test_file_appears_only_when_complete(tmp_path):
    path = tmp_path / "sub" / "out.npz"
    with atomic_output(str(path)) as tmp:
        assert tmp.endswith(".npz") and os.path.dirname(tmp) == str(path.parent)
        with open(tmp, "w") as fhandle:
            fhandle.write("new")
        assert not path.exists()
    assert path.read_text() == "new" and os.listdir(path.parent) == ["out.npz"]
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("previous")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_output(str(path)) as tmp:
            with open(tmp, "w") as fhandle:
                fhandle.write("half")
            raise RuntimeError("disk full")
    assert path.read_text() == "previous" and os.listdir(tmp_path) == ["out.txt"]


def test_folder_replaces_the_previous_one_only_when_complete(tmp_path):
    path = tmp_path / "lib"
    path.mkdir()
    (path / "old.npy").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(str(path), folder=True) as tmp:
            open(os.path.join(tmp, "new.npy"), "w").close()
            raise KeyboardInterrupt
    assert os.listdir(path) == ["old.npy"] and os.listdir(tmp_path) == ["lib"]
    with atomic_output(str(path), folder=True) as tmp:
        assert os.listdir(tmp) == []
        open(os.path.join(tmp, "new.npy"), "w").close()
    assert os.listdir(path) == ["new.npy"] and os.listdir(tmp_path) == ["lib"]


def test_unwritable_parent_names_the_destination(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match="cannot write .*file/out.txt"):
        with atomic_output(str(blocker / "out.txt")):
            pass


def test_write_json_and_fingerprint(tmp_path):
    path = tmp_path / "a.json"
    write_json({"b": 1, "a": [1, 2]}, str(path), sort_keys=True)
    assert path.read_text() == '{"a": [1, 2], "b": 1}\n'
    assert json.loads(path.read_text()) == {"a": [1, 2], "b": 1}
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(3 << 20))  # several read blocks
    assert sha256_file(str(blob)) == hashlib.sha256(blob.read_bytes()).hexdigest()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_check_writable_refuses_what_atomic_output_could_not_write(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    check_writable(str(tmp_path / "new" / "deeper" / "out.npz"))  # parents would be created
    check_writable(str(tmp_path / "file.txt"))  # replaced
    check_writable(str(tmp_path / "lib"), folder=True)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        check_writable(str(tmp_path))
    with pytest.raises(NotADirectoryError, match="exists and is not a folder"):
        check_writable(str(tmp_path / "file.txt"), folder=True)
    with pytest.raises(NotADirectoryError, match="file.txt is not a folder"):
        check_writable(str(tmp_path / "file.txt" / "out.npz"))
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(PermissionError, match="permission denied"):
            check_writable(str(locked / "out.npz"))
    assert sorted(os.listdir(tmp_path)) == ["file.txt"] + (["locked"] if os.geteuid() else [])


def test_to_jsonable_takes_dataclass_fields_and_properties():
    @dataclasses.dataclass
    class Result:
        curve: object
        count: object

        @property
        def peak(self):
            return np.nanmax(self.curve)

    value = to_jsonable([Result(np.array([1.0, np.nan, 3.0]), np.int64(2)), {"x": (np.inf,)}])
    assert value == [dict(curve=[1.0, None, 3.0], count=2, peak=3.0), {"x": [None]}]
    json.dumps(value, allow_nan=False)


@pytest.mark.parametrize("fmt", ["WAV", "AIFF"])
def test_audio_truncated_reads_the_sample_chunk_size(tmp_path, fmt):
    path = tmp_path / f"tone.{fmt.lower()}"
    sf.write(path, np.full(4000, 0.1, np.float32), 16000, format=fmt)
    assert not audio_truncated(str(path))
    with open(path, "r+b") as fhandle:  # libsndfile reads what is left without a word
        fhandle.truncate(int(0.4 * os.path.getsize(path)))
    assert audio_truncated(str(path)) and sf.info(str(path)).frames < 4000
    flac = tmp_path / "tone.flac"  # no chunk sizes to compare against
    sf.write(flac, np.full(4000, 0.1, np.float32), 16000)
    assert not audio_truncated(str(flac))


def test_a_directory_in_the_way_is_named_and_kept(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError, match=f"cannot write {tmp_path / 'out'}: it is a dir"):
        with atomic_output(str(tmp_path / "out")) as tmp:
            open(tmp, "w").close()
    assert os.listdir(tmp_path) == ["out"] and os.listdir(tmp_path / "out") == []
