"""mirdata's generic loader contract (its test_loaders / test_full_dataset / test_core checks),
run on every loader of our registry over a complete fixture tree."""

import importlib
import inspect
import os

import numpy as np
import pytest
from data_fixtures import (
    GUITARSET_IDS,
    SLAKH_PITCHES,
    make_cocochorales,
    make_gtzan,
    make_guitarset,
    make_moisesdb,
    make_slakh,
)
from mirdata import core

from phalar_asteroid.data.datasets import DATASETS, data_home, dataset_licenses, initialize

MOISES_SONG = "00000000-0000-4000-8000-000000000000"


def build_moisesdb(root):
    make_moisesdb(root, 3, seconds=0.5)
    return data_home("moisesdb", root)


def build_cocochorales(root):
    make_cocochorales(root, {"train": [1], "valid": [192001]}, annotated=True)
    make_cocochorales(root, {"test": [216001]})
    return data_home("cocochorales", root)


def build_slakh(root):
    make_slakh(root, {"train": [1], "validation": [1501], "test": [1876]})
    make_slakh(root, {"test": [1877]}, all_src=False)
    return data_home("slakh16k", root)


def build_gtzan(root):
    make_gtzan(root)
    home = data_home("gtzan_genre", root)
    os.remove(os.path.join(home, "gtzan_tempo_beat-main", "tempo", "gtzan_hiphop_00001.bpm"))
    return home


def build_guitarset(root):
    return make_guitarset(root)


#: registry name -> (tree builder, cases of optional data that is absent: (kind, id, property)).
LOADERS = {
    "moisesdb": (build_moisesdb, [("multitrack", MOISES_SONG, "beats")]),
    "cocochorales": (
        build_cocochorales,
        [
            ("multitrack", "string_track216001", "chords"),
            ("multitrack", "string_track000001", "midi_path"),
            ("track", "string_track000001-0", "midi_path"),
        ],
    ),
    "slakh16k": (
        build_slakh,
        [
            ("multitrack", "Track01877", "midi"),
            ("multitrack", "Track01877", "notes"),
            ("multitrack", "Track01877", "multif0"),
            ("multitrack", "Track01876", "mix_path"),
            ("track", "Track00001-S04", "audio"),
        ],
    ),
    "gtzan_genre": (build_gtzan, [("track", "hiphop.00001", "tempo")]),
    "guitarset": (
        build_guitarset,
        [("track", GUITARSET_IDS[1], "audio_mix"), ("track", GUITARSET_IDS[1], "audio_hex")],
    ),
}
NAMES = sorted(DATASETS)


def test_every_registered_loader_is_covered():
    assert sorted(LOADERS) == NAMES


@pytest.fixture(params=NAMES)
def loader(request, tmp_path):
    """(name, module, data_home, index_dir, dataset) over a freshly built fixture tree."""
    name = request.param
    home = LOADERS[name][0](str(tmp_path / "data"))
    index_dir = str(tmp_path / "indexes")
    module = importlib.import_module(f"phalar_asteroid.data.datasets.{DATASETS[name][0]}")
    return name, module, home, index_dir, initialize(name, home, index_dir)


def properties(cls):
    """Public property and cached-property names of a Track or MultiTrack class."""
    return [
        name
        for name in dir(cls)
        if not name.startswith("_")
        and isinstance(inspect.getattr_static(cls, name), (property, core.cached_property))
    ]


def all_objects(dataset):
    tracks = [dataset.track(t) for t in dataset.track_ids]
    if dataset._multitrack_class is None:
        return tracks
    return tracks + [dataset.multitrack(m) for m in dataset.mtrack_ids]


def test_attributes(loader):
    name, module, home, index_dir, dataset = loader
    assert dataset.name == name and dataset.data_home == home
    assert dataset.version == module.VERSION
    assert dataset.index_path == os.path.join(index_dir, module.INDEX_FILENAME)
    assert dataset.bibtex.lstrip().startswith("@") and dataset.remotes is None
    assert dataset._license_info == module.LICENSE_INFO and dataset._download_info
    # One wording: mirdata's licence text is the Asteroid-style licence of the registry's table.
    assert [lic["license"] for lic in dataset_licenses(name)] == [module.LICENSE_INFO]
    assert issubclass(dataset._track_class, core.Track)
    assert dataset._multitrack_class is None or issubclass(dataset._multitrack_class, core.Track)
    assert len(dataset.track_ids) > 0 and name in repr(dataset)
    dataset.cite()
    dataset.license()


def test_validate_returns_one_empty_dict_per_index_key(loader):
    _, _, _, _, dataset = loader
    keys = sorted(key for key in dataset._index if key != "version")
    assert keys in (["tracks"], ["multitracks", "tracks"])
    missing, invalid = dataset.validate(verbose=False)
    assert missing == {key: {} for key in keys}
    assert invalid == {key: {} for key in keys}


def test_every_property_of_every_track_is_readable_and_typed(loader):
    _, _, _, _, dataset = loader
    for obj in all_objects(dataset):
        cls = type(obj)
        names = properties(cls)
        if not isinstance(obj, core.MultiTrack):
            assert "audio" in names or "audio_mic" in names
        for prop in names:
            getattr(obj, prop)
            owner = next(c for c in cls.__mro__ if prop in vars(c))
            if owner.__module__.startswith("phalar_asteroid"):
                doc = inspect.getattr_static(cls, prop).__doc__ or ""
                assert doc.split(":")[0].strip(), f"{cls.__name__}.{prop} has no 'Type:' line"
        repr(obj)


def test_audio_is_read(loader):
    _, _, _, _, dataset = loader
    track = dataset.track(sorted(dataset.track_ids)[0])
    audio, rate = track.audio_mic if hasattr(track, "audio_mic") else track.audio
    assert rate in (16000, 22050, 44100) and audio.shape[-1] > 0.4 * rate
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0


def test_absent_optional_data_is_none(loader):
    name, _, _, _, dataset = loader
    for kind, obj_id, prop in LOADERS[name][1]:
        obj = dataset.track(obj_id) if kind == "track" else dataset.multitrack(obj_id)
        assert getattr(obj, prop) is None, (kind, obj_id, prop)


def test_placeholder_data_home(loader, tmp_path):
    name, module, _, index_dir, _ = loader
    placeholder = module.Dataset(str(tmp_path / "not" / "a" / "real" / "path"), index_dir=index_dir)
    for obj in all_objects(placeholder):
        assert obj._data_home == placeholder.data_home
        for prop in properties(type(obj)):
            try:
                getattr(obj, prop)
            except OSError:
                pass
    track = placeholder.track(sorted(placeholder.track_ids)[0])
    with pytest.raises(OSError):
        track.audio_mic if hasattr(track, "audio_mic") else track.audio


def test_fake_ids_raise_value_error(loader):
    _, _, _, _, dataset = loader
    with pytest.raises(ValueError):
        dataset.track("~faketrackid~?!")
    if dataset._multitrack_class is not None:
        with pytest.raises(ValueError):
            dataset.multitrack("~fakemtrackid~?!")


def test_load_functions_raise_ioerror_on_missing_paths(loader):
    _, module, _, _, _ = loader
    loaders = [
        getattr(module, n)
        for n in dir(module)
        if n.startswith("load_") and callable(getattr(module, n))
    ]
    if not loaders:
        pytest.skip(f"{module.__name__} defines no load_ function (mirdata's are used)")
    checked = 0
    for load in loaders:
        required = [p for p in inspect.signature(load).parameters.values() if p.default is p.empty]
        if len(required) == 1:
            with pytest.raises(IOError):
                load("a/fake/filepath")
            checked += 1
    assert checked >= 1


def test_splits(loader):
    _, module, _, _, dataset = loader
    if dataset._multitrack_class is None:
        with pytest.raises(NotImplementedError):
            dataset.get_track_splits()
        assert module.track_ids(dataset, "all") == sorted(dataset.track_ids)
        return
    splits = dataset.get_mtrack_splits()
    assert set(splits) <= set(module.SPLITS.values())
    assert sorted(sum(splits.values(), [])) == sorted(dataset.mtrack_ids)
    for split, mtrack_ids in splits.items():
        assert module.track_ids(dataset, split) == sorted(mtrack_ids)
        for mtrack_id in mtrack_ids:
            mtrack = dataset.multitrack(mtrack_id)
            assert mtrack.split == split
            assert {t.split for t in mtrack.tracks.values()} <= {split}
    track_splits = dataset.get_track_splits()
    assert sorted(sum(track_splits.values(), [])) == sorted(dataset.track_ids)


def test_default_construction_builds_the_index(loader, tmp_path, monkeypatch):
    name, module, home, _, _ = loader
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    dataset = module.Dataset(home)
    dataset.download()
    assert dataset.index_path.startswith(str(tmp_path / "cache"))
    assert sorted(dataset.track_ids) == sorted(initialize(name, home).track_ids)
    assert dataset.validate(verbose=False)[1] == {k: {} for k in dataset._index if k != "version"}

    empty = module.Dataset(str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match=rf"initialize\('{name}'"):
        empty.track_ids


def test_slakh_notes_come_from_the_midi(tmp_path):
    home = build_slakh(str(tmp_path))
    dataset = initialize("slakh16k", home, str(tmp_path / "indexes"))
    piano = dataset.track("Track00001-S00").notes
    np.testing.assert_allclose(piano.intervals, [[0.0, 0.5], [0.5, 1.0]])
    np.testing.assert_array_equal(piano.pitches, [60, 64])
    assert dataset.track("Track00001-S02").notes is None  # drums are skipped
    mix_notes = dataset.multitrack("Track00001").notes
    assert len(mix_notes.intervals) == sum(len(p) for k, p in SLAKH_PITCHES.items() if k != "S02")
