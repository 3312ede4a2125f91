"""Stem library: one dot product per stored row reproduces the symmetric scores exactly, and
searching a built library gives what ``score_files`` gives for each stem."""

import os

import numpy as np
import pytest
import torch

from phalar_asteroid.inference.audio import find_audio_files
from phalar_asteroid.inference.library import StemLibrary, build_library, search_file
from phalar_asteroid.inference.model import load_model
from phalar_asteroid.inference.score import score_files
from phalar_asteroid.nn.similarity import make_similarity

DIM = 8


def symmetric_scores(similarity, a, b):
    return 0.5 * (similarity(a, b) + similarity(b, a).T)


@pytest.mark.parametrize(
    "kind, shape",
    [
        ("bilinear", (2, DIM)),
        ("hermitian", (2, DIM)),
        ("psd", (2, DIM)),
        ("real_bilinear", (DIM,)),
        ("cocola", (DIM,)),
    ],
)
def test_query_dot_key_is_the_symmetric_score(kind, shape):
    torch.manual_seed(0)
    similarity = make_similarity(kind, DIM)
    with torch.no_grad():
        for p in similarity.parameters():  # move off identity / unit initialisations
            p.add_(0.3 * torch.randn_like(p))
    a, b = 3 * torch.randn(5, *shape), torch.randn(7, *shape)
    expected = symmetric_scores(similarity, a, b)
    assert similarity.searchable
    got = similarity.query_vectors(a) @ similarity.key_vectors(b).T
    torch.testing.assert_close(got, expected.detach(), atol=1e-5, rtol=1e-5)


def test_cosine_similarity_is_not_searchable():
    cosine = make_similarity("cosine", DIM)
    assert not cosine.searchable
    with pytest.raises(ValueError, match="not a bilinear form"):
        cosine.key_vectors(torch.randn(3, 2, DIM))
    with pytest.raises(ValueError, match="not a bilinear form"):
        cosine.query_vectors(torch.randn(3, 2, DIM))


def random_library(rng, n_files=50, features=6, dtype=np.float32):
    """Stems with 1 to 4 windows each, some missing (silent) windows."""
    rows = [(f, w) for f in range(n_files) for w in range(rng.integers(1, 5)) if rng.random() > 0.2]
    row_file, row_window = np.array(rows).T
    keys = rng.standard_normal((len(rows), features)).astype(np.float32)
    files = [f"stem{f}.wav" for f in range(n_files)]
    lib = StemLibrary.from_rows(keys, row_file, row_window, files, {"model": "m"}, dtype=dtype)
    return lib, keys, row_file, row_window


def brute_force(keys, row_file, row_window, queries, query_windows, n_files):
    scores = np.full(n_files, -np.inf)
    pairs = np.zeros(n_files, dtype=int)
    for f in range(n_files):
        values = [
            keys[r] @ q
            for r in np.flatnonzero(row_file == f)
            for q, w in zip(queries, query_windows)
            if row_window[r] == w
        ]
        if values:
            scores[f], pairs[f] = np.mean(values), len(values)
    return scores, pairs


def test_search_equals_brute_force_over_aligned_windows():
    rng = np.random.default_rng(1)
    lib, keys, row_file, row_window = random_library(rng)
    assert np.all(np.diff(row_window[np.lexsort((row_file, row_window))]) >= 0)
    queries = rng.standard_normal((3, 6)).astype(np.float32)
    query_windows = np.array([0, 2, 7])  # window 1 silent in the mix; window 7 pairs with nothing
    expected, expected_pairs = brute_force(keys, row_file, row_window, queries, query_windows, 50)
    scores, pairs = lib.scores(queries, query_windows)
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    np.testing.assert_array_equal(pairs, expected_pairs)
    best, best_scores, best_pairs = lib.search(queries, query_windows, top=10)
    np.testing.assert_array_equal(best, np.argsort(-expected, kind="stable")[:10])
    np.testing.assert_allclose(best_scores, expected[best], rtol=1e-5)
    np.testing.assert_array_equal(best_pairs, expected_pairs[best])
    # Asking for more stems than have a paired window returns only those.
    best, _, _ = lib.search(queries, query_windows, top=1000)
    assert len(best) == np.isfinite(expected).sum()
    assert len(lib.search(queries[:1], [9], top=5)[0]) == 0


def test_save_load_round_trip_and_replace(tmp_path):
    rng = np.random.default_rng(2)
    path = str(tmp_path / "lib")
    queries, windows = rng.standard_normal((2, 6)).astype(np.float32), np.array([0, 1])
    for dtype in (np.float32, np.float16):
        lib = random_library(rng, dtype=dtype)[0]
        lib.save(path)  # the second pass replaces the first library
        loaded = StemLibrary.load(path)
        assert isinstance(loaded.keys, np.memmap) and loaded.keys.dtype == dtype
        assert loaded.files == lib.files and loaded.info["model"] == "m"
        np.testing.assert_array_equal(loaded.keys, lib.keys)
        np.testing.assert_array_equal(
            loaded.scores(queries, windows)[0], lib.scores(queries, windows)[0]
        )
    assert sorted(os.listdir(tmp_path)) == ["lib"]


def test_refuses_to_overwrite_or_read_other_folders(tmp_path):
    lib = random_library(np.random.default_rng(3))[0]
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"jpg")
    with pytest.raises(FileExistsError, match="not a stem library"):
        lib.save(str(other))
    assert os.listdir(other) == ["cat.jpg"]
    with pytest.raises(ValueError, match="not a stem library"):
        StemLibrary.load(str(other))
    lib.save(str(tmp_path / "lib"))
    np.save(tmp_path / "lib" / "keys.npy", np.zeros((3, 6), np.float32))
    with pytest.raises(ValueError, match="inconsistent"):
        StemLibrary.load(str(tmp_path / "lib"))


def test_build_and_search_equal_phalar_score(model_path, audio, tmp_path):
    loaded = load_model(model_path, "cpu")
    folder = os.path.dirname(audio["bass0"])
    skipped = []
    library = build_library(loaded, find_audio_files(folder), folder, batch_size=3)
    library.save(str(tmp_path / "lib"))
    library = StemLibrary.load(str(tmp_path / "lib"))
    hits = search_file(loaded, library, audio["mix"], top=3)
    assert len(hits) == 3 and [h.score for h in hits] == sorted(
        (h.score for h in hits), reverse=True
    )
    for hit in hits:  # searching is scoring every stem against the mix, without re-embedding
        pair = score_files(loaded.model, audio["mix"], hit.path)
        assert hit.score == pytest.approx(pair.score, abs=1e-5)
        assert hit.n_windows == pair.n_windows
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "noise.wav").write_text("not audio")
    paths = find_audio_files(folder) + [str(bad / "noise.wav")]
    with pytest.raises(OSError, match="noise.wav: not a readable audio file"):
        build_library(loaded, paths, folder)
    build_library(loaded, paths, folder, on_error=lambda path, err: skipped.append(path))
    assert skipped == [str(bad / "noise.wav")]


def test_search_refuses_another_model(model_path, tiny_model, audio, tmp_path):
    folder = os.path.dirname(audio["bass0"])
    library = build_library(load_model(model_path, "cpu"), find_audio_files(folder)[:1], folder)
    other = tmp_path / "other.pth"
    torch.save(tiny_model(seed=1).serialize(), other)
    with pytest.raises(ValueError, match="built with model 'tiny.pth'"):
        search_file(load_model(str(other), "cpu"), library, audio["mix"])


def test_search_refuses_a_mix_shorter_than_the_windows(model_path, audio):
    # A 7 s mix would be scored against 10 s stem windows: its own stem ranked first in no query.
    loaded = load_model(model_path, "cpu")
    folder = os.path.dirname(audio["bass0"])
    library = build_library(loaded, [audio["bass0"]], folder)
    with pytest.raises(ValueError) as error:
        search_file(loaded, library, audio["bass2"])
    message = str(error.value)
    for fragment in (audio["bass2"], "7.00 s", "10 s windows", "phalar score"):
        assert fragment in message, message


@pytest.mark.parametrize("num_workers", [0, 1], ids=["read here", "decoded by a worker"])
def test_a_stem_shorter_than_the_windows_is_refused_or_left_out(model_path, audio, num_workers):
    # Its one 7 s window would be paired with a 10 s mix window, which holds more music.
    loaded = load_model(model_path, "cpu")
    folder = os.path.dirname(audio["mix"])
    paths = [audio["bass0"], audio["bass2"]]
    with pytest.raises(ValueError) as error:
        build_library(loaded, paths, folder, num_workers=num_workers)
    message = str(error.value)
    for fragment in (audio["bass2"], "7.00 s", "10 s windows of a stem library", "phalar score"):
        assert fragment in message, message
    errors = []
    library = build_library(
        loaded, paths, folder, on_error=lambda *e: errors.append(e), num_workers=num_workers
    )
    assert library.paths == [audio["bass0"]]
    assert [(path, type(err)) for path, err in errors] == [(audio["bass2"], ValueError)]


def test_broken_key_files_are_refused_naming_the_folder(tmp_path):
    lib, keys = random_library(np.random.default_rng(4))[:2]
    path = str(tmp_path / "lib")
    lib.save(path)
    keys_file = tmp_path / "lib" / "keys.npy"
    keys_file.write_bytes(b"")  # an interrupted copy
    with pytest.raises(ValueError, match=f"{path}: unreadable stem library"):
        StemLibrary.load(path)
    np.save(keys_file, np.zeros((len(keys), keys.shape[1] + 2), np.float32))  # another model's
    with pytest.raises(ValueError, match=f"{path}: inconsistent stem library.*8 features.*6"):
        StemLibrary.load(path)
    np.save(keys_file, keys.astype(np.int64))
    with pytest.raises(ValueError, match=f"{path}: inconsistent stem library.*int64"):
        StemLibrary.load(path)
    np.save(keys_file, keys)
    assert StemLibrary.load(path).keys.shape == keys.shape
