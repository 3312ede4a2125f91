import pytest
from data_fixtures import make_slakh

from phalar_asteroid.data.datasets import build_manifest, data_home, initialize

EMPTY = ({"tracks": {}, "multitracks": {}}, {"tracks": {}, "multitracks": {}})
TRACKS = {"train": [1, 2], "validation": [1501], "test": [1876]}


@pytest.mark.parametrize("ext", ["flac", "wav"])
def test_index_round_trip(tmp_path, index_dir, ext):
    root = str(tmp_path)
    make_slakh(root, TRACKS, ext=ext)
    dataset = initialize("slakh16k", data_home("slakh16k", root), index_dir)
    assert dataset.validate(verbose=False) == EMPTY
    assert "2100-redux" in dataset._index["version"]
    assert dataset.get_mtrack_splits()["validation"] == ["Track01501"]
    # S04 has MIDI but no audio: indexed with a null audio path (as mirdata does).
    assert dataset.track("Track00001-S04").audio_path is None
    track = dataset.track("Track00001-S02")
    assert (track.split, track.instrument, track.program_number, track.is_drum) == (
        "train",
        "Drums",
        128,
        True,
    )
    assert track.mixing_group == "drums"
    audio, rate = track.audio
    assert rate == 16000 and audio.shape[-1] == 48000
    mtrack = dataset.multitrack("Track01876")
    assert (mtrack.split, mtrack.overall_gain, mtrack.uuid) == ("test", 0.7, "uuid1876")
    assert mtrack.mix_path is None


def test_manifest(tmp_path, index_dir):
    root = str(tmp_path)
    make_slakh(root, TRACKS)
    manifest = build_manifest("slakh16k", root, "valid", index_dir=index_dir)
    assert [t["track_id"] for t in manifest] == ["Track01501"]
    track = manifest[0]
    assert track["split"] == "valid" and track["dataset"] == "slakh16k"
    assert [s["name"] for s in track["stems"]] == ["S00", "S01", "S02", "S03"]
    assert [s["family"] for s in track["stems"]] == ["Piano", "Bass", "Drums", "Guitar"]
    assert [s["is_drum"] for s in track["stems"]] == [False, False, True, False]
    assert track["stems"][1]["program"] == 33
    assert track["stems"][0]["path"].endswith("Track01501/stems/S00.flac")
    assert (track["sample_rate"], track["num_frames"]) == (16000, 48000)
    assert track["overall_gain"] == 0.7
    assert len(build_manifest("slakh16k", root, "train", index_dir=index_dir)) == 2
