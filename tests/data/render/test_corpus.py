"""Tests of the corpus entry point: track folders, determinism, resume and argument checks."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from render_fixtures import (
    COCO_DIR,
    N_TRACKS,
    SECONDS,
    SEED,
    SLAKH_DIR,
    coco_tracks,
    md5_tree,
    slakh_tracks,
)

from phalar_asteroid.data.render import main, render_corpus


def test_native_summary_and_track_folders(native):
    out, summary = native
    assert summary["tracks_planned"] == N_TRACKS
    assert summary["tracks_rendered"] == N_TRACKS
    assert summary["tracks_skipped"] == summary["tracks_failed"] == 0
    assert summary["audio_seconds"] == pytest.approx(N_TRACKS * SECONDS)
    # Track 0 is a train chorale, 1 a validation band track, 2 a test chorale.
    coco = [str(p.relative_to(out / COCO_DIR)) for p in coco_tracks(out)]
    assert [re.sub(r"^\w+?_", "ENS_", Path(p).name) for p in coco] == [
        "ENS_track000002",
        "ENS_track000001",
    ]
    assert [Path(p).parent.name for p in coco] == ["test", "train"]
    assert [str(p.relative_to(out / SLAKH_DIR)) for p in slakh_tracks(out)] == [
        "validation/Track00001"
    ]


def test_same_seed_same_bytes_other_seed_differs(native, tmp_path):
    out, _ = native
    again = tmp_path / "again"
    # Two workers, and a shorter corpus: the plan of 2 tracks is the start of the plan of 3.
    render_corpus(again, 2, SEED, workers=2, max_seconds=SECONDS)
    reference, repeat = md5_tree(out), md5_tree(again)
    assert len(repeat) > 20
    assert repeat == {path: reference[path] for path in repeat}

    other = tmp_path / "other"
    render_corpus(other, 1, SEED + 1, workers=1, max_seconds=SECONDS)
    mixes = {digest for path, digest in md5_tree(other).items() if "mix." in path}
    assert mixes and not mixes & set(reference.values())


def test_rerun_skips_finished_tracks_and_cleans_temp_folders(native, tmp_path):
    out, _ = native
    copy = tmp_path / "corpus"
    shutil.copytree(out, copy)
    stale = copy / SLAKH_DIR / "train" / ".tmp-Track00042"
    stale.mkdir(parents=True)
    (stale / "S00.flac").write_bytes(b"half written")
    shutil.rmtree(slakh_tracks(copy)[0])

    summary = render_corpus(copy, N_TRACKS, SEED, workers=1, max_seconds=SECONDS)
    assert summary["tracks_skipped"] == N_TRACKS - 1
    assert summary["tracks_rendered"] == 1
    assert summary["stale_temp_removed"] == 1
    assert not stale.exists()
    assert md5_tree(copy) == md5_tree(out)

    summary = render_corpus(copy, N_TRACKS, SEED, workers=1, max_seconds=SECONDS)
    assert (summary["tracks_skipped"], summary["tracks_rendered"]) == (N_TRACKS, 0)


def test_other_settings_in_a_finished_folder_are_refused(native):
    out, _ = native
    with pytest.raises(ValueError, match="seed"):
        render_corpus(out, N_TRACKS, SEED + 1, workers=1, max_seconds=SECONDS)


def test_bad_out_names_the_path(tmp_path, capsys):
    target = tmp_path / "a_file"
    target.write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=re.escape(str(target))):
        render_corpus(target, 1, SEED)
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(target), "--n-tracks", "1"])
    assert exit_info.value.code == 2
    assert str(target) in capsys.readouterr().err
