import random

import pytest
from data_fixtures import MOISES_RATE, make_moisesdb

from phalar_asteroid.data.datasets import build_manifest, data_home, initialize
from phalar_asteroid.data.datasets.moisesdb import split_song_ids

EMPTY = ({"tracks": {}, "multitracks": {}}, {"tracks": {}, "multitracks": {}})


def test_reference_split_procedure():
    ids = [f"song{i:03d}" for i in range(240)]
    splits = split_song_ids(reversed(ids))
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [192, 24, 24]
    # The reference script: sorted folders, global random.seed(42), shuffle, 80/10/rest.
    state = random.getstate()
    try:
        expected = sorted(ids)
        random.seed(42)
        random.shuffle(expected)
    finally:
        random.setstate(state)
    assert splits["train"] + splits["valid"] + splits["test"] == expected


def test_index_round_trip(tmp_path, index_dir):
    root = str(tmp_path)
    songs = make_moisesdb(root, 10)
    dataset = initialize("moisesdb", data_home("moisesdb", root), index_dir)
    assert dataset.validate(verbose=False) == EMPTY
    assert sorted(dataset.mtrack_ids) == sorted(songs)
    assert len(dataset.track_ids) == 40
    expected = split_song_ids(songs)
    assert {k: sorted(v) for k, v in dataset.get_mtrack_splits().items()} == {
        k: sorted(v) for k, v in expected.items()
    }

    song = sorted(songs)[0]
    mtrack = dataset.multitrack(song)
    assert (mtrack.song, mtrack.artist, mtrack.genre) == ("Song 0", "Nobody", "pop")
    track = dataset.track(f"{song}/bass/src0-0")
    assert (track.stem, track.track_type, track.has_bleed) == ("bass", "bass_guitar", True)
    assert track.split == mtrack.split
    audio, rate = track.audio
    assert rate == MOISES_RATE and audio.shape == (2, 2 * MOISES_RATE)


def test_manifest(tmp_path, index_dir):
    root = str(tmp_path)
    songs = make_moisesdb(root, 10)
    train = build_manifest("moisesdb", root, "train", index_dir=index_dir)
    assert [t["track_id"] for t in train] == sorted(split_song_ids(songs)["train"])
    track = train[0]
    assert track["sample_rate"] == MOISES_RATE
    # The shortest source (10 ms shorter) sets the track length.
    assert track["num_frames"] == 2 * MOISES_RATE - 441
    assert [s["family"] for s in track["stems"]] == ["bass", "drums", "drums", "vocals"]
    assert [s["has_bleed"] for s in track["stems"]] == [True, False, False, False]
    assert track["stems"][1]["instrument"] == "drum_machine"
    assert track["stems"][1]["name"].startswith("drums/src")


def test_recorded_split_of_embedded_flavour(tmp_path, index_dir):
    root = str(tmp_path)
    songs = sorted(make_moisesdb(root, 3, splits=["test", "train", "test"]))
    test = build_manifest("moisesdb", root, "test", index_dir=index_dir)
    assert [t["track_id"] for t in test] == [songs[0], songs[2]]


def test_missing_root(tmp_path, index_dir):
    from phalar_asteroid.data.datasets import DatasetError

    with pytest.raises(DatasetError, match="moisesdb_v0.1"):
        initialize("moisesdb", str(tmp_path / "nowhere"), index_dir)
