import subprocess
import sys

import asteroid.models
import pytest
import torch

import phalar_asteroid.models
from phalar_asteroid.losses import info_nce
from phalar_asteroid.models.cocola import COCOLA
from phalar_asteroid.nn.hpss import ZERO_HARMONIC, ZERO_PERCUSSIVE, draw_mask_choices

SR = 16000


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return COCOLA().eval()


def test_exact_parameter_counts(model):
    assert n_params(model) == 4_926_300
    assert n_params(model.encoder) == 4_007_260
    assert n_params(model.projection) == 655_872
    assert n_params(model.similarity) == 1_024 + 262_144
    assert n_params(COCOLA(features="mel")) == 4_926_012


@pytest.mark.parametrize("seconds, batch", [(1.0, 3), (4.8, 2), (10.0, 1)])
def test_shapes_and_feature_path(model, seconds, batch):
    x = 0.1 * torch.randn(batch, int(seconds * SR))
    with torch.no_grad():
        feats = model.features(x)
        assert feats.shape == (batch, 2, 64, x.shape[-1] // 160 + 1)
        emb = model(feats)
        assert emb.shape == (batch, 512) and emb.dtype == torch.float32
        # Waveforms (validated, (B, 1, T) accepted) and precomputed features: same computation.
        assert torch.equal(model.embed(x.unsqueeze(1)), emb)


def test_score_and_pairwise_shapes(model):
    x, y = 0.1 * torch.randn(2, SR), 0.1 * torch.randn(3, SR)
    with torch.no_grad():
        scores = model.score(x, y[:2])
        assert scores.shape == (2,)
        matrix = model.pairwise(x, y)
        assert matrix.shape == (2, 3)
        # Symmetric by default: the average of both argument orders.
        torch.testing.assert_close(matrix[:, :2].diagonal(), scores)
        torch.testing.assert_close(model.pairwise(y, x), matrix.T)


def test_min_samples_and_mel_variant(model):
    assert model.min_samples == 1024
    mel = COCOLA(features="mel").eval()
    assert mel.min_samples == 513
    x = 0.1 * torch.randn(3, SR)
    with torch.no_grad():
        feats = mel.features(x)
        assert feats.shape == (3, 1, 64, 101)
        assert mel.embed(x).shape == (3, 512)
        assert torch.equal(mel(feats), mel(x))
        assert model.embed(torch.randn(1, 1024)).shape == (1, 512)


@pytest.mark.parametrize(
    "wav, kwargs, message",
    [
        (torch.randn(1, 1023), {}, "shorter than the model's minimum"),
        (torch.randn(20000), {}, "rank"),
        (torch.randn(1, 2, 20000), {}, "mono"),
        (torch.full((1, 20000), float("nan")), {}, "NaN or Inf"),
        (torch.randn(1, 20000), {"sample_rate": 44100}, "44100"),
    ],
)
def test_bad_input_raises(model, wav, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model.embed(wav, **kwargs)


def test_bad_features_and_config_raise(model):
    with pytest.raises(ValueError, match=r"\(batch, 2, 64, frames\)"):
        model(torch.zeros(1, 1, 64, 50))
    with pytest.raises(ValueError, match="waveforms"):
        model(torch.zeros(1, 2, 64, 50, 1))
    with pytest.raises(ValueError, match="features"):
        COCOLA(features="cqt")
    with pytest.raises(ValueError, match="mask_choices"):
        COCOLA(channel_mode="random")
    with pytest.raises(ValueError, match="hpss"):
        COCOLA(features="mel", channel_mode="harmonic")


def test_channel_modes_mask_before_the_encoder(model):
    feats = model.features(0.1 * torch.randn(3, SR))
    harmonic_only, percussive_only = feats.clone(), feats.clone()
    harmonic_only[:, 1] = 0
    percussive_only[:, 0] = 0
    with torch.no_grad():
        plain = model(feats)
        try:
            model.channel_mode = "harmonic"
            assert torch.equal(model(feats), model(harmonic_only))
            assert model.get_model_args()["channel_mode"] == "harmonic"
            model.channel_mode = "percussive"
            assert torch.equal(model(feats), model(percussive_only))
        finally:
            model.channel_mode = "both"
        assert torch.equal(model(feats), plain)
        choices = torch.tensor([ZERO_HARMONIC, ZERO_PERCUSSIVE, 2])
        mixed = model(feats, mask_choices=choices)
        torch.testing.assert_close(mixed[0], model(percussive_only[:1])[0])
        torch.testing.assert_close(mixed[1], model(harmonic_only[1:2])[0])
        torch.testing.assert_close(mixed[2], plain[2])


def test_serialize_round_trip(model, tmp_path):
    x = 0.1 * torch.randn(2, SR)
    path = tmp_path / "cocola.pth"
    package = model.serialize()
    assert package["model_name"] == "COCOLA"
    assert all(isinstance(v, (int, float, str, bool)) for v in package["model_args"].values())
    torch.save(package, path)
    loaded = COCOLA.from_pretrained(str(path)).eval()
    via_asteroid = asteroid.models.BaseModel.from_pretrained(str(path)).eval()
    with torch.no_grad():
        expected = model.embed(x)
        assert torch.equal(loaded.embed(x), expected)
        assert torch.equal(via_asteroid.embed(x), expected)
    torch.save(x, tmp_path / "x.pt")
    code = (
        "import torch; from phalar_asteroid.models.cocola import COCOLA; "
        f"m = COCOLA.from_pretrained({str(path)!r}).eval(); "
        f"x = torch.load({str(tmp_path / 'x.pt')!r}); "
        f"torch.save(m.embed(x).detach(), {str(tmp_path / 'fresh.pt')!r})"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert torch.equal(torch.load(tmp_path / "fresh.pt"), expected)


def test_registry_and_model_args(model):
    assert asteroid.models.get("COCOLA") is COCOLA
    assert phalar_asteroid.models.get("cocola") is COCOLA
    args = model.get_model_args()
    assert args == dict(
        sample_rate=16000,
        features="hpss",
        n_mels=64,
        embed_dim=512,
        dropout=0.1,
        stochastic_depth=0.2,
        channel_mode="both",
    )


def test_one_adamw_step_changes_every_parameter():
    torch.manual_seed(0)
    # No stochastic depth: a branch dropped for the whole batch would get a zero gradient.
    model = COCOLA(stochastic_depth=0.0).train()
    feats = model.features(0.1 * torch.randn(4, SR))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    # COCOLA's random training masks: one draw per pair, shared by anchor and positive.
    choices = draw_mask_choices(2, torch.Generator().manual_seed(1))
    emb = model(feats, mask_choices=choices.repeat(2))
    info_nce(model.similarity(emb[:2], emb[2:])).backward()
    opt.step()
    unchanged = [n for n, p in model.named_parameters() if torch.equal(p, before[n])]
    assert unchanged == []
    assert all(p.requires_grad for p in model.parameters())
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(feats[:1])).all()
