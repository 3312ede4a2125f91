"""``load_calibration``: a cache file that cannot be read is rebuilt, never a lasting error."""

import os

import numpy as np
import pytest

from phalar_asteroid.inference import calibration
from phalar_asteroid.inference.model import LoadedModel


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY", b"not a cache"])
def test_an_unreadable_cache_file_is_rebuilt(tmp_path, monkeypatch, content):
    loaded = LoadedModel(model=None, path="m.pth", fingerprint=f"{len(content):064x}")
    path = calibration.calibration_path(loaded.fingerprint)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fhandle:  # e.g. a disk that filled up while it was written
        fhandle.write(content)
    built = np.array([-1.0, 0.5, 2.0])
    monkeypatch.setattr(calibration, "random_pair_scores", lambda model, batch_size: built)
    np.testing.assert_array_equal(calibration.load_calibration(loaded), built)
    np.testing.assert_array_equal(np.load(path), built)  # rebuilt in place, read next time
    monkeypatch.setattr(calibration, "random_pair_scores", None)
    np.testing.assert_array_equal(calibration.load_calibration(loaded), built)
