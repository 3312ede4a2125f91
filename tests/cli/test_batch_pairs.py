"""Batch ``score`` and ``align``: a mix against a folder of stems, or a CSV list of pairs; the
model and the calibration are loaded once; a bad pair is named by its CSV line."""

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from phalar_asteroid.cli import main
from phalar_asteroid.inference import calibration, model
from phalar_asteroid.inference.align import align_files
from phalar_asteroid.inference.model import load_model
from phalar_asteroid.inference.score import score_files


@pytest.fixture(scope="module")
def loaded(model_path):
    return load_model(model_path, "cpu")


def json_lines(out):
    return [json.loads(line) for line in out.splitlines()]


def test_score_a_mix_against_a_folder(audio, model_path, loaded, capsys, count_calls):
    loads = count_calls(model, "load_model")
    calibrations = count_calls(calibration, "load_calibration")
    folder = os.path.dirname(audio["bass0"])
    assert main(["score", audio["mix"], folder, "--json", "--model", model_path]) == 0
    rows = json_lines(capsys.readouterr().out)
    stems = sorted(p for p in audio.values() if os.path.dirname(p) == folder)
    assert [row["stem"] for row in rows] == stems and {row["mix"] for row in rows} == {audio["mix"]}
    assert len(loads) == 1 and len(calibrations) == 1
    for row in rows:  # the mix is embedded once, the scores are those of single pairs
        single = score_files(loaded.model, audio["mix"], row["stem"])
        assert row["score"] == pytest.approx(single.score, abs=1e-5)
        assert (row["n_windows"], row["window_seconds"]) == (
            single.n_windows,
            single.window_seconds,
        )
        assert 0 <= row["percentile"] <= 100
    # Text: a header, then one row per stem.
    assert main(["score", audio["mix"], folder, "--no-calibration", "--model", model_path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["score", "windows", "stem"] and len(lines) == 1 + len(stems)
    for line, row in zip(lines[1:], rows):
        score, windows, stem = line.split(maxsplit=2)
        assert (float(score), int(windows), stem) == (
            round(row["score"], 4),
            row["n_windows"],
            row["stem"],
        )


def test_pairs_file(audio, model_path, loaded, tmp_path, capsys):
    songs = tmp_path / "songs"
    shutil.copytree(os.path.dirname(audio["mix"]), songs)
    pairs = songs / "pairs.csv"  # paths relative to the CSV file's folder
    pairs.write_text(
        "# mixes and stems\nmix,stem,note\nmix.wav,stems/bass0.wav,a\n\nstems/bass1.wav, mix.wav,b\n"
    )
    assert (
        main(["score", "--pairs", str(pairs), "--json", "--no-calibration", "--model", model_path])
        == 0
    )
    rows = json_lines(capsys.readouterr().out)
    expected = [
        (songs / "mix.wav", songs / "stems/bass0.wav"),
        (songs / "stems/bass1.wav", songs / "mix.wav"),
    ]
    assert [(row["mix"], row["stem"]) for row in rows] == [(str(m), str(s)) for m, s in expected]
    for row in rows:
        assert row["score"] == pytest.approx(
            score_files(loaded.model, row["mix"], row["stem"]).score, abs=1e-5
        )

    # A bad row: one line naming the CSV line, before the model loads; or skipped.
    pairs.write_text("mix,stem\nmix.wav,stems/bass0.wav\nmix.wav,stems/missing.wav\n")
    args = ["score", "--pairs", str(pairs), "--no-calibration", "--model", model_path]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"phalar score: error: {pairs} line 3: {songs / 'stems/missing.wav'}: no such file\n"
    )
    assert main(args + ["--skip-errors"]) == 0
    captured = capsys.readouterr()
    assert f"skipping {pairs} line 3:" in captured.err
    assert len(captured.out.splitlines()) == 2  # header and the good pair
    # Unusable audio found while scoring is named by its line too.
    sf.write(songs / "silent.wav", np.zeros(16000, np.float32), 16000)
    pairs.write_text("mix,stem\nmix.wav,silent.wav\n")
    assert main(args) == 1
    assert f"{pairs} line 2: " in capsys.readouterr().err
    for text, message in (("mix\nmix.wav\n", "columns mix,stem"), ("mix,stem\n", "no pairs")):
        pairs.write_text(text)
        assert main(args) == 1
        assert message in capsys.readouterr().err


def test_usage_errors(audio, capsys):
    for args in (["score"], ["score", audio["mix"]], ["align", audio["mix"], "--pairs", "p.csv"]):
        with pytest.raises(SystemExit) as stop:
            main(args)
        assert stop.value.code == 2
    capsys.readouterr()


def test_align_several_stems(audio, model_path, loaded, capsys, tmp_path):
    stems = [audio["bass0"], audio["bass3"]]
    args = ["align", audio["mix"], *stems, "--max-offset", "0.1", "--step", "0.05"]
    assert main(args + ["--json", "--model", model_path]) == 0
    rows = json_lines(capsys.readouterr().out)
    assert [row["stem"] for row in rows] == stems
    for row, stem in zip(rows, stems):
        single = align_files(loaded.model, audio["mix"], stem, 0.1, 0.05)
        assert row["best_offset"] == pytest.approx(single.offsets[single.best])
    assert main(args + ["--model", model_path]) == 0
    out = capsys.readouterr().out
    best_lines = [line for line in out.splitlines() if line.startswith("best offset")]
    assert len(best_lines) == 2 and f"{stems[1]} against {audio['mix']}:" in out
    assert main(args + ["--csv", str(tmp_path / "c.csv"), "--model", model_path]) == 1
    assert "single pair" in capsys.readouterr().err
