"""``load_audio``: every unusable file is refused with a message that names it."""

import numpy as np
import pytest
import soundfile as sf

from phalar_asteroid.inference.audio import load_audio

SR = 16000


def cut(source, path, fraction=0.4):
    """A copy of ``source`` holding only the first ``fraction`` of its bytes."""
    with open(source, "rb") as fhandle:
        data = fhandle.read()
    path.write_bytes(data[: int(fraction * len(data))])
    return str(path)


@pytest.mark.parametrize("fmt", ["WAV", "AIFF"])
def test_truncated_files_are_refused(audio, tmp_path, fmt):
    # libsndfile reads what is left of such a file without a word: a confident wrong score.
    source = tmp_path / f"mix.{fmt.lower()}"
    sf.write(source, sf.read(audio["mix"], dtype="float32")[0], SR, format=fmt)
    assert len(load_audio(str(source), SR)) == 16 * SR
    truncated = cut(source, tmp_path / f"cut.{fmt.lower()}")
    assert 0 < sf.info(truncated).frames < 16 * SR
    with pytest.raises(OSError, match=f"{truncated}: truncated audio file"):
        load_audio(truncated, SR)


def test_a_folder_is_named_as_one(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"{tmp_path}: is a folder, not an audio file"):
        load_audio(str(tmp_path), SR)
    with pytest.raises(FileNotFoundError, match="missing.wav: no such file"):
        load_audio(str(tmp_path / "missing.wav"), SR)
    sf.write(tmp_path / "ok.wav", np.full(SR, 0.1, np.float32), SR)
    assert load_audio(str(tmp_path / "ok.wav"), SR).shape == (SR,)
