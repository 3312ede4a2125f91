import pytest
import torch

from phalar_asteroid.nn import make_similarity
from phalar_asteroid.nn.complex import complex_rotate
from phalar_asteroid.nn.similarity import CplxBilinearSimilarity


def _embeddings(n=5, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, dim, generator=g), torch.randn(n, 2, dim, generator=g)


def test_hermitian_is_symmetric_and_plain_is_not():
    sim = CplxBilinearSimilarity(16)
    x, y = _embeddings()
    h = sim(x, y, form="hermitian")
    torch.testing.assert_close(h, sim(y, x, form="hermitian").T)
    plain = sim(x, y)
    assert (plain - sim(y, x).T).abs().max() > 1e-3
    torch.testing.assert_close(h, 0.5 * (plain + sim(y, x).T))


def test_hermitian_matches_explicit_matrix():
    sim = CplxBilinearSimilarity(16)
    x, y = _embeddings()
    hy = sim.apply_hermitian(y)
    x_hat = x / torch.sqrt(x.flatten(1).pow(2).sum(1) + 1e-6).view(-1, 1, 1)
    torch.testing.assert_close(x_hat.flatten(1) @ hy.flatten(1).T, sim(x, y, form="hermitian"))


@pytest.mark.parametrize("kind", ["bilinear", "hermitian", "psd", "cosine"])
def test_common_phase_invariance_relative_phase_sensitivity(kind):
    torch.manual_seed(1)
    sim = make_similarity(kind, 16)
    x, y = _embeddings()
    base = sim.diagonal(x, y)
    common = sim.diagonal(complex_rotate(x, 0.9), complex_rotate(y, 0.9))
    torch.testing.assert_close(common, base, atol=1e-5, rtol=1e-5)
    relative = sim.diagonal(complex_rotate(x, 0.9), y)
    if kind == "cosine":  # |x'^H y'| is phase invariant by design
        torch.testing.assert_close(relative, base, atol=1e-5, rtol=1e-5)
    else:
        assert (relative - base).abs().max() > 1e-3


@pytest.mark.parametrize(
    "kind", ["bilinear", "hermitian", "psd", "cosine", "real_bilinear", "cocola"]
)
def test_diagonal_is_matrix_diagonal(kind):
    sim = make_similarity(kind, 16)
    x, y = _embeddings()
    if kind in ("real_bilinear", "cocola"):
        x, y = x[:, 0], y[:, 0]
    torch.testing.assert_close(sim.diagonal(x, y), torch.diagonal(sim(x, y)), atol=1e-5, rtol=1e-5)


def test_parameter_counts():
    assert sum(p.numel() for p in make_similarity("bilinear", 512).parameters()) == 524288
    assert sum(p.numel() for p in make_similarity("real_bilinear", 512).parameters()) == 262144
    assert sum(p.numel() for p in make_similarity("cocola", 512).parameters()) == 262144 + 1024


def test_unknown_kind():
    with pytest.raises(ValueError, match="Unknown similarity"):
        make_similarity("dot", 8)
    with pytest.raises(ValueError, match="form"):
        CplxBilinearSimilarity(8, form="sym")
