"""``phalar score``: the mean aligned-window score and its percentile among random pairs."""

import os
import re

import numpy as np
import soundfile as sf
import torch

from phalar_asteroid.cli import main
from phalar_asteroid.inference.calibration import N_SONGS, calibration_clips, calibration_path
from phalar_asteroid.utils.io import sha256_file as file_fingerprint

SR = 16000


def run_score(capsys, *args):
    assert main(["score", *args]) == 0
    out = capsys.readouterr().out
    score = float(re.search(r"^score (-?\d+\.\d+) \(mean over (\d+) aligned", out).group(1))
    match = re.search(r"higher than (\d+\.\d) % of random pairs \((\d+) mismatched", out)
    return score, out, match


def read(path):
    return torch.from_numpy(sf.read(path, dtype="float32")[0])


def test_score_is_mean_over_aligned_windows(audio, model_path, model, capsys):
    mix, bass0, bass1 = read(audio["mix"]), read(audio["bass0"]), read(audio["bass1"])
    windows = (slice(0, 10 * SR), slice(5 * SR, 15 * SR))
    with torch.no_grad():
        # 16 s against 16 s: windows at 0 and 5 s.
        expected = np.mean([float(model.score(mix[None, w], bass0[None, w])) for w in windows])
        # 16 s against 12 s: trimmed to 12 s, one window.
        expected_short = float(model.score(mix[None, windows[0]], bass1[None, windows[0]]))
    score, out, _ = run_score(
        capsys, audio["mix"], audio["bass0"], "--model", model_path, "--no-calibration"
    )
    assert "mean over 2 aligned 10 s windows" in out
    assert abs(score - expected) < 1e-4
    score, out, _ = run_score(
        capsys, audio["mix"], audio["bass1"], "--model", model_path, "--no-calibration"
    )
    assert "mean over 1 aligned 10 s windows" in out
    assert abs(score - expected_short) < 1e-4
    # Symmetric form: swapping the arguments gives the same score.
    swapped, _, _ = run_score(
        capsys, audio["bass1"], audio["mix"], "--model", model_path, "--no-calibration"
    )
    assert swapped == score


def test_calibration_is_built_from_random_synthetic_pairs_and_cached(
    audio, model_path, model, capsys
):
    score, _, match = run_score(capsys, audio["mix"], audio["bass0"], "--model", model_path)
    cached = np.load(calibration_path(file_fingerprint(model_path)))
    assert len(cached) == N_SONGS * (N_SONGS - 1) == int(match.group(2))
    assert np.all(np.diff(cached) >= 0)
    expected = 100 * (np.sum(cached < score) + np.sum(cached <= score)) / (2 * len(cached))
    assert abs(float(match.group(1)) - expected) <= 0.05 + 100 / len(cached)
    # Mismatched pairs only: mix of song 0 against the held-out stem of song 1 is one of them,
    # the matched pair (song 0 with its own stem) is not.
    mixes, stems = calibration_clips(SR)
    with torch.no_grad():
        mismatched = float(model.score(mixes[:1], stems[1:2]))
        matched = float(model.score(mixes[:1], stems[:1]))
    assert np.isclose(cached, mismatched, atol=1e-5).any()
    assert not np.isclose(cached, matched, atol=1e-6).any()


def test_percentile_is_read_from_the_cache(audio, model_path, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PHALAR_CACHE_DIR", str(tmp_path))
    score, _, _ = run_score(
        capsys, audio["mix"], audio["bass1"], "--model", model_path, "--no-calibration"
    )
    path = calibration_path(file_fingerprint(model_path))
    os.makedirs(os.path.dirname(path))
    np.save(path, score + np.array([-2.0, -1.0, -0.5, 1.0]))
    _, out, match = run_score(capsys, audio["mix"], audio["bass1"], "--model", model_path)
    assert float(match.group(1)) == 75.0 and int(match.group(2)) == 4, out
