import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
from data_fixtures import make_slakh  # noqa: E402

from phalar_asteroid.recipe_utils import band_manifest  # noqa: E402

TRACKS = {"train": [1, 2], "validation": [1501], "test": [1876]}


def test_band_manifest_splits(tmp_path):
    make_slakh(str(tmp_path), TRACKS)
    index_dir = str(tmp_path / "indexes")
    ids = {
        split: [t["track_id"] for t in band_manifest(str(tmp_path), split, index_dir)]
        for split in ("train", "valid,test", "all")
    }
    assert ids["train"] == ["Track00001", "Track00002"]
    assert ids["valid,test"] == ["Track01501", "Track01876"]  # the pieces train never saw
    assert sorted(ids["all"]) == ["Track00001", "Track00002", "Track01501", "Track01876"]
    for bad in ("validation", "train,", ""):
        with pytest.raises(ValueError, match="expected 'all' or a comma-separated list"):
            band_manifest(str(tmp_path), bad, index_dir)
    with pytest.raises(FileNotFoundError, match="No band corpus under"):
        band_manifest(str(tmp_path / "nowhere"), "all", index_dir)
