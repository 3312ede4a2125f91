"""Asteroid's generic model contract (its models_test / publish_test / JIT tests), run on every
model configuration: serialisation round trip, loading through ``BaseModel.from_pretrained``,
tracing, ``in_channels`` and the separation interface, which an encoder refuses."""

import os

import asteroid.models
import asteroid.separate
import numpy as np
import pytest
import soundfile as sf
import torch

from phalar_asteroid.models import COCOLA, PHALAR

SR = 16000
TINY_PHALAR = dict(
    hop_length=320, backbone_width=2, depth=1, lsp_channels=4, lsp_components=2, embed_dim=8
)
SMALL_COCOLA = dict(n_mels=32, embed_dim=16)
CONFIGS = {
    "phalar_cqt": (PHALAR, TINY_PHALAR),
    "phalar_mel": (PHALAR, dict(TINY_PHALAR, frontend="mel")),
    "phalar_real_head": (PHALAR, dict(TINY_PHALAR, head="real", similarity="real_bilinear")),
    "cocola_hpss": (COCOLA, SMALL_COCOLA),
    "cocola_mel": (COCOLA, dict(SMALL_COCOLA, features="mel")),
}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def model(request):
    cls, kwargs = CONFIGS[request.param]
    torch.manual_seed(0)
    return cls(**kwargs).eval()


def wav(model, batch=2, extra=0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(batch, max(model.min_samples, SR) + extra, generator=g)


@pytest.fixture(scope="module")
def package(model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("package") / "model.pth")
    torch.save(model.serialize(), path)
    return path


def test_serialize_round_trip(model, package):
    x = wav(model, batch=1)
    with torch.no_grad():
        expected = model(x)
        for loaded in (type(model).from_pretrained(package), PHALAR.from_pretrained(package)):
            assert type(loaded) is type(model)
            assert loaded.get_model_args() == model.get_model_args()
            torch.testing.assert_close(loaded.eval()(x), expected, rtol=0, atol=0)


def test_asteroid_base_model_loads_the_package(model, package):
    loaded = asteroid.models.BaseModel.from_pretrained(package)
    assert type(loaded) is type(model) and loaded.sample_rate == SR
    x = wav(model, batch=1)
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(x), model(x), rtol=0, atol=0)
    package_dict = model.serialize()
    assert set(package_dict) >= {"model_name", "state_dict", "model_args", "infos"}
    assert package_dict["model_name"] == type(model).__name__


def test_in_channels_counts_audio_channels(model):
    assert model.in_channels == 1
    assert model.sample_rate == SR


def test_separate_refuses(model, tmp_path):
    x = wav(model, batch=1)
    calls = [
        lambda: model.separate(x),
        lambda: model.torch_separate(x),
        lambda: model.numpy_separate(x.numpy()),
        lambda: model.forward_wav(x),
        lambda: asteroid.separate.separate(model, x),
    ]
    for call in calls:
        with pytest.raises(NotImplementedError, match="separates no sources"):
            call()
    # The file API gets past Asteroid's channel check with mono audio, then refuses.
    path = str(tmp_path / "x.wav")
    sf.write(path, x[0].numpy(), SR)
    for call in (
        lambda: model.separate(path),
        lambda: asteroid.separate.file_separate(model, path),
    ):
        with pytest.raises(NotImplementedError, match="separates no sources"):
            call()
    assert sorted(os.listdir(tmp_path)) == ["x.wav"]


def test_trace_from_2d_takes_both_waveform_ranks(model):
    x = wav(model, batch=1, seed=1)
    if getattr(model, "feature_channels", 1) == 2:
        with pytest.raises(RuntimeError, match="librosa"):
            torch.jit.trace(model, (x,), check_trace=False)
        return
    with torch.no_grad():
        traced = torch.jit.trace(model, (x,), check_trace=False)
        for batch in (1, 3):
            y = wav(model, batch=batch, seed=2)
            expected = model(y)
            assert np.isfinite(expected.numpy()).all()
            torch.testing.assert_close(traced(y), expected, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(traced(y.unsqueeze(1)), expected, rtol=1e-5, atol=1e-6)


def test_multichannel_forward_is_refused(model):
    with pytest.raises(ValueError, match="mono"):
        model(wav(model).unsqueeze(1).repeat(1, 2, 1))


def test_embed_in_batches_equals_one_pass(model):
    x = wav(model, batch=5, seed=3)
    with torch.no_grad():
        whole = model.embed(x)
        torch.testing.assert_close(model.embed(x, batch_size=2), whole, rtol=1e-5, atol=1e-6)
    assert whole.shape[0] == 5 and whole.dim() == 2
    assert whole.is_complex() == model.is_complex
    with pytest.raises(ValueError, match="batch_size"):
        model.embed(x, batch_size=0)


def test_scoring_takes_what_embed_returns(model):
    x, y = wav(model, batch=3, seed=4), wav(model, batch=3, seed=5)
    with torch.no_grad():
        a, b = model.embed(x), model.embed(y)
        torch.testing.assert_close(
            model.score_embeddings(a, b), model.score(x, y), atol=1e-5, rtol=1e-5
        )
        matrix = model.score_embeddings(a, b, all_pairs=True)
        torch.testing.assert_close(matrix, model.pairwise(x, y), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            torch.diagonal(matrix), model.score_embeddings(a, b), atol=1e-5, rtol=1e-5
        )
        # A library stores key vectors once; one dot product per row gives the symmetric score.
        searched = model.query_vectors(a) @ model.key_vectors(b).T
        torch.testing.assert_close(searched, matrix, atol=1e-5, rtol=1e-5)
    internal = model(model.prepare_input(x))
    if model.is_complex:  # the internal (batch, 2, dim) layout is refused, with the reason
        with pytest.raises(ValueError, match="expected \\(batch, dim\\) embeddings"):
            model.score_embeddings(internal, internal)
        with pytest.raises(ValueError, match="complex embeddings"):
            model.score_embeddings(a.real, b.real)
    with pytest.raises(ValueError, match="equal batches"):
        model.score_embeddings(a, b[:2])


def test_score_and_pairwise_refuse_unequal_lengths(model):
    x, y = wav(model, batch=2, seed=6), wav(model, batch=2, extra=SR // 2, seed=7)
    with torch.no_grad():
        for call in (model.score, model.pairwise):
            with pytest.raises(ValueError, match=r"x has \d+ samples and y \d+.*trim.*score_wav"):
                call(x, y)
        assert model.pairwise(x, y[:, : x.shape[-1]]).shape == (2, 2)  # trimmed: accepted


def test_score_and_pairwise_refuse_silent_clips(model):
    x, y = wav(model, batch=3, seed=8), wav(model, batch=3, seed=9)
    quiet = 1e-4 * y  # RMS about -90 dBFS: below the -60 dBFS floor
    y_silent = torch.stack((y[0], torch.zeros_like(y[1]), quiet[2]))
    with torch.no_grad():
        with pytest.raises(ValueError, match=r"score\(\): rows \[1, 2\] of y are silent.*-60"):
            model.score(x, y_silent)
        with pytest.raises(ValueError, match=r"rows \[0, 1, 2\] of x and rows \[0, 1, 2\] of y"):
            model.score(torch.zeros_like(x), torch.zeros_like(y))
        with pytest.raises(ValueError, match=r"pairwise\(\): rows \[1, 2\] of y are silent"):
            model.pairwise(x, y_silent)
        with pytest.raises(ValueError, match=r"12 rows of y \(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, …\)"):
            model.pairwise(x, torch.zeros(12, x.shape[-1]))
        assert model.score(x, 0.02 * y).shape == (3,)  # about -54 dBFS: above the floor
        # Training and embedding take quiet crops as they are.
        assert model.embed(torch.zeros_like(x)).shape[0] == 3
        assert model(torch.zeros_like(x)).shape[0] == 3


def test_numpy_views_with_negative_strides_are_accepted(model):
    # Read-only windows read backwards (as phalar align scans offsets): the last batch of 5 rows
    # by 2 is one row, which numpy calls contiguous whatever its (negative) stride.
    padded = wav(model, batch=1, extra=400, seed=10)[0].numpy()
    clips = np.lib.stride_tricks.sliding_window_view(padded, len(padded) - 400)[::100][::-1]
    with torch.no_grad():
        expected = model.embed(clips.copy())
        torch.testing.assert_close(model.embed(clips, batch_size=2), expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(model.embed(clips[:1]), expected[:1], rtol=1e-5, atol=1e-6)
