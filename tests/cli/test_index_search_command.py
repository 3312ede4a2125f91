"""``phalar index`` and ``phalar search``: exact ranking equal to brute-force scoring."""

import os

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from phalar_asteroid.cli import main
from phalar_asteroid.inference.library import StemLibrary

SR = 16000
STEMS = ("bass0", "bass1", "bass3", "bass4", "melody")  # bass2 (7 s) is not in stems/


def read_16k(path):
    wav, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = torch.from_numpy(wav.mean(axis=1))
    return torchaudio.functional.resample(mono, rate, SR) if rate != SR else mono


def windows(wav):
    """10 s windows every 5 s (every file here holds at least one)."""
    return [wav[s : s + 10 * SR] for s in range(0, len(wav) - 10 * SR + 1, 5 * SR)]


def brute_force_scores(model, mix_path, stem_paths):
    """Mean symmetric score over aligned windows, one model call per window pair."""
    mix = windows(read_16k(mix_path))
    scores = []
    with torch.no_grad():
        for path in stem_paths:
            pairs = list(zip(mix, windows(read_16k(path))))
            emb = [(model.embed(m[None]), model.embed(s[None])) for m, s in pairs]
            scores.append(np.mean([float(model.score_embeddings(a, b)) for a, b in emb]))
    return np.array(scores)


def parse_results(out):
    lines = out.strip().splitlines()
    assert lines[1].split() == ["rank", "score", "windows", "stem"]
    rows = [line.split(maxsplit=3) for line in lines[2:]]
    return [r[3] for r in rows], np.array([float(r[1]) for r in rows]), [int(r[2]) for r in rows]


@pytest.fixture(scope="module")
def library(audio, model_path, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("lib") / "stems.lib")
    stems = os.path.dirname(audio["bass0"])
    assert main(["index", stems, "--out", out, "--model", model_path]) == 0
    return out


def test_search_ranks_like_brute_force(audio, model_path, model, library, capsys):
    assert (
        main(["search", audio["mix"], "--library", library, "--top", "4", "--model", model_path])
        == 0
    )
    paths, scores, pairs = parse_results(capsys.readouterr().out)
    stems = [audio[k] for k in STEMS]
    expected = brute_force_scores(model, audio["mix"], stems)
    order = np.argsort(-expected)[:4]
    assert paths == [stems[i] for i in order]
    np.testing.assert_allclose(scores, expected[order], atol=1e-4)
    # 16 s stems pair two windows with the 16 s mix, 12 s stems one.
    n_windows = [2, 1, 2, 1, 2]
    assert pairs == [n_windows[i] for i in order]


def test_library_holds_hermitian_vectors(audio, model, library):
    lib = StemLibrary.load(library)
    assert lib.keys.dtype == np.float32 and lib.keys.shape == (8, 32)
    stems = sorted(audio[k] for k in STEMS)
    # Stored relative to the library folder, resolved against it when loaded.
    assert lib.files == [os.path.relpath(path, library) for path in stems]
    assert lib.paths == stems
    # Row of the 12 s bass1's only window (its first 10 s): H y_hat as [Re | Im].
    row = np.flatnonzero(lib.row_file == lib.paths.index(audio["bass1"]))
    with torch.no_grad():
        emb = model(read_16k(audio["bass1"])[None, : 10 * SR])
        expected = model.similarity.apply_hermitian(emb).flatten(1).numpy()
    np.testing.assert_allclose(lib.keys[row], expected, atol=1e-5)


def test_float16_library_gives_the_same_scores(audio, model_path, library, tmp_path, capsys):
    half = str(tmp_path / "half.lib")
    stems = os.path.dirname(audio["bass0"])
    assert main(["index", stems, "--out", half, "--float16", "--model", model_path]) == 0
    assert StemLibrary.load(half).keys.dtype == np.float16
    capsys.readouterr()
    results = []
    for lib in (library, half):
        assert (
            main(["search", audio["mix"], "--library", lib, "--top", "6", "--model", model_path])
            == 0
        )
        paths, scores, _ = parse_results(capsys.readouterr().out)
        results.append(dict(zip(paths, scores)))
    assert results[0].keys() == results[1].keys()
    for path, score in results[0].items():
        assert abs(results[1][path] - score) < 2e-3


@pytest.mark.parametrize("engine", ["exact", "ivf"])
def test_search_with_a_faiss_index(audio, model_path, library, engine, capsys):
    args = ["search", audio["mix"], "--library", library, "--top", "4", "--model", model_path]
    assert main(args) == 0
    want = parse_results(capsys.readouterr().out)
    assert main(args + ["--index", engine]) == 0
    got = parse_results(capsys.readouterr().out)
    assert got[0] == want[0] and got[2] == want[2]  # 5 stems: every IVF list is complete
    np.testing.assert_allclose(got[1], want[1], atol=1e-4)
