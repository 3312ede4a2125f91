import math

import pytest
import torch
from asteroid_filterbanks import Encoder, get, make_enc_dec
from nnAudio.features.cqt import CQT1992v2

from phalar_asteroid.filterbanks import CQTFB

SR = 16000


@pytest.fixture(scope="module")
def reference():
    return CQT1992v2(sr=SR, hop_length=160, fmin=16.35, n_bins=96, verbose=False)


@pytest.fixture(scope="module")
def fb():
    return CQTFB()


def _signals():
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(2, 24000, generator=g)
    t = torch.arange(24000) / SR
    tones = torch.stack([torch.sin(2 * math.pi * 440.0 * t), torch.sin(2 * math.pi * 61.7 * t)])
    return {"noise": noise, "tones": tones}


def _relative_error(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize("kind", ["noise", "tones"])
def test_magnitude_matches_nnaudio(fb, reference, kind):
    x = _signals()[kind]
    ref = reference(x)
    assert _relative_error(Encoder(fb)(x.unsqueeze(1)), ref) < 1e-4
    assert _relative_error(fb.analysis(x), ref) < 1e-4


def test_tone_peaks_at_its_bin(fb):
    t = torch.arange(32000) / SR
    spec = fb.analysis(torch.sin(2 * math.pi * 440.0 * t)[None])
    # A4 = 440 Hz is bin 57 above C0 (16.35 Hz).
    assert spec[0, :, 100].argmax().item() == 57


def test_filterbank_layout(fb):
    filters = fb.filters()
    assert filters.shape == (192, 1, 32768)
    assert fb.n_feats_out == 96 and fb.stride == 160 and fb.kernel_size == 32768
    assert fb.lengths[0].item() == 16458
    # Every kernel has unit L1 norm as a complex filter.
    l1 = torch.sqrt(filters[:96, 0] ** 2 + filters[96:, 0] ** 2).sum(-1)
    torch.testing.assert_close(l1, torch.ones(96), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("seconds", [1.1, 2.0, 5.0])
def test_frame_count(fb, seconds):
    n = int(seconds * SR)
    assert fb.analysis(torch.randn(1, n)).shape == (1, 96, n // 160 + 1)


def test_too_short_raises(fb):
    with pytest.raises(ValueError, match="16384"):
        fb.analysis(torch.randn(1, 16384))


def test_registry_and_config_round_trip(fb):
    assert get("CQTFB") is CQTFB
    config = fb.get_config()
    assert config["fb_name"] == "CQTFB" and config["n_bins"] == 96
    rebuilt = get(config.pop("fb_name"))(**config)
    torch.testing.assert_close(rebuilt.filters(), fb.filters())
    enc, _ = make_enc_dec("CQTFB", n_filters=192, kernel_size=32768, stride=160, sample_rate=16000)
    assert isinstance(enc.filterbank, CQTFB)


def test_double_registration_guarded():
    import importlib

    import phalar_asteroid.filterbanks as module

    importlib.reload(module)
    assert get("CQTFB") is not None


def test_jit_trace_consistency(fb):
    enc = Encoder(CQTFB(n_bins=24, fmin=130.8)).eval()
    traced = torch.jit.trace(enc, torch.randn(1, 1, 20000))
    x = torch.randn(2, 1, 24000)
    torch.testing.assert_close(traced(x), enc(x))
