"""Every kind of bad input gives a DatasetError naming the path, or a counted skip."""

import glob
import os

import numpy as np
import pytest
from data_fixtures import make_cocochorales, make_moisesdb, make_slakh

from phalar_asteroid.data.datasets import DatasetError, build_manifest
from phalar_asteroid.data.datasets.moisesdb import split_song_ids


def _coco(root):
    folders = make_cocochorales(root, {"train": [1, 2, 3]})
    return "cocochorales", "train", folders, "stems_audio/*.wav", "metadata.yaml"


def _slakh(root):
    folders = make_slakh(root, {"train": [1, 2, 3]})
    return "slakh16k", "train", folders, "stems/*.flac", "metadata.yaml"


def _moisesdb(root):
    # Real flavour (no recorded split): a broken song keeps its place in the reference split.
    folders = make_moisesdb(root, 4)
    train = {song: folders[song] for song in split_song_ids(folders)["train"]}
    return "moisesdb", "train", train, "*/*.wav", "data.json"


LAYOUTS = {"cocochorales": _coco, "slakh16k": _slakh, "moisesdb": _moisesdb}


@pytest.fixture(params=sorted(LAYOUTS))
def tree(request, tmp_path):
    root = str(tmp_path / "data")
    name, split, folders, stem_glob, metadata = LAYOUTS[request.param](root)
    folder = folders[sorted(folders)[1]]
    stem = sorted(glob.glob(os.path.join(folder, stem_glob)))[-1]
    return {
        "name": name,
        "root": root,
        "split": split,
        "folder": folder,
        "stem": stem,
        "metadata": os.path.join(folder, metadata),
        "index_dir": str(tmp_path / "indexes"),
    }


def _build(tree, strict=True):
    return build_manifest(
        tree["name"], tree["root"], tree["split"], strict=strict, index_dir=tree["index_dir"]
    )


def _truncate(path):
    with open(path, "r+b") as fhandle:
        fhandle.truncate(os.path.getsize(path) // 2)


def _corrupt(path):
    with open(path, "wb") as fhandle:
        fhandle.write(np.random.default_rng(0).bytes(2000))


def _empty_folder(tree):
    """Remove everything from the track folder, leaving it empty."""
    for path in sorted(glob.glob(os.path.join(tree["folder"], "**"), recursive=True), reverse=True):
        if path.rstrip("/") != tree["folder"].rstrip("/"):
            (os.rmdir if os.path.isdir(path) else os.remove)(path)
    return tree["folder"]


def _unparsable_metadata(tree):
    with open(tree["metadata"], "w") as fhandle:
        fhandle.write("@@ {not: [valid\n")
    return tree["metadata"]


BREAKAGES = {
    "missing stem": (lambda t: os.remove(t["stem"]) or t["stem"], "missing stem file"),
    "truncated audio": (lambda t: _truncate(t["stem"]) or t["stem"], "truncated|corrupt"),
    "corrupt audio": (lambda t: _corrupt(t["stem"]) or t["stem"], "corrupt"),
    "empty folder": (_empty_folder, "empty track folder"),
    "unparsable metadata": (_unparsable_metadata, "unparsable metadata"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_bad_track_raises_or_is_skipped(tree, breakage):
    breaker, message = BREAKAGES[breakage]
    path = breaker(tree)
    with pytest.raises(DatasetError, match=message) as info:
        _build(tree)
    assert path in str(info.value)
    with pytest.warns(UserWarning, match="skipped 1 of 3"):
        manifest = _build(tree, strict=False)
    assert len(manifest) == 2 and len(manifest.skipped) == 1
    assert path in manifest.skipped[0]["error"]
    assert os.path.basename(tree["folder"]) not in {t["track_id"] for t in manifest}


def test_stray_macos_files_are_ignored(tree):
    stem_dir = os.path.dirname(tree["stem"])
    for junk in (
        os.path.join(stem_dir, "._" + os.path.basename(tree["stem"])),
        tree["folder"] + "/._x",
    ):
        with open(junk, "wb") as fhandle:
            fhandle.write(b"\x00\x05\x16\x07 not audio")
    os.makedirs(os.path.join(os.path.dirname(tree["folder"]), "._hidden_track"))
    reference = [len(t["stems"]) for t in _build(tree)]
    assert reference == [4, 4, 4]


@pytest.mark.parametrize("junk", ["@", "\x00", "\udcff"])
def test_leading_junk_in_metadata_is_stripped(tree, junk):
    with open(tree["metadata"], encoding="utf-8") as fhandle:
        text = fhandle.read()
    data = junk.encode("utf-8", "surrogateescape") + text.encode("utf-8")
    with open(tree["metadata"], "wb") as fhandle:
        fhandle.write(data)
    manifest = _build(tree)
    assert [len(t["stems"]) for t in manifest] == [4, 4, 4]
