"""The coherence-correlation recipe end to end: the simulated demo on a tiny rendered corpus, and a
listening test of one's own (generated audio, hand-written tables), with a tiny PHALAR."""

import csv
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from phalar_asteroid.data.render import synth_song
from phalar_asteroid.models import PHALAR

# band_corpus and tiny_model are the session fixtures shared with the beat-tracking test.
from test_beat_tracking import (
    band_corpus,
    copy_recipe,
    run_recipe,
    run_stage_script,
    tiny_model,
)  # noqa: F401

SR = 16000
FAST = ["--n_resamples", "200", "--eval_use_gpu", "0"]


def read_csv(path):
    with open(path, newline="") as fhandle:
        return list(csv.DictReader(fhandle))


def test_simulated_demo_end_to_end(tmp_path, band_corpus, tiny_model):
    recipe = copy_recipe("coherence_correlation", tmp_path)
    # Stage 1 with test-size items: one 3 s mix per track, 4 listeners rating all 12 items.
    small = ["--segment_seconds", "3", "--segments_per_track", "1", "--items_per_listener", "12"]
    demo = run_stage_script(
        recipe, "make_demo.py", "--data_root", band_corpus, "--split", "train,valid,test",
        "--out_dir", "data/demo", "--n_listeners", "4", *small,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert "12 items from 3 tracks" in demo.stdout and "SIMULATED" in demo.stdout
    items = read_csv(recipe / "data" / "demo" / "items.csv")
    assert [i["condition"] for i in items[:4]] == [
        "aligned",
        "shifted",
        "transposed",
        "other_track",
    ]
    aligned, shifted = items[0], items[1]
    assert float(aligned["fit"]) == 1.0 and aligned["stem_key"] == aligned["mix_key"]
    assert float(shifted["key_score"]) == 1.0 and float(shifted["beat_f"]) < 1.0
    assert 0.3 <= float(shifted["shift_beats"]) % 1 <= 0.7
    stem, rate = sf.read(recipe / "data" / "demo" / aligned["stem"])
    assert rate == SR and len(stem) == 3 * SR
    ratings = read_csv(recipe / "data" / "demo" / "ratings.csv")
    assert len(ratings) == 48 and {r["rating"] for r in ratings} <= set("12345")

    args = ["--model_path", tiny_model, "--tag", "t", "--models", "phalar,onset_corr", *FAST]
    run = run_recipe(recipe, "--stage", 2, *args)
    assert run.returncode == 0, run.stdout + run.stderr
    exp = recipe / "exp" / "coherence_t"
    scores = read_csv(exp / "scores" / "phalar.csv")
    assert [s["item"] for s in scores] == [i["item"] for i in items]
    assert all(s["n_windows"] == "1" for s in scores)
    results = json.loads((exp / "results.json").read_text())
    assert results["simulated"] and "SIMULATED" in results["note"]
    assert results["n_items"] == 12 and results["n_listeners"] == 4 and results["n_ratings"] == 48
    assert set(results["models"]) == {"phalar", "onset_corr"}
    assert set(results["comparisons"]) == {"phalar vs onset_corr"}
    # The oracle (the listeners' own fit) agrees with their ratings far better than chance.
    assert results["oracle"]["oracle"]["pearson"] > 0.5
    for row in results["models"].values():
        low, high = row["pearson_ci"]
        assert -1 <= low <= high <= 1
    summary = (exp / "summary.md").read_text()
    assert summary.startswith("**SIMULATED ratings") and "oracle ceiling" in summary
    # The items table's condition column gives per-condition means, z-scored over all items.
    conditions = results["conditions"]
    assert list(conditions) == ["aligned", "shifted", "transposed", "other_track"]
    assert all(row["n_items"] == 3 for row in conditions.values())
    assert sum(row["targets"] for row in conditions.values()) == pytest.approx(0, abs=1e-9)
    assert conditions["aligned"]["targets"] > conditions["other_track"]["targets"]
    per_item = read_csv(exp / "per_item.csv")
    z = np.array([float(r["mean_z_rating"]) for r in per_item])
    assert len(per_item) == 12 and abs(z.mean()) < 0.5


@pytest.fixture
def listening_test(tmp_path):
    """A hand-made test: 4 items over two generated songs, 3 listeners, a fifth item unrated."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "my_test"
    (folder / "wav").mkdir(parents=True)
    songs = [synth_song(rng, 3.0, SR) for _ in range(2)]
    for s, song in enumerate(songs):
        sf.write(folder / "wav" / f"mix{s}.wav", song["drums"] + song["chords"], SR)
        sf.write(folder / "wav" / f"bass{s}.wav", song["bass"], SR)
    pairs = {"a": (0, 0), "b": (0, 1), "c": (1, 1), "d": (1, 0), "e": (0, 0)}
    rows = [f"{i},wav/mix{m}.wav,wav/bass{s}.wav" for i, (m, s) in pairs.items()]
    (folder / "items.csv").write_text("item,mix,stem\n" + "\n".join(rows) + "\n")
    ratings = {"ann": (5, 2, 4, 1), "bob": (4, 1, 5, 2), "cy": (3, 3, 3, 3)}  # cy: constant
    lines = [f"{who},{item},{r}" for who, rs in ratings.items() for item, r in zip("abcd", rs)]
    (folder / "ratings.csv").write_text("listener,item,rating\n" + "\n".join(lines) + "\n")
    return folder


def test_own_listening_test_end_to_end(tmp_path, listening_test, tiny_model):
    recipe = copy_recipe("coherence_correlation", tmp_path)
    test = ["--ratings", listening_test / "ratings.csv", "--items", listening_test / "items.csv"]
    args = [*test, "--model_path", tiny_model, "--models", "phalar,chroma_corr", *FAST]
    run = run_recipe(recipe, *args)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "nothing to render" in run.stdout and "nothing to simulate" in run.stdout
    assert "dropped listener(s) ['cy']" in run.stdout
    assert "1 item(s) nobody rated are left out: ['e']" in run.stdout
    exp = recipe / "exp" / "coherence_ratings_tiny_phalar"
    results = json.loads((exp / "results.json").read_text())
    assert not results["simulated"] and results["oracle"] is None
    assert results["conditions"] is None  # no condition column
    assert results["listeners"] == ["ann", "bob"] and results["unrated_items"] == ["e"]
    assert results["n_items"] == 4 and results["n_ratings"] == 8
    # The targets are the per-listener z-scores averaged per item (population SD).
    per_item = {r["item"]: r for r in read_csv(exp / "per_item.csv")}
    ann, bob = np.array([5, 2, 4, 1.0]), np.array([4, 1, 5, 2.0])
    expected = ((ann - ann.mean()) / ann.std() + (bob - bob.mean()) / bob.std()) / 2
    got = [float(per_item[i]["mean_z_rating"]) for i in "abcd"]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert "SIMULATED" not in (exp / "summary.md").read_text()
    assert json.loads((exp / "scores" / "phalar.json").read_text())["trained"] is True

    # A second run keeps the scores; another model under the same tag is refused.
    again = run_recipe(recipe, "--stage", 2, "--stop_stage", 2, *args)
    assert again.returncode == 0 and "phalar: " in again.stdout and "kept" in again.stdout
    other = tmp_path / "other" / "best_model.pth"
    other.parent.mkdir()
    torch.manual_seed(1)
    model = PHALAR(backbone_width=2, depth=3, lsp_channels=8, lsp_components=4, embed_dim=16)
    torch.save(model.serialize(), other)
    refused = run_recipe(recipe, "--stage", 2, "--stop_stage", 2, *test, "--model_path", other,
                         "--tag", "ratings_tiny_phalar", "--models", "phalar", *FAST)  # fmt: skip
    assert refused.returncode != 0 and "give this model its own --tag" in refused.stderr


@pytest.mark.parametrize(
    "options, message",
    [
        (["--models", "phalar,foo"], "--models takes a comma-separated list of phalar, cocola"),
        (["--ratings", "missing.csv"], "--ratings takes a ratings CSV file, got 'missing.csv'"),
        (["--model_path", "nope/best_model.pth"], "--model_path: no such checkpoint"),
        (["--n_resamples", "10"], "--n_resamples takes an integer >= 100"),
        (["--constant_listeners", "keep"], "--constant_listeners takes one of drop | refuse"),
    ],
)
def test_bad_options_stop_before_any_work(tmp_path, options, message):
    recipe = copy_recipe("coherence_correlation", tmp_path)
    result = run_recipe(recipe, *options)
    assert result.returncode == 1 and message in result.stderr
    assert not (recipe / "data").exists() and not (recipe / "exp").exists()
