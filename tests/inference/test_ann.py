"""faiss indexes over a stem library: exact equals numpy, approximate recall, saved indexes."""

import os

import numpy as np
import pytest

pytest.importorskip("faiss")

from phalar_asteroid.inference.ann import AnnIndex, index_path, library_index  # noqa: E402
from phalar_asteroid.inference.library import StemLibrary  # noqa: E402


def random_library(rng, n_files=300, n_windows=4, dim=16, dtype=np.float32):
    """Stems of 1 to ``n_windows`` windows (some starting late: not every window present)."""
    keys, row_file, row_window = [], [], []
    for f in range(n_files):
        first = rng.integers(0, 2)
        count = rng.integers(1, n_windows - first + 1)
        for w in range(first, first + count):
            keys.append(rng.standard_normal(dim).astype(np.float32))
            row_file.append(f)
            row_window.append(w)
    return StemLibrary.from_rows(
        np.stack(keys), row_file, row_window, [f"s{i}.wav" for i in range(n_files)], {}, dtype
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_faiss_exact_equals_numpy(dtype):
    rng = np.random.default_rng(0)
    library = random_library(rng, dtype=dtype)
    index = AnnIndex.build(library, "exact", candidates=5)  # small k': the bound loop grows it
    for trial in range(20):
        m = rng.integers(1, 5)
        queries = rng.standard_normal((m, 16)).astype(np.float32)
        windows = rng.choice(5, m, replace=False)  # window 4 is beyond the library
        exclude = rng.choice(300, 3, replace=False) if trial % 2 else None
        want = library.search(queries, windows, 10, exclude)
        got = library.search(queries, windows, 10, exclude, index=index)
        if dtype == np.float32:
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_allclose(got[1], want[1], atol=1e-5)
        else:  # numpy's float16 path rounds the scores to float16; faiss's does not
            np.testing.assert_allclose(got[1], want[1], rtol=2e-3, atol=2e-3)
        np.testing.assert_array_equal(got[2], library.scores(queries, windows)[1][got[0]])


def clustered_library(rng, n=4000, dim=32, clusters=40):
    """One-window stems around ``clusters`` centres: the structure real embeddings have."""
    centres = rng.standard_normal((clusters, dim)).astype(np.float32) * 3
    keys = centres[rng.integers(0, clusters, n)] + rng.standard_normal((n, dim)).astype(np.float32)
    return StemLibrary.from_rows(keys, np.arange(n), np.zeros(n), [f"s{i}" for i in range(n)], {})


@pytest.mark.parametrize(
    "kind, settings", [("ivf", dict(nlist=32, nprobe=4)), ("hnsw", dict(m=16, ef_search=64))]
)
def test_approximate_recall_at_10(kind, settings):
    rng = np.random.default_rng(1)
    library = clustered_library(rng)
    index = AnnIndex.build(library, kind, candidates=10, **settings)
    queries = library.keys[rng.choice(len(library.keys), 50, replace=False)] + 0.5 * (
        rng.standard_normal((50, 32)).astype(np.float32)
    )
    recall = []
    for query in queries:
        want = library.search(query[None], [0], 10)[0]
        got, scores, _ = library.search(query[None], [0], 10, index=index)
        recall.append(len(set(got) & set(want)) / 10)
        np.testing.assert_allclose(scores, library.scores(query[None], [0])[0][got], atol=1e-4)
    assert np.mean(recall) >= 0.9


def test_saved_index_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    library = random_library(rng, n_files=200)
    folder = str(tmp_path / "stems.lib")
    library.save(folder)
    library = StemLibrary.load(folder)
    built = library_index(library, "ivf", nlist=8, nprobe=8)  # every cell: complete lists
    assert os.path.isfile(os.path.join(index_path(folder, "ivf"), "ann.json"))
    loaded = AnnIndex.load(index_path(folder, "ivf"))
    assert loaded.kind == "ivf" and loaded.params == built.params
    queries = rng.standard_normal((3, 16)).astype(np.float32)
    want = library.search(queries, [0, 1, 2], 10)
    for index in (built, loaded, "ivf"):
        got = library.search(queries, [0, 1, 2], 10, index=index)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], atol=1e-5)
    # An index of other keys is refused, and library_index rebuilds it.
    other = random_library(np.random.default_rng(3), n_files=200)
    with pytest.raises(ValueError, match="rebuild"):
        loaded.check(other)
