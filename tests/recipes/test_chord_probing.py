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

# Test-size settings: windows every 0.2 s, two window lengths and two label rules, 3 folds of one
# recording, one epoch per 20 ms of stride (10 passes over the 0.2 s windows).
FAST = [
    "--flavour",
    "band",
    "--hop_seconds",
    "0.2",
    "--window_seconds",
    "1,4.8",
    "--label_rules",
    "start,centre",
    "--n_folds",
    "3",
    "--epochs",
    "1",
    "--eval_use_gpu",
    "0",
]
CONFIGS = tuple(
    f"w{w}s_{rule}_{m}"
    for m in ("literal", "reduced")
    for w in ("1", "4.8")
    for rule in ("start", "centre")
)
RESULTS = tuple(f"{f}_{c}" for f in ("phalar", "chroma_window") for c in CONFIGS) + (
    "chroma_literal",
    "chroma_reduced",
)


def test_chord_probing_recipe_end_to_end(tmp_path, band_corpus, tiny_model):
    recipe = copy_recipe("chord_probing", tmp_path)
    args = ["--data_root", band_corpus, "--model_path", tiny_model, "--tag", "t", *FAST]
    first = run_recipe(recipe, "--stage", 1, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 recordings, 0 unreadable" in first.stdout
    assert "windows/s" in first.stdout

    data, exp = recipe / "data" / "band_all", recipe / "exp" / "probe_t"
    # 8 s tracks, 801 CQT frames of 10 ms: windows of 100 and 480 frames every 20 frames.
    short = np.load(exp / "features_w1s" / "Track00001.npz")
    assert short["features"].shape == (36, 2, 16)  # (801 - 100) // 20 + 1
    assert float(short["frame_period"]) == 0.2 and float(short["window_seconds"]) == 1.0
    assert np.load(exp / "features_w4.8s" / "Track00001.npz")["features"].shape == (17, 2, 16)
    chroma = np.load(data / "chroma" / "Track00001.npz")
    assert chroma["features"].shape == (1 + 128000 // 320, 12)  # hop int(0.02 * 16 kHz)

    for name in RESULTS:
        record = json.loads((exp / "results" / f"{name}.json").read_text())
        folds = record["folds"]
        assert len(folds) == 3
        assert sorted(record["recording_accuracy"]) == ["Track00001", "Track00002", "Track00003"]
        assert sorted(r for f in folds for r in f["recordings"]) == sorted(
            record["recording_accuracy"]
        )
        assert all(0.0 <= f["accuracy"] <= 1.0 for f in folds)
        assert 0.0 <= record["root"]["mean"] <= 1.0 and 0.0 <= record["majmin"]["mean"] <= 1.0
        mean = np.mean([f["accuracy"] for f in folds])
        half = 1.96 * np.std([f["accuracy"] for f in folds], ddof=1) / np.sqrt(3)
        assert record["accuracy"]["mean"] == mean and np.isclose(record["accuracy"]["ci95"], half)
        assert sum(record["class_counts"].values()) == record["n_annotated_frames"]
        assert record["n_annotated_frames"] <= record["n_frames"]
        # One fold holds one recording: its accuracy is that recording's.
        for fold in folds:
            (rec,) = fold["recordings"]
            assert fold["accuracy"] == record["recording_accuracy"][rec]
        # 20 ms frames get the reference's epochs; 0.2 s windows ten times as many passes.
        assert record["epochs_run"] == (1 if name in ("chroma_literal", "chroma_reduced") else 10)
    # The chroma windows average the 401 chroma frames over the same windows on the same grid.
    window = json.loads((exp / "results" / "chroma_window_w4.8s_start_literal.json").read_text())
    assert window["n_frames"] == 3 * ((401 - 240) // 10 + 1) and window["frame_period"] == 0.2
    frames = json.loads((exp / "results" / "chroma_literal.json").read_text())
    assert frames["n_frames"] == 3 * 401 and frames["frame_period"] == 0.02
    # The band corpus writes maj/min triads (and N), so both mappings give the same classes.
    reduced = json.loads((exp / "results" / "chroma_reduced.json").read_text())
    assert frames["class_counts"] == reduced["class_counts"]

    summary = json.loads((exp / "summary.json").read_text())
    assert set(summary) == set(CONFIGS) | {"chroma_frames_literal", "chroma_frames_reduced"}
    for config in CONFIGS:
        paired = summary[config]["phalar_minus_chroma"]
        diff = (
            summary[config]["phalar"]["accuracy"]["mean"]
            - summary[config]["chroma_window"]["accuracy"]["mean"]
        )
        # One recording per fold: the mean paired difference is the difference of the means.
        assert np.isclose(paired["diff"], diff) and paired["n_recordings"] == 3
        assert 0.0 <= paired["p_value"] <= 1.0
    table = (exp / "summary.md").read_text()
    assert table.count("start (reference)") == 4 and table.count("| centre |") == 4
    assert "chroma_cqt (20 ms frames) + Linear(12→25)" in table

    # A second run resumes: features and probe results are kept, nothing is recomputed.
    before = (exp / "results" / "phalar_w1s_start_literal.json").stat().st_mtime_ns
    again = run_recipe(recipe, "--stage", 3, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(0 new)" in again.stdout and "frame accuracy" not in again.stdout
    assert (exp / "results" / "phalar_w1s_start_literal.json").stat().st_mtime_ns == before

    # Windows and strides are given in seconds: a 20 ms-hop model gets 240-frame (4.8 s) windows.
    coarse = tmp_path / "coarse" / "best_model.pth"
    coarse.parent.mkdir()
    torch.manual_seed(0)
    model = PHALAR(
        backbone_width=2, depth=3, lsp_channels=8, lsp_components=4, embed_dim=16, hop_length=320
    )
    torch.save(model.serialize(), coarse)
    hop320 = ["--stage", 3, "--stop_stage", 3, "--model_path", coarse, "--tag", "c"]
    result = run_recipe(recipe, *args, *hop320)
    assert result.returncode == 0, result.stdout + result.stderr
    features = np.load(recipe / "exp" / "probe_c" / "features_w4.8s" / "Track00001.npz")
    assert features["features"].shape == (17, 2, 16)  # (401 - 240) // 10 + 1 windows
    # The shortest window is one hop; a window off the model's hops is refused before any work,
    # naming the option, and so is a stride that is not a whole number of 20 ms chroma frames.
    fine = ["--stage", 3, "--stop_stage", 3, "--tag", "f"]
    for option, value, message in (
        (
            "--window_seconds",
            "1,0.005",
            "window_seconds=0.005 is not a positive whole number of this model's 10 ms hops",
        ),
        (
            "--hop_seconds",
            "0.25",
            "hop_seconds=0.25 is not a positive whole number of 20 ms frames",
        ),
    ):
        result = run_recipe(recipe, *args, *fine, option, value)
        assert result.returncode != 0
        assert message in result.stderr, result.stderr
    assert not (recipe / "exp" / "probe_f" / "features_w1s").exists()


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
