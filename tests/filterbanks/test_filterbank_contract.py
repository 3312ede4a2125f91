"""asteroid-filterbanks' generic contract (its filterbank and JIT tests) for CQTFB: every config,
every input rank, and an ``Encoder`` traced on ``(1, T)`` then run on every rank."""

import pytest
import torch
from asteroid_filterbanks import Encoder, get, make_enc_dec

from phalar_asteroid.filterbanks import CQTFB

#: Small kernel frames (fmin well above the default's 16.35 Hz) keep the full convolution cheap;
#: the default config is the shipped one.
CONFIGS = {
    "small": dict(n_bins=24, fmin=500.0),
    "small_hop80": dict(n_bins=36, bins_per_octave=12, fmin=250.0, stride=80),
    "default": dict(),
}
#: Input shapes and the leading shape of the output (None: the batch-like dims of the input).
RANKS = {
    "1d": ((), ()),
    "2d": ((2,), (2,)),
    "3d_mono": ((2, 1), (2,)),
    "3d_multichannel": ((2, 3), (2, 3)),
    "4d": ((1, 2, 3), (1, 2, 3)),
}


def signal(fb, *lead, extra=0, seed=0):
    """Noise longer than the reflect padding, with leading dims ``lead``."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*lead, fb.kernel_size // 2 + 1200 + extra, generator=g)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def fb(request):
    return CQTFB(**CONFIGS[request.param]).eval()


def frames(fb, time):
    return time // fb.stride + 1


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_make_enc_dec_keeps_the_documented_hop(name):
    config = dict(CONFIGS[name])
    n_bins = config.pop("n_bins", 96)
    stride = config.pop("stride", None)
    kwargs = {} if stride is None else {"stride": stride}
    enc, _ = make_enc_dec("CQTFB", 2 * n_bins, None, sample_rate=16000.0, **kwargs, **config)
    assert enc.filterbank.stride == (160 if stride is None else stride)
    assert enc.filterbank.n_bins == n_bins and enc.n_feats_out == n_bins
    assert get("CQTFB") is CQTFB


def test_config_round_trip(fb):
    config = fb.get_config()
    assert config["fb_name"] == "CQTFB" and config["stride"] == fb.stride
    clone = CQTFB(**config)
    torch.testing.assert_close(clone.filters(), fb.filters(), rtol=0, atol=0)
    assert clone.kernel_size == fb.kernel_size and clone.n_bins == fb.n_bins


@pytest.mark.parametrize("rank", sorted(RANKS))
def test_every_rank_matches_the_rows(fb, rank):
    lead, out_lead = RANKS[rank]
    x = signal(fb, *lead)
    encoder = Encoder(fb)
    out = encoder(x)
    assert out.shape == (*out_lead, fb.n_bins, frames(fb, x.shape[-1]))
    rows = x.reshape(-1, x.shape[-1])
    expected = fb.analysis(rows).reshape(*out_lead, fb.n_bins, -1)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


def test_trace_on_2d_runs_on_every_rank(fb):
    encoder = Encoder(fb).eval()
    with torch.no_grad():
        traced = torch.jit.trace(encoder, (signal(fb, 1, seed=1),), check_trace=False)
        for lead, _ in RANKS.values():
            for extra in (0, 2 * fb.stride + 7):
                x = signal(fb, *lead, extra=extra, seed=2)
                torch.testing.assert_close(traced(x), encoder(x), rtol=1e-5, atol=1e-5)


def test_too_short_input_is_refused(fb):
    with pytest.raises(ValueError, match="reflect padding"):
        Encoder(fb)(torch.zeros(1, fb.kernel_size // 2))
