"""Reading manifest tracks: stem files that changed after the manifest was written are named."""

import os
import re

import numpy as np
import pytest
import soundfile as sf
from data_fixtures import RAMP_FRAMES, RATE

from phalar_asteroid.data.datasets import build_manifest
from phalar_asteroid.data.datasets.stems import load_mix, load_stems


@pytest.fixture
def track(coco_root, index_dir):
    """The first train track of the ramp CocoChorales tree (4 stems of 3 s at 16 kHz)."""
    return build_manifest("cocochorales", coco_root, "train", index_dir=index_dir)[0]


def test_unchanged_files_load(track):
    audio = load_stems(track, 0, 1.0)
    assert audio.shape == (4, RATE) and audio.dtype == np.float32
    assert [stem["num_frames"] for stem in track["stems"]] == [RAMP_FRAMES] * 4
    stems = [{k: v for k, v in stem.items() if k != "num_frames"} for stem in track["stems"]]
    old = {**track, "stems": stems}
    np.testing.assert_array_equal(load_stems(old, 0, 1.0), audio)  # manifests of before


@pytest.mark.parametrize(
    "frames, rate, found",
    [
        (RAMP_FRAMES // 2, RATE, f"{RATE} Hz, {RAMP_FRAMES // 2} frames"),  # shortened
        (RAMP_FRAMES + 800, RATE, f"{RATE} Hz, {RAMP_FRAMES + 800} frames"),  # re-rendered longer
        (RAMP_FRAMES, 22050, f"22050 Hz, {RAMP_FRAMES} frames"),  # resampled
    ],
)
def test_a_changed_stem_file_is_named(track, frames, rate, found):
    path = track["stems"][1]["path"]
    sf.write(path, np.zeros(frames, dtype=np.float32), rate, subtype="FLOAT")
    expected = (
        f"track {track['track_id']} of cocochorales: its stem files changed after the manifest "
        f"was written: {path} ({found}; manifest: {RATE} Hz, {RAMP_FRAMES} frames)"
    )
    for load in (lambda: load_stems(track, 0, 1.0), lambda: load_mix(track)):
        with pytest.raises(ValueError, match=re.escape(expected)) as error:
            load()
        assert "rerun the data stage" in str(error.value)
    # Only the named stems are read: the others load as before.
    others = [stem["name"] for stem in track["stems"] if stem["path"] != path]
    assert load_stems(track, 0, 1.0, others).shape == (3, RATE)


def test_every_changed_file_is_named_and_a_missing_one_too(track):
    first, last = track["stems"][0]["path"], track["stems"][3]["path"]
    sf.write(first, np.zeros(100, dtype=np.float32), RATE, subtype="FLOAT")
    os.remove(last)
    with pytest.raises(ValueError) as error:
        load_stems(track, 0, 1.0)
    message = str(error.value)
    assert f"{first} ({RATE} Hz, 100 frames;" in message
    assert f"{last} (missing)" in message
    assert "rerun the data stage" in message and message.count(f"track {track['track_id']}") == 1
