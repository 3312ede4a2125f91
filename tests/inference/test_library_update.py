"""Stem libraries that move with their stems, grow instead of being rebuilt, and leave stems out
of a search on request."""

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from phalar_asteroid.inference import embedding
from phalar_asteroid.inference.audio import find_audio_files
from phalar_asteroid.inference.library import (
    BuildInterrupted,
    StemLibrary,
    build_library,
    plan_update,
    search_file,
)
from phalar_asteroid.inference.model import load_model

SR = 16000


@pytest.fixture(scope="module")
def loaded(model_path):
    return load_model(model_path, "cpu")


def scores_by_path(library, loaded, mix, **kwargs):
    hits = search_file(loaded, library, mix, top=100, **kwargs)
    return {hit.path: hit.score for hit in hits}


def test_exclude_leaves_stems_out_and_keeps_the_other_scores(loaded, audio, stems):
    library = build_library(loaded, find_audio_files(stems), stems)
    everything = scores_by_path(library, loaded, audio["mix"])
    assert len(everything) == 5
    best = max(everything, key=everything.get)
    for exclude, gone in (
        ([best], {best}),
        ([os.path.join(stems, "bass1.wav"), os.path.join(stems, "bass3.wav")], {"bass1", "bass3"}),
        ([stems], set(everything)),  # a folder: every stem under it
    ):
        kept = scores_by_path(library, loaded, audio["mix"], exclude=exclude)
        assert not any(p in gone or os.path.basename(p)[:-4] in gone for p in kept)
        assert kept == {p: s for p, s in everything.items() if p in kept}
        assert len(kept) == len(everything) - len(gone)
    # The ranking is that of the remaining stems: the next best comes first.
    hits = search_file(loaded, library, audio["mix"], top=1, exclude=[best])
    rest = {p: s for p, s in everything.items() if p != best}
    assert hits[0].path == max(rest, key=rest.get)
    # Relative to the working directory, like any path on the command line.
    relative = os.path.relpath(best)
    assert best not in scores_by_path(library, loaded, audio["mix"], exclude=[relative])


def test_a_library_moved_with_its_stems_still_finds_them(loaded, audio, stems, tmp_path):
    project = tmp_path / "project"
    os.makedirs(project)
    shutil.move(stems, project / "stems")
    stems = str(project / "stems")
    build_library(loaded, find_audio_files(stems), stems).save(str(project / "stems.lib"))
    before = scores_by_path(str(project / "stems.lib"), loaded, audio["mix"])
    shutil.move(project, tmp_path / "moved")
    library = StemLibrary.load(str(tmp_path / "moved" / "stems.lib"))
    assert library.files[0] == os.path.join("..", "stems", "bass0.wav")
    after = scores_by_path(library, loaded, audio["mix"])
    assert after == {p.replace(str(project), str(tmp_path / "moved")): s for p, s in before.items()}
    assert all(os.path.isfile(p) for p in after)


def test_old_formats_are_refused_with_a_rebuild_hint(loaded, stems, tmp_path):
    path = str(tmp_path / "lib")
    build_library(loaded, find_audio_files(stems)[:1], stems).save(path)
    with np.load(os.path.join(path, "meta.npz")) as meta:
        contents = dict(meta)
    info = json.loads(str(contents["info"]))
    contents["info"] = json.dumps(dict(info, format_version=1, root=stems))
    np.savez(os.path.join(path, "meta.npz"), **contents)
    with pytest.raises(ValueError, match=r"library format 1 .* rebuild it with `phalar index"):
        StemLibrary.load(path)


def test_indexing_again_embeds_only_new_and_changed_files(loaded, audio, stems, embedded):
    paths = find_audio_files(stems)
    first = build_library(loaded, paths[:3], stems)
    assert embedded == ["bass0.wav", "bass1.wav", "bass3.wav"]
    embedded.clear()
    update = plan_update(first, paths)
    assert (update.new, update.changed, update.missing) == (paths[3:], [], [])
    grown = build_library(loaded, paths, stems, existing=first)
    assert embedded == ["bass4.wav", "melody_44k.wav"]
    fresh = build_library(loaded, paths, stems)
    assert grown.paths == fresh.paths
    for name in ("row_file", "window_offsets"):
        np.testing.assert_array_equal(getattr(grown, name), getattr(fresh, name))
    np.testing.assert_allclose(grown.keys, fresh.keys, atol=1e-6)
    np.testing.assert_array_equal(grown.file_stats, fresh.file_stats)

    # A changed file is embedded again, a deleted one dropped; a stem of another folder stays.
    other = os.path.join(os.path.dirname(stems), "other")
    os.makedirs(other)
    shutil.copy(audio["bass0"], other)
    grown = build_library(loaded, [os.path.join(other, "bass0.wav")], other, existing=grown)
    embedded.clear()
    wav, _ = sf.read(paths[1], dtype="float32")
    sf.write(paths[1], 0.5 * wav, SR, subtype="FLOAT")
    os.utime(paths[1], ns=(1, 1))  # a different time, whatever the clock's resolution
    os.remove(paths[2])
    update = plan_update(grown, find_audio_files(stems))
    assert (update.new, update.changed, update.missing) == ([], [paths[1]], [paths[2]])
    library = build_library(loaded, find_audio_files(stems), stems, existing=grown)
    assert embedded == ["bass1.wav"]
    assert sorted(library.paths) == sorted(
        [p for p in paths if p != paths[2]] + [os.path.join(other, "bass0.wav")]
    )
    again = build_library(loaded, [paths[1]], stems)  # the new bass1 rows replaced the old
    row = library.paths.index(paths[1])
    np.testing.assert_allclose(library.keys[library.row_file == row], again.keys, atol=1e-6)


def test_refuses_to_grow_a_library_of_another_model(loaded, stems, tiny_model, tmp_path):
    import torch

    other = tmp_path / "other.pth"
    torch.save(tiny_model(seed=1).serialize(), other)
    library = build_library(load_model(str(other), "cpu"), find_audio_files(stems)[:1], stems)
    with pytest.raises(ValueError, match="built with model 'other.pth'"):
        build_library(loaded, find_audio_files(stems), stems, existing=library)


def test_an_interrupted_build_keeps_what_was_embedded(loaded, stems, monkeypatch):
    paths = find_audio_files(stems)
    original = embedding.embed_file

    def interrupted(model, path, batch_size=16):
        if path == paths[2]:
            raise KeyboardInterrupt
        return original(model, path, batch_size)

    monkeypatch.setattr(embedding, "embed_file", interrupted)
    with pytest.raises(BuildInterrupted) as stop:
        build_library(loaded, paths, stems)
    assert isinstance(stop.value, KeyboardInterrupt)
    assert stop.value.library.paths == paths[:2]


def test_workers_give_the_same_library_and_checkpoints_land(loaded, stems):
    paths = find_audio_files(stems)
    serial = build_library(loaded, paths, stems)
    saved = []
    parallel = build_library(
        loaded, paths, stems, num_workers=2, checkpoint_every=2, on_checkpoint=saved.append
    )
    assert parallel.paths == serial.paths
    np.testing.assert_array_equal(parallel.row_file, serial.row_file)
    np.testing.assert_allclose(parallel.keys, serial.keys, atol=1e-6)
    np.testing.assert_array_equal(parallel.file_stats, serial.file_stats)
    assert [len(library.files) for library in saved] == [2, 4]
    assert saved[0].paths == paths[:2]
