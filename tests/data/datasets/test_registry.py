import os

import pytest
from data_fixtures import make_cocochorales

from phalar_asteroid.data.datasets import (
    PACKAGE_INDEX_DIR,
    build_manifest,
    DATASETS,
    canonical_split,
    data_home,
    dataset_licenses,
    initialize,
)
from phalar_asteroid.data.datasets.common import EMBEDDED_LICENSES, default_index_dir

LICENSE_KEYS = {
    "title",
    "title_link",
    "author",
    "author_link",
    "license",
    "license_link",
    "non_commercial",
}


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown dataset"):
        data_home("musdb", "/data")
    with pytest.raises(ValueError, match="no split"):
        canonical_split("slakh16k", "omitted")
    assert canonical_split("slakh16k", "validation") == "valid"
    assert canonical_split("guitarset", "all") == "all"


def test_licences_come_from_the_loaders():
    for name in DATASETS:
        (licence,) = dataset_licenses(name)
        assert set(licence) == LICENSE_KEYS and licence["license"]
        assert dataset_licenses(name, corpus="embedded") == EMBEDDED_LICENSES
    assert dataset_licenses("moisesdb")[0]["non_commercial"] is True
    assert dataset_licenses("slakh16k")[0]["non_commercial"] is False
    assert all(set(licence) == LICENSE_KEYS for licence in EMBEDDED_LICENSES)
    with pytest.raises(ValueError, match="unknown dataset"):
        dataset_licenses("musdb")


def test_other_mirdata_names_pass_through(tmp_path):
    dataset = initialize("beatles", str(tmp_path))
    assert dataset.name == "beatles" and dataset.data_home == str(tmp_path)


def test_default_index_lives_in_the_user_cache(coco_root, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    home = data_home("cocochorales", coco_root)
    dataset = initialize("cocochorales", home)
    folder = default_index_dir(home)
    assert folder.startswith(str(tmp_path / "cache"))
    assert dataset.index_path == os.path.join(folder, "cocochorales_index_1.0.json")
    assert os.path.isfile(dataset.index_path)
    assert "site-packages" not in dataset.index_path
    assert default_index_dir(str(tmp_path / "other")) != folder
    assert PACKAGE_INDEX_DIR.endswith(os.path.join("phalar_asteroid", "data", "indexes"))


def test_index_is_reused_until_rebuilt(coco_root, index_dir):
    assert len(build_manifest("cocochorales", coco_root, "test", index_dir=index_dir)) == 2
    make_cocochorales(coco_root, {"test": [216003]})
    assert len(build_manifest("cocochorales", coco_root, "test", index_dir=index_dir)) == 2
    rebuilt = build_manifest(
        "cocochorales", coco_root, "test", index_dir=index_dir, rebuild_index=True
    )
    assert len(rebuilt) == 3


def test_checksums_are_added_when_asked_for(coco_root, index_dir):
    # build_manifest hashes nothing; the index it leaves has no md5s ...
    build_manifest("cocochorales", coco_root, "test", index_dir=index_dir)
    home = data_home("cocochorales", coco_root)
    missing, invalid = initialize("cocochorales", home, index_dir, checksums=False).validate(
        verbose=False
    )
    assert missing == {"tracks": {}, "multitracks": {}} and len(invalid["tracks"]) == 24
    # ... and initialize() with checksums rebuilds it with them.
    assert initialize("cocochorales", home, index_dir).validate(verbose=False)[1] == {
        "tracks": {},
        "multitracks": {},
    }
