import math
import subprocess
import sys

import asteroid.models
import pytest
import torch

from phalar_asteroid.models import PHALAR, get
from phalar_asteroid.nn.backbone import LayerScale
from phalar_asteroid.nn.complex import complex_rotate, to_complex

SR = 16000
ABLATIONS = {
    "average_pool": dict(pool="average", head="real", similarity="real_bilinear"),
    "magnitude_lsp": dict(lsp_output="magnitude", head="real", similarity="real_bilinear"),
    "real_head": dict(head="real", similarity="real_bilinear"),
    "mel": dict(frontend="mel"),
    "hermitian": dict(similarity="hermitian"),
    "psd": dict(similarity="psd"),
    "cosine": dict(similarity="cosine"),
}


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return PHALAR().eval()


def test_exact_parameter_counts(model):
    assert n_params(model) == 2_293_104
    assert n_params(model.similarity) == 524_288
    assert n_params(model) - n_params(model.similarity) == 1_768_816
    assert n_params(model.backbone) == 127_344
    assert n_params(model.pool) == 460_800
    assert n_params(model.head) == 1_180_672


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (ABLATIONS["average_pool"], 684_400),
        (ABLATIONS["magnitude_lsp"], 1_442_160),
        (ABLATIONS["mel"], 2_293_104),
    ],
)
def test_ablation_parameter_counts(kwargs, expected):
    assert n_params(PHALAR(**kwargs)) == expected


@pytest.mark.parametrize("seconds", [1.1, 2.0, 4.8, 10.0])
def test_shapes(model, seconds):
    x = torch.randn(2, int(seconds * SR))
    with torch.no_grad():
        assert model(x).shape == (2, 2, 512)
        emb = model.embed(x.unsqueeze(1))
        assert emb.shape == (2, 512) and emb.dtype == torch.complex64
        assert model.score(x, x).shape == (2,)
        assert model.pairwise(x, x[:1]).shape == (2, 1)


@pytest.mark.parametrize(
    "wav, kwargs, message",
    [
        (torch.randn(1, 16384), {}, "shorter than the model's minimum"),
        (torch.randn(20000), {}, "rank"),
        (torch.randn(1, 1, 1, 20000), {}, "rank"),
        (torch.randn(1, 2, 20000), {}, "mono"),
        (torch.full((1, 20000), float("nan")), {}, "NaN or Inf"),
        (torch.tensor([[0.0] * 19999 + [float("inf")]]), {}, "NaN or Inf"),
        (torch.randn(1, 20000), {"sample_rate": 44100}, "44100"),
    ],
)
def test_bad_input_raises(model, wav, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model.embed(wav, **kwargs)


def test_backbone_shift_is_pooled_phase(model):
    x = torch.randn(1, 10 * SR)
    with torch.no_grad():
        features = model.backbone(model.spectrogram(x).unsqueeze(1))
        n = features.shape[-1]
        assert n == 32
        for s in (1, 5):
            r = model.pool(features)
            r_s = model.pool(torch.roll(features, s, dims=-1))
            z = torch.complex(r[:, 0].double(), r[:, 1].double())
            z_s = torch.complex(r_s[:, 0].double(), r_s[:, 1].double())
            k = torch.arange(1, 9, dtype=torch.float64)
            torch.testing.assert_close(
                z_s, z * torch.exp(-2j * math.pi * k * s / n), atol=1e-5, rtol=1e-5
            )


@pytest.mark.parametrize("phi", [0.4, 2.0, -1.1])
def test_head_is_phase_equivariant(model, phi):
    z = torch.randn(3, 2, 640)
    with torch.no_grad():
        torch.testing.assert_close(
            model.head(complex_rotate(z, phi)),
            complex_rotate(model.head(z), phi),
            atol=1e-5,
            rtol=1e-5,
        )


def test_hermitian_score_symmetry_and_phase(model):
    a, b = torch.randn(4, 512, dtype=torch.cfloat), torch.randn(4, 512, dtype=torch.cfloat)
    rotation = torch.polar(torch.tensor(1.0), torch.tensor(1.3))
    with torch.no_grad():
        s_ab = model.score_embeddings(a, b)
        torch.testing.assert_close(s_ab, model.score_embeddings(b, a))
        common = model.score_embeddings(rotation * a, rotation * b)
        torch.testing.assert_close(common, s_ab, atol=1e-5, rtol=1e-5)
        relative = model.score_embeddings(rotation * a, b)
        assert (relative - s_ab).abs().min() > 1e-4
        plain = model.score_embeddings(a, b, symmetric=False)
        assert (plain - model.score_embeddings(b, a, symmetric=False)).abs().max() > 1e-4


def test_score_on_audio_is_symmetric(model):
    x, y = torch.randn(2, 3 * SR), torch.randn(2, 3 * SR)
    with torch.no_grad():
        torch.testing.assert_close(model.score(x, y), model.score(y, x))
        torch.testing.assert_close(model.pairwise(x, y), model.pairwise(y, x).T)


def test_db_floor_clip_is_batch_independent():
    torch.manual_seed(0)
    clip, batch = PHALAR(db_floor="clip").eval(), PHALAR(db_floor="batch").eval()
    batch.load_state_dict(clip.state_dict())
    quiet, loud = 0.01 * torch.randn(1, 2 * SR), torch.randn(1, 2 * SR)
    with torch.no_grad():
        alone = clip.embed(quiet)
        torch.testing.assert_close(clip.embed(torch.cat((quiet, loud)))[:1], alone)
        assert (batch.embed(torch.cat((quiet, loud)))[:1] - batch.embed(quiet)).abs().max() > 1e-3


@pytest.mark.parametrize("frontend", ["cqt", "mel"])
def test_front_end_stays_float32_under_bf16_autocast(frontend):
    # A quiet partial 54 dB below a loud one: a bf16 CQT buries it in rounding noise.
    torch.manual_seed(0)
    model = PHALAR(frontend=frontend, hop_length=320, depth=4).eval()
    t = torch.arange(3 * SR) / SR
    wav = (0.5 * torch.sin(2 * math.pi * 440 * t) + 1e-3 * torch.sin(2 * math.pi * 3000 * t))[None]
    with torch.no_grad():
        reference = model.spectrogram(wav)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            spec = model.spectrogram(wav)
            emb = model.embed(wav)
    assert spec.dtype == torch.float32
    torch.testing.assert_close(spec, reference, rtol=0, atol=0)
    # The backbone runs in bf16: embeddings agree with float32 to bf16 accuracy, not exactly.
    with torch.no_grad():
        full = model.embed(wav)
    assert 0 < (emb - full).abs().max() / full.abs().max() < 0.05


def test_serialize_round_trip(model, tmp_path):
    x = torch.randn(2, 2 * SR)
    path = tmp_path / "model.pth"
    package = model.serialize()
    assert set(package) >= {"model_name", "state_dict", "model_args", "infos"}
    torch.save(package, path)
    assert torch.load(path, weights_only=True)["model_name"] == "PHALAR"
    # The CQT kernels are rebuilt from the config, so the package holds the weights only.
    assert not any(key.startswith("cqt.") for key in package["state_dict"])
    assert path.stat().st_size < 10_000_000
    loaded = PHALAR.from_pretrained(str(path)).eval()
    via_asteroid = asteroid.models.BaseModel.from_pretrained(str(path)).eval()
    with torch.no_grad():
        expected = model.embed(x)
        assert torch.equal(loaded.embed(x), expected)
        assert torch.equal(via_asteroid.embed(x), expected)
    torch.save(x, tmp_path / "x.pt")
    torch.save(expected, tmp_path / "expected.pt")
    code = (
        "import torch; from phalar_asteroid.models import PHALAR; "
        f"m = PHALAR.from_pretrained({str(path)!r}).eval(); "
        f"x = torch.load({str(tmp_path / 'x.pt')!r}); e = torch.load({str(tmp_path / 'expected.pt')!r}); "
        "assert torch.equal(m.embed(x), e), 'embeddings differ'; print('same')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "same"


def test_from_pretrained_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        PHALAR.from_pretrained("no-such-model")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pth"):
        PHALAR.from_pretrained(str(bad))


def test_registry_and_model_args(model):
    assert asteroid.models.get("phalar") is PHALAR
    assert get("PHALAR") is PHALAR
    args = model.get_model_args()
    assert all(isinstance(v, (int, float, str, bool)) for v in args.values())
    assert n_params(PHALAR(**args)) == n_params(model)


def test_invalid_combinations():
    with pytest.raises(ValueError, match="similarity"):
        PHALAR(head="real")
    with pytest.raises(ValueError, match="head='complex'"):
        PHALAR(pool="average")
    with pytest.raises(ValueError, match="pool"):
        PHALAR(pool="max")


def _one_step_changes_everything(model):
    # At initialisation every LayerScale is zero by design, which blocks the gradient to the
    # branch weights; give them a trained-like value so one step reaches every parameter.
    for module in model.modules():
        if isinstance(module, LayerScale):
            torch.nn.init.constant_(module.scale, 0.1)
    model.train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(8, 2 * SR)
    emb = model(x)
    logits = model.similarity(emb[:4], emb[4:])
    from phalar_asteroid.losses import info_nce

    info_nce(logits).backward()
    opt.step()
    unchanged = [n for n, p in model.named_parameters() if torch.equal(p, before[n])]
    assert unchanged == []
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(x[:2])).all()


def test_one_step_changes_every_parameter():
    torch.manual_seed(0)
    _one_step_changes_everything(PHALAR())


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_ablation_builds_trains_and_embeds(name):
    torch.manual_seed(0)
    _one_step_changes_everything(PHALAR(backbone_width=4, depth=3, **ABLATIONS[name]))


def test_embed_windows_match_single_windows():
    torch.manual_seed(0)
    model = PHALAR(backbone_width=4, depth=3).eval()
    track = torch.randn(int(6.5 * SR))
    windows = model.embed_windows(track, window_frames=480, hop_frames=25, batch_size=7)
    spec = model.spectrogram(track[None])
    n_frames = spec.shape[-1]
    assert windows.shape == ((n_frames - 480) // 25 + 1, 512) and windows.is_complex()
    with torch.no_grad():
        third = model.embed_spectrogram(spec[..., 50:530], lsp_padding="right")
    torch.testing.assert_close(windows[2:3], to_complex(third), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="one track"):
        model.embed_windows(torch.randn(2, SR * 6))


def test_frames_follow_the_model_hop():
    assert PHALAR(backbone_width=2, depth=3).frames(4.8) == 480
    coarse = PHALAR(backbone_width=2, depth=3, hop_length=320)
    assert coarse.frames(4.8) == 240 and coarse.frames(0.02) == 1
    with pytest.raises(ValueError, match="hop_seconds=0.01 is not .* 20 ms hops"):
        coarse.frames(0.01, "hop_seconds")
