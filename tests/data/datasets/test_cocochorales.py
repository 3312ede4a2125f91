import os
import pickle

import numpy as np
import pytest

from phalar_asteroid.data.datasets import (
    DatasetError,
    Manifest,
    build_manifest,
    cocochorales,
    data_home,
    initialize,
)

from data_fixtures import RAMP_FRAMES

EMPTY = ({"tracks": {}, "multitracks": {}}, {"tracks": {}, "multitracks": {}})


def test_index_round_trip(coco_root, index_dir):
    dataset = initialize("cocochorales", data_home("cocochorales", coco_root), index_dir)
    assert dataset.validate(verbose=False) == EMPTY
    assert os.path.isfile(os.path.join(index_dir, "cocochorales_index_1.0.json"))
    assert len(dataset.mtrack_ids) == 6
    assert len(dataset.track_ids) == 24
    splits = dataset.get_mtrack_splits()
    assert sorted(splits["train"]) == [f"string_track00000{i}" for i in (1, 2, 3)]
    assert splits["valid"] == ["string_track192001"]
    assert len(splits["test"]) == 2

    track = dataset.track("string_track000001-2")
    assert (track.voice, track.instrument, track.program_number) == (2, "viola", 41)
    assert track.split == "train"
    audio, rate = track.audio
    assert rate == 16000 and audio.shape == (RAMP_FRAMES,)

    mtrack = dataset.multitrack("string_track216002")
    assert (mtrack.split, mtrack.ensemble, mtrack.tempo, mtrack.overall_gain) == (
        "test",
        "string",
        120.0,
        0.5,
    )
    assert mtrack.beats_path is None and mtrack.beats is None
    # Plain sum, not mirdata's default average (docs/data.md#mixing-is-a-plain-sum).
    mix = mtrack.get_target(mtrack.track_ids, average=False)
    np.testing.assert_allclose(mix[0], mtrack.audio[0], atol=1e-6)


def test_bogus_id_placeholder_home_and_fake_path(coco_root, index_dir, tmp_path):
    dataset = initialize("cocochorales", data_home("cocochorales", coco_root), index_dir)
    with pytest.raises(ValueError):
        dataset.track("string_track999999-0")
    # Same index, placeholder data_home: attributes work, reading raises.
    placeholder = cocochorales.Dataset(str(tmp_path / "placeholder"), index_dir=index_dir)
    track = placeholder.track("string_track000001-0")
    assert track.split == "train" and track.audio_path.startswith(str(tmp_path / "placeholder"))
    with pytest.raises(FileNotFoundError):
        track.audio
    with pytest.raises(DatasetError, match="missing metadata"):
        track.instrument
    with pytest.raises(FileNotFoundError):
        cocochorales.load_audio(str(tmp_path / "nope.wav"))
    assert cocochorales.load_audio(None) is None


def test_manifest(coco_root, index_dir, tmp_path):
    manifest = build_manifest("cocochorales", coco_root, "train", index_dir=index_dir)
    assert [t["track_id"] for t in manifest] == [f"string_track00000{i}" for i in (1, 2, 3)]
    track = manifest[0]
    assert track["dataset"] == "cocochorales" and track["split"] == "train"
    assert (track["sample_rate"], track["num_frames"], track["duration"]) == (16000, 48000, 3.0)
    assert [s["name"] for s in track["stems"]] == ["0_violin", "1_violin", "2_viola", "3_cello"]
    assert [s["program"] for s in track["stems"]] == [40, 40, 41, 42]
    assert track["stems"][3]["family"] == "cello" and track["stems"][3]["is_drum"] is False
    assert track["beats_path"] is None and track["chords_path"] is None
    assert track["corpus"] == "original"
    assert manifest.skipped == []

    path = str(tmp_path / "out" / "m.json")
    manifest.save(path)
    assert os.listdir(tmp_path / "out") == ["m.json"]
    loaded = Manifest.load(path)
    assert loaded == manifest and (loaded.dataset, loaded.split) == ("cocochorales", "train")
    clone = pickle.loads(pickle.dumps(manifest))
    assert clone == manifest and clone.split == "train"


def test_split_aliases(coco_root, index_dir):
    valid = build_manifest("cocochorales", coco_root, "validation", index_dir=index_dir)
    assert [t["track_id"] for t in valid] == ["string_track192001"]
    assert valid[0]["split"] == "valid"
    with pytest.raises(ValueError, match="no split"):
        build_manifest("cocochorales", coco_root, "all", index_dir=index_dir)


def test_annotated_flavour(chorale_root, tmp_path):
    manifest = build_manifest("cocochorales", chorale_root, "test", index_dir=str(tmp_path))
    assert len(manifest) == 3
    assert all(t["corpus"] == "embedded" for t in manifest)
    assert manifest[0]["beats_path"].endswith("beats.beats")
    dataset = initialize("cocochorales", data_home("cocochorales", chorale_root), str(tmp_path))
    mtrack = dataset.multitrack(manifest[0]["track_id"])
    assert mtrack.chords.labels[:2] == ["C:maj", "F:maj"]
    assert np.sum(mtrack.beats.positions == 1) == 8
