"""The chord-probing recipe end to end on a tiny rendered band corpus with a tiny PHALAR."""

import json
import sys

import numpy as np
import torch

from phalar_asteroid.models import PHALAR

# band_corpus and tiny_model are the session fixtures shared with the beat-tracking test.
from test_beat_tracking import (
    DATA_FIXTURES,
    band_corpus,
    copy_recipe,
    run_recipe,
    run_stage_script,
    tiny_model,
)  # noqa: F401

# Test-size settings: 4 frames per second, 3 folds of one recording, 2 epochs.
FAST = ["--hop_seconds", "0.25", "--n_folds", "3", "--epochs", "2", "--eval_use_gpu", "0"]
RESULTS = tuple(
    f"{f}_{m}" for m in ("literal", "reduced") for f in ("phalar", "chroma", "chroma_window")
)


def test_chord_probing_recipe_end_to_end(tmp_path, band_corpus, tiny_model):
    recipe = copy_recipe("chord_probing", tmp_path)
    args = ["--data_root", band_corpus, "--model_path", tiny_model, "--tag", "t", *FAST]
    first = run_recipe(recipe, "--stage", 1, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 recordings, 0 unreadable" in first.stdout
    assert "windows/s" in first.stdout

    data, exp = recipe / "data" / "band_all", recipe / "exp" / "probe_t"
    phalar = np.load(exp / "features" / "Track00001.npz")
    assert phalar["features"].shape == (13, 2, 16)  # (800 - 480) // 25 + 1 windows
    assert float(phalar["frame_period"]) == 0.25
    chroma = np.load(data / "chroma_hop0.25s" / "Track00001.npz")
    assert chroma["features"].shape == (1 + 128000 // 4000, 12)  # hop int(0.25 * 16 kHz)

    for name in RESULTS:
        record = json.loads((exp / "results" / f"{name}.json").read_text())
        folds = record["folds"]
        assert len(folds) == 3
        assert sorted(r for f in folds for r in f["recordings"]) == [
            "Track00001",
            "Track00002",
            "Track00003",
        ]
        assert all(0.0 <= f["accuracy"] <= 1.0 for f in folds)
        assert 0.0 <= record["root"]["mean"] <= 1.0 and 0.0 <= record["majmin"]["mean"] <= 1.0
        mean = np.mean([f["accuracy"] for f in folds])
        half = 1.96 * np.std([f["accuracy"] for f in folds], ddof=1) / np.sqrt(3)
        assert record["accuracy"]["mean"] == mean and np.isclose(record["accuracy"]["ci95"], half)
        assert sum(record["class_counts"].values()) == record["n_annotated_frames"]
        assert record["n_annotated_frames"] <= record["n_frames"]
    # The band corpus writes maj/min triads (and N), so both mappings give the same classes.
    literal = json.loads((exp / "results" / "chroma_literal.json").read_text())
    reduced = json.loads((exp / "results" / "chroma_reduced.json").read_text())
    assert sum(literal["class_counts"].values()) == sum(reduced["class_counts"].values())
    # The control averages the 33 chroma frames of a track over 19-frame (4.75 s) windows.
    window = json.loads((exp / "results" / "chroma_window_literal.json").read_text())
    assert window["n_frames"] == 3 * (33 - 19 + 1) and window["window_seconds"] == 4.8
    table = (exp / "summary.md").read_text()
    assert table.count("literal (primary)") == 3 and table.count("reduced (deviation)") == 3
    assert "chroma_cqt, mean over the 4.8 s window + Linear(12→25) (control)" in table
    assert set(json.loads((exp / "summary.json").read_text())) == set(RESULTS)

    # A second run resumes: features and probe results are kept, nothing is recomputed.
    before = (exp / "results" / "phalar_literal.json").stat().st_mtime_ns
    again = run_recipe(recipe, "--stage", 3, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(0 new)" in again.stdout and "phalar / literal:" not in again.stdout
    assert (exp / "results" / "phalar_literal.json").stat().st_mtime_ns == before

    # Windows and strides are given in seconds: a 20 ms-hop model gets 240-frame (4.8 s) windows.
    coarse = tmp_path / "coarse" / "best_model.pth"
    coarse.parent.mkdir()
    torch.manual_seed(0)
    model = PHALAR(
        backbone_width=2, depth=3, lsp_channels=8, lsp_components=4, embed_dim=16, hop_length=320
    )
    torch.save(model.serialize(), coarse)
    hop320 = ["--stage", 3, "--stop_stage", 3, "--model_path", coarse, "--tag", "c"]
    result = run_recipe(recipe, *args, *hop320, "--hop_seconds", 0.2)
    assert result.returncode == 0, result.stdout + result.stderr
    features = np.load(recipe / "exp" / "probe_c" / "features" / "Track00001.npz")
    assert features["features"].shape == (17, 2, 16)  # (401 - 240) // 10 + 1 windows
    assert float(features["frame_period"]) == 0.2
    # A stride that is not a whole number of the model's hops is refused, naming the option.
    result = run_recipe(recipe, *args, *hop320, "--hop_seconds", 0.25)
    assert result.returncode != 0
    assert "hop_seconds=0.25 is not a positive whole number of this model's 20 ms hops" in (
        result.stderr
    )


def test_guitarset_recordings_are_comp_takes_with_leadsheet_chords(tmp_path):
    sys.path.insert(0, str(DATA_FIXTURES))
    from data_fixtures import make_guitarset

    root = tmp_path / "gs_data"
    make_guitarset(str(root))
    recipe = copy_recipe("chord_probing", tmp_path)
    result = run_stage_script(
        recipe, "prepare_data.py", "--guitarset_root", root, "--out_dir", "data/gs"
    )
    assert result.returncode == 0, result.stderr
    assert "1 recordings, 0 unreadable" in result.stdout
    manifest = json.loads((recipe / "data" / "gs" / "manifest.json").read_text())
    (track,) = manifest["tracks"]
    assert track["track_id"] == "00_BN1-129-Eb_comp"  # the solo take is left out
    # The first (lead-sheet) annotation, not the performed one ("Eb:maj7/3").
    with open(track["chords_path"]) as fhandle:
        assert fhandle.read().split() == ["0.000000", "1.000000", "Eb:maj7"]
