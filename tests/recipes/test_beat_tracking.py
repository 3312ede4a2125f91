"""The beat-tracking recipe end to end on a tiny rendered band corpus with a tiny PHALAR.

Everything runs for real (renderer, madmom, mir_eval); the corpus and the model are built once per
session and shared with the chord-probing recipe test.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from phalar_asteroid.data.render import render_corpus
from phalar_asteroid.eval.beat import SUMMARY_METRICS, tempo_class
from phalar_asteroid.models import PHALAR

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
DATA_FIXTURES = Path(__file__).resolve().parents[1] / "data"
N_TRACKS = 3
TRACK_SECONDS = 8.0
# Test-size settings: 16 templates, a 4 Hz envelope (13 windows per 8 s track).
FAST = ["--bpm_min", "100", "--bpm_max", "115", "--hop_seconds", "0.25", "--eval_use_gpu", "0"]
SYSTEMS = {"phalar_dp", "phalar_dbn", "madmom", "onset_dp"}


@pytest.fixture(scope="session")
def band_corpus(tmp_path_factory):
    """Three 8 s band tracks of the embedded corpus (one per split), rendered once."""
    root = tmp_path_factory.getbasetemp() / "band_corpus"
    render_corpus(
        root, n_tracks=N_TRACKS, seed=0, flavour="band", max_seconds=TRACK_SECONDS, workers=1
    )
    return root


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A small randomly initialised PHALAR saved as a model package."""
    path = tmp_path_factory.getbasetemp() / "tiny_phalar" / "best_model.pth"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        model = PHALAR(backbone_width=2, depth=3, lsp_channels=8, lsp_components=4, embed_dim=16)
        torch.save(model.serialize(), path)
    return path


def copy_recipe(name: str, dest: Path) -> Path:
    """A private copy of a recipe (utils/ resolved), so runs never write into the repository."""
    target = dest / name
    shutil.copytree(
        RECIPES / name, target, symlinks=False, ignore=shutil.ignore_patterns("data", "exp", "logs")
    )
    return target


def run_recipe(workdir: Path, *args) -> subprocess.CompletedProcess:
    """``./run.sh`` with this interpreter as the recipe's Python."""
    return subprocess.run(
        ["bash", "run.sh", "--python_path", sys.executable, *map(str, args)],
        cwd=workdir,
        capture_output=True,
        text=True,
    )


def run_stage_script(workdir: Path, script: str, *args) -> subprocess.CompletedProcess:
    """One ``local/`` stage script of a recipe copy, with this interpreter."""
    return subprocess.run(
        [sys.executable, f"local/{script}", *map(str, args)],
        cwd=workdir,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def stage_1_run(tmp_path_factory, band_corpus, tiny_model):
    """One run of every stage on all three splits, shared by the tests that read its outputs.

    Returns:
        tuple: the recipe copy, the run.sh arguments and the completed process.
    """
    recipe = copy_recipe("beat_tracking", tmp_path_factory.mktemp("beats_all"))
    # One track per split: --split all (the default, valid,test, keeps the held-out two).
    args = ["--data_root", band_corpus, "--model_path", tiny_model, "--tag", "t", *FAST]
    args += ["--split", "all"]
    return recipe, args, run_recipe(recipe, "--stage", 1, *args)


def test_beat_tracking_recipe_end_to_end(tmp_path, stage_1_run, tiny_model):
    recipe, args, first = stage_1_run
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 tracks, 0 unreadable" in first.stdout
    assert "windows/s" in first.stdout
    assert "INCLUDES TRAINING PIECES" in first.stdout
    assert "Decoder variants skipped" in first.stdout  # one valid and one test track only

    data, exp = recipe / "data", recipe / "exp" / "beats_t"
    templates = sorted((data / "templates").glob("*.wav"))
    assert len(templates) == 16
    click, rate = sf.read(templates[0])
    assert (
        rate == 16000
        and len(click) == 80000
        and np.abs(click).max() == pytest.approx(0.8, abs=1e-3)
    )
    stored = np.load(exp / "templates.npz")
    assert stored["embeddings"].shape == (16, 16) and np.iscomplexobj(stored["embeddings"])
    np.testing.assert_array_equal(stored["bpms"], np.arange(100, 116))
    envelope = np.load(exp / "envelopes" / "Track00001.npz")
    assert envelope["envelope"].shape == (13,)  # (800 - 480) // 25 + 1 windows
    assert float(envelope["fps"]) == 4.0 and float(envelope["offset"]) == 0.02

    with open(exp / "per_track.csv") as fhandle:
        rows = list(csv.DictReader(fhandle))
    assert len(rows) == N_TRACKS * len(SYSTEMS) * 2
    assert {r["system"] for r in rows} == SYSTEMS
    assert {float(r["min_beat_time"]) for r in rows} == {0.0, 5.0}
    assert {r["split"] for r in rows} == {"train", "valid", "test"}
    for row in rows:
        ratio = float(row["est_tempo"]) / float(row["ref_tempo"])
        assert float(row["tempo_ratio"]) == pytest.approx(ratio, nan_ok=True)
        assert row["tempo_class"] == tempo_class(float(row["est_tempo"]), float(row["ref_tempo"]))
        low = min(float(row["Correct Metric Level Total"]), float(row["F-measure"])) < 0.5
        phase = row["tempo_class"] == "correct" and low
        assert row["error_class"] == ("phase" if phase else row["tempo_class"])
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["n_tracks"] == N_TRACKS and summary["n_unreadable"] == 0
    assert set(summary["systems"]) == SYSTEMS
    primary = "no trim (min_beat_time = 0, primary)"
    assert set(summary["systems"]["madmom"]) == {primary, "5 s trim (min_beat_time = 5)"}
    # madmom on the band corpus's drums: a real check that audio, tracker and scoring line up
    # (its tempo octave may differ from the score's: AMLt is the level-free measure).
    assert summary["systems"]["madmom"][primary]["Any Metric Level Total"] > 0.9
    assert summary["systems"]["madmom"][primary]["F-measure"] > 0.6
    for by_trim in summary["systems"].values():
        for scores in by_trim.values():
            assert all(0.0 <= scores[m] <= 1.0 for m in SUMMARY_METRICS)
            assert 0.0 <= scores["F-measure 95% CI"][0] <= scores["F-measure 95% CI"][1] <= 1.0
    assert summary["pieces"].startswith("INCLUDES TRAINING PIECES")
    assert sum(summary["error_classes"]["madmom"].values()) == N_TRACKS
    low, high = summary["systems"]["madmom"][primary]["F-measure 95% CI"]
    assert low <= summary["systems"]["madmom"][primary]["F-measure"] <= high
    table = (exp / "summary.md").read_text()
    assert "F, no trim (min_beat_time = 0, primary)" in table and "5 s trim" in table
    assert "| Track00001 | train |" in table and "F 95 % bootstrap CI" in table
    similarity = np.load(exp / "similarity" / "Track00001.npz")
    assert similarity["similarity"].shape == (16, 13) and similarity["duration"] == 8.0
    assert (exp / "figure_Track00001.png").stat().st_size > 10_000
    assert json.loads((exp / "throughput.json").read_text())["windows"] == 3 * 13

    # A second run resumes: every per-track output is kept, nothing is recomputed.
    before = (exp / "envelopes" / "Track00002.npz").stat().st_mtime_ns
    again = run_recipe(recipe, "--stage", 3, "--stop_stage", 4, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(0 new)" in again.stdout and "(0 new tracks)" in again.stdout
    assert (exp / "envelopes" / "Track00002.npz").stat().st_mtime_ns == before
    # Another model under the same tag is refused rather than mixed into the experiment.
    other = shutil.copy(tiny_model, tmp_path / "other.pth")
    mixed = run_recipe(recipe, "--stage", 4, "--stop_stage", 4, *args, "--model_path", other)
    assert mixed.returncode != 0 and "give this model its own --tag" in mixed.stderr


def test_decoder_variants_choose_on_valid_and_report_on_test(tmp_path, stage_1_run):
    shared, _, done = stage_1_run
    assert done.returncode == 0, done.stdout + done.stderr
    recipe = tmp_path / "beat_tracking"  # a private copy: this test adds tracks to its outputs
    shutil.copytree(shared, recipe, symlinks=True)
    # Two valid and two test tracks: the train track's map and beats stand in as a second valid
    # track, the valid one's as a second test track.
    exp, data = recipe / "exp" / "beats_t", recipe / "data" / "band_all"
    manifest = json.loads((data / "manifest.json").read_text())
    extra = {"Track00001": ("Track09001", "valid"), "Track00002": ("Track09002", "test")}
    for track in list(manifest["tracks"]):
        if track["track_id"] in extra:
            new_id, split = extra[track["track_id"]]
            manifest["tracks"].append({**track, "track_id": new_id, "split": split})
            shutil.copy(
                exp / "similarity" / f"{track['track_id']}.npz",
                exp / "similarity" / f"{new_id}.npz",
            )
            for system in ("madmom", "onset_dp"):
                folder = data / "beats" / system
                shutil.copy(folder / f"{track['track_id']}.beats", folder / f"{new_id}.beats")
    (data / "manifest4.json").write_text(json.dumps(manifest))
    (recipe / "grid.yml").write_text(
        "dp:\n  decoder_kind: [dp]\n  dp_start_bpm: [60.0, 120.0]\n"
        "dbn:\n  decoder_kind: [dbn]\n  smooth_seconds: [0.0, 0.5]\n"
    )
    stage_args = ["--manifest", "data/band_all/manifest4.json", "--exp_dir", "exp/beats_t"]
    stage_args += ["--reference_dir", "data/band_all/beats", "--sweep", "grid.yml"]
    stage_args += ["--bpm_min", "100", "--bpm_max", "115"]
    result = run_stage_script(recipe, "variants.py", *stage_args)
    assert result.returncode == 0, result.stderr
    assert "4 variants on 5 tracks (20 pairs scored now)" in result.stdout
    summary = json.loads((exp / "variants" / "summary.json").read_text())
    assert summary["paper_variant"] == "dp"
    ranking = summary["ranking_on_tune_split"]
    assert {r["variant"] for r in ranking} == {
        "dp",
        "dp dp_start_bpm=60.0",
        "dbn",
        "dbn smooth_seconds=0.5",
    }
    # Chosen on the valid tracks only: the ranking is by their mean F.
    valid = "valid (tuning)"
    means = [r[valid]["mean"] for r in ranking]
    assert means == sorted(means, reverse=True) and summary["best_variant"] == ranking[0]["variant"]
    assert ranking[0][valid]["n_tracks"] == 2
    test = summary["f_measure"]["test (untouched by the choice)"]
    assert test["best"]["n_tracks"] == 2 and test["best"]["low"] <= test["best"]["mean"]
    paired = summary["paired"]["test (untouched by the choice)"]["best - paper"]
    assert paired["n_tracks"] == 2 and 0.0 <= paired["p_wilcoxon"] <= 1.0
    assert summary["best_extended_variant"].endswith("extend_to_end=True")
    with open(exp / "variants" / "scores.csv") as fhandle:
        rows = list(csv.DictReader(fhandle))
    assert len(rows) == 4 * 5
    by_key = {(r["variant"], r["track_id"]): float(r["F"]) for r in rows}
    # The paper's variant re-decoded from the stored map gives stage 4's phalar_dp beats.
    per_track = {}
    with open(exp / "per_track.csv") as fhandle:
        for row in csv.DictReader(fhandle):
            if row["system"] == "phalar_dp" and float(row["min_beat_time"]) == 0:
                per_track[row["track_id"]] = float(row["F-measure"])
    for track_id, value in per_track.items():
        assert by_key[("dp", track_id)] == pytest.approx(value)
    assert (exp / "variants" / "beats_best" / "Track09001.beats").is_file()
    assert (
        "| test (untouched by the choice) | best - paper |"
        in (exp / "variants" / "summary.md").read_text()
    )
    again = run_stage_script(recipe, "variants.py", *stage_args)
    assert "(0 pairs scored now)" in again.stdout, again.stderr


def test_beat_tracking_recipe_needs_a_model(tmp_path, band_corpus):
    recipe = copy_recipe("beat_tracking", tmp_path)
    result = run_recipe(recipe, "--stage", 4, "--data_root", band_corpus, "--tag", "t")
    assert result.returncode != 0
    assert "--model_path takes a PHALAR best_model.pth" in result.stderr


def test_gtzan_track_list_counts_unreadable_files(tmp_path):
    sys.path.insert(0, str(DATA_FIXTURES))
    from data_fixtures import make_gtzan

    root = tmp_path / "gtzan_data"
    ids = make_gtzan(str(root))
    corrupt = root / "gtzan_genre" / "gtzan_genre" / "genres" / "jazz" / "jazz.00054.wav"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"RIFF\x00\x00not a wav file")
    recipe = copy_recipe("beat_tracking", tmp_path)
    result = run_stage_script(
        recipe, "prepare_data.py", "--gtzan_root", root, "--out_dir", "data/gtzan"
    )
    assert result.returncode == 0, result.stderr
    assert f"{len(ids)} tracks, 1 unreadable" in result.stdout
    manifest = json.loads((recipe / "data" / "gtzan" / "manifest.json").read_text())
    assert sorted(t["track_id"] for t in manifest["tracks"]) == sorted(ids)
    # The tempo comes from the .bpm file (mirdata's own reader fails on numpy 2.4,
    # docs/data.md#gtzan-tempo-on-numpy-2).
    assert {t["tempo"] for t in manifest["tracks"]} == {120.5}
