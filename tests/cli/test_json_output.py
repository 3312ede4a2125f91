"""``--json``: every subcommand prints what its text output says as JSON objects on stdout, one
per line; errors stay one line on stderr with exit status 1 and nothing on stdout."""

import json
import os
import re

import numpy as np
import pytest

from phalar_asteroid.cli import main
from phalar_asteroid.inference.align import Alignment
from phalar_asteroid.utils.io import sha256_file


def run(capsys, *args):
    assert main(list(args)) == 0
    captured = capsys.readouterr()
    return captured.out


def json_lines(capsys, *args):
    out = run(capsys, *args, "--json")
    return [json.loads(line) for line in out.splitlines()]  # strict JSON: no NaN


def test_score_json_says_what_the_text_says(audio, model_path, capsys):
    args = ("score", audio["mix"], audio["bass0"], "--model", model_path)
    text = run(capsys, *args)
    (result,) = json_lines(capsys, *args)
    score = float(re.search(r"^score (-?\d+\.\d+) \(mean over (\d+)", text).group(1))
    percentile = float(re.search(r"higher than (\d+\.\d) %", text).group(1))
    assert result["mix"] == audio["mix"] and result["stem"] == audio["bass0"]
    assert round(result["score"], 4) == score and result["n_windows"] == 2
    assert result["window_seconds"] == 10.0
    assert round(result["percentile"], 1) == percentile
    assert result["n_random_pairs"] == 32 * 31
    (plain,) = json_lines(capsys, *args, "--no-calibration")
    assert plain["percentile"] is None and plain["score"] == result["score"]


def test_embed_index_search_json(audio, model_path, tmp_path, capsys):
    model = ("--model", model_path)
    files = [audio["mix"], audio["bass2"]]
    (embedded,) = json_lines(capsys, "embed", *files, "--out", str(tmp_path / "e.npz"), *model)
    assert embedded["out"] == str(tmp_path / "e.npz") and embedded["files"] == files
    assert embedded["n_files"] == 2 and embedded["n_windows"] == 3
    assert embedded["windows_per_file"] == [2, 1]
    assert embedded["model_sha256"] == sha256_file(model_path)

    folder, lib = os.path.dirname(audio["bass0"]), str(tmp_path / "lib")
    (indexed,) = json_lines(capsys, "index", folder, "--out", lib, *model)
    assert indexed["n_stems"] == 5 and indexed["n_windows"] == 8
    assert len(indexed["added"]) == 5 and indexed["skipped"] == indexed["dropped"] == []

    args = ("search", audio["mix"], "--library", lib, "--top", "3", *model)
    text = run(capsys, *args).splitlines()
    (found,) = json_lines(capsys, *args)
    assert found["mix"] == audio["mix"] and found["library"] == lib and found["excluded"] == []
    assert [hit["rank"] for hit in found["hits"]] == [1, 2, 3]
    for line, hit in zip(text[2:], found["hits"]):
        rank, score, windows, path = line.split(maxsplit=3)
        assert (int(rank), float(score), int(windows), path) == (
            hit["rank"],
            round(hit["score"], 4),
            hit["n_windows"],
            hit["path"],
        )


def test_align_json_serialises_every_field_of_the_alignment(audio, model_path, capsys):
    args = ("align", audio["mix"], audio["bass0"], "--max-offset", "0.2", "--step", "0.1")
    (result,) = json_lines(capsys, *args, "--model", model_path)
    assert {"mix", "stem", "best_offset", "best_score"} <= set(result)
    # Every dataclass field (and property) appears, whatever fields Alignment gains.
    names = set(Alignment.__dataclass_fields__)
    names |= {n for n in dir(Alignment) if isinstance(getattr(Alignment, n), property)}
    assert {n for n in names if not n.startswith("_")} <= set(result)
    np.testing.assert_allclose(result["offsets"], [-0.2, -0.1, 0.0, 0.1, 0.2], atol=1e-9)
    assert len(result["scores"]) == 5
    assert result["best_offset"] == result["offsets"][result["best"]]
    assert result["best_score"] == max(s for s in result["scores"] if s is not None)


def test_errors_stay_one_line_on_stderr(audio, model_path, capsys):
    for args in (
        ["score", audio["mix"], "missing.wav"],
        ["align", audio["mix"], "missing.wav"],
        ["search", "missing.wav", "--library", "nowhere"],
    ):
        assert main(args + ["--json", "--model", model_path]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1 and "missing.wav: no such file" in captured.err


@pytest.mark.parametrize("value", [float("nan"), np.float32(np.inf)])
def test_non_finite_numbers_become_null(value, capsys):
    from phalar_asteroid.cli.options import print_json

    print_json(dict(a=value, b=np.array([1.0, value]), c=np.int64(3)))
    assert json.loads(capsys.readouterr().out) == dict(a=None, b=[1.0, None], c=3)
