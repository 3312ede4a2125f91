import numpy as np
import pytest
from data_fixtures import GTZAN_RATE, GUITARSET_IDS, make_gtzan, make_guitarset

from phalar_asteroid.data.datasets import build_manifest, data_home, initialize

EMPTY = ({"tracks": {}}, {"tracks": {}})


def test_gtzan(tmp_path, index_dir):
    root = str(tmp_path)
    ids = make_gtzan(root)
    dataset = initialize("gtzan_genre", data_home("gtzan_genre", root), index_dir)
    assert dataset.validate(verbose=False) == EMPTY
    assert sorted(dataset.track_ids) == sorted(ids)
    track = dataset.track("hiphop.00001")
    assert track.genre == "hip-hop"
    # mirdata's own loader fails on numpy 2.4 (docs/data.md#gtzan-tempo-on-numpy-2)
    assert track.tempo == 120.5
    np.testing.assert_allclose(track.beats.times, [0.0, 0.5])
    np.testing.assert_array_equal(track.beats.positions, [1, 2])

    manifest = build_manifest("gtzan_genre", root, "all", index_dir=index_dir)
    assert len(manifest) == 4
    entry = manifest.by_id()["country.00000"]
    assert (entry["sample_rate"], entry["num_frames"], entry["split"]) == (GTZAN_RATE, 22050, "all")
    assert entry["beats_path"].endswith("gtzan_country_00000.beats")
    assert entry["tempo"] == 120.5 and entry["genre"] == "country"
    with pytest.raises(ValueError):
        build_manifest("gtzan_genre", root, "train", index_dir=index_dir)


def test_guitarset(tmp_path, index_dir):
    root = str(tmp_path)
    home = make_guitarset(root)
    dataset = initialize("guitarset", home, index_dir)
    assert dataset.validate(verbose=False) == EMPTY
    track = dataset.track(GUITARSET_IDS[0])
    assert (track.mode, track.player_id, track.style, track.tempo) == (
        "comp",
        "00",
        "Bossa Nova",
        129.0,
    )
    assert track.audio_mix_path.endswith(f"{GUITARSET_IDS[0]}_mix.wav")
    assert dataset.track(GUITARSET_IDS[1]).audio_mix_path is None
    assert track.leadsheet_chords.labels == ["Eb:maj7"]
    assert track.inferred_chords.labels == ["Eb:maj7/3"]

    manifest = build_manifest("guitarset", root, "all", index_dir=index_dir)
    assert [t["track_id"] for t in manifest] == sorted(GUITARSET_IDS)
    assert manifest[0]["jams_path"].endswith(f"{GUITARSET_IDS[0]}.jams")
    assert manifest[1]["mode"] == "solo" and manifest[0]["sample_rate"] == 44100
