import librosa
import numpy as np
import pytest
import torch

from phalar_asteroid.nn.hpss import (
    KEEP_BOTH,
    ZERO_HARMONIC,
    ZERO_PERCUSSIVE,
    HPSSLogMel,
    draw_mask_choices,
    mask_channels,
)

SR = 16000
CLICK_PERIOD = 4000  # samples: a click every 0.25 s


def sine_and_clicks(seconds=2.0):
    t = np.arange(int(seconds * SR)) / SR
    # Fades keep the sine's start and end (transients) out of the percussive channel.
    fade = np.clip(np.minimum(t, seconds - t) / 0.1, 0.0, 1.0)
    sine = 0.3 * fade * np.sin(2 * np.pi * 440.0 * t)
    clicks = np.zeros_like(t)
    clicks[CLICK_PERIOD // 2 :: CLICK_PERIOD] = 1.0
    return sine.astype(np.float32), clicks.astype(np.float32)


@pytest.fixture(scope="module")
def frontend():
    return HPSSLogMel()


@pytest.fixture(scope="module")
def mixture_features(frontend):
    sine, clicks = sine_and_clicks()
    return frontend(torch.from_numpy(sine + clicks)[None])[0].numpy()


def test_shape_and_range(frontend, mixture_features):
    n = 2 * SR
    assert mixture_features.shape == (2, 64, n // 160 + 1)
    assert mixture_features.dtype == np.float32
    assert mixture_features.min() >= -80.0 and mixture_features.max() <= 0.0
    # ref=max: each channel peaks at exactly 0 dB; top_db=80 sets the floor.
    assert mixture_features.max(axis=(1, 2)).tolist() == [0.0, 0.0]
    assert mixture_features.min(axis=(1, 2)).tolist() == [-80.0, -80.0]
    assert frontend.min_samples == 1024
    assert frontend(torch.zeros(3, 1024)).shape == (3, 2, 64, 7)


def test_matches_reference_librosa_pipeline(frontend):
    rng = np.random.default_rng(0)
    wav = (0.1 * rng.standard_normal(SR)).astype(np.float32)
    stft = librosa.stft(wav, n_fft=1024, win_length=400, hop_length=160)
    harmonic, percussive = librosa.decompose.hpss(stft)
    expected = [
        librosa.power_to_db(
            librosa.feature.melspectrogram(
                S=np.abs(part) ** 2, sr=SR, fmin=60.0, fmax=7800.0, n_mels=64
            ),
            ref=np.max,
        )
        for part in (harmonic, percussive)
    ]
    np.testing.assert_allclose(frontend.features_one(wav), np.stack(expected), atol=1e-3)


def test_sine_goes_to_harmonic_clicks_to_percussive(mixture_features):
    power = 10.0 ** (mixture_features / 10.0)
    harmonic, percussive = power
    mel_freqs = librosa.mel_frequencies(n_mels=66, fmin=60.0, fmax=7800.0)[1:-1]
    near_sine = np.abs(mel_freqs - 440.0) < 100.0
    assert 2 <= near_sine.sum() <= 4
    # Harmonic channel: the sine's bands hold nearly all the energy.
    assert harmonic[near_sine].sum() / harmonic.sum() > 0.9
    # Percussive channel: frames around the clicks hold nearly all the energy, broadband.
    frames = np.arange(power.shape[-1])
    click_frames = np.arange(CLICK_PERIOD // 2, 2 * SR, CLICK_PERIOD) / 160
    near_click = np.abs(frames[:, None] - click_frames[None]).min(axis=1) <= 2
    assert percussive[:, near_click].sum() / percussive.sum() > 0.9
    high_bands = mel_freqs > 2000.0
    assert percussive[high_bands].sum() / harmonic[high_bands].sum() > 10.0
    # Between clicks, the sine's bands are far louder in the harmonic channel.
    quiet = ~near_click
    assert harmonic[near_sine][:, quiet].mean() / percussive[near_sine][:, quiet].mean() > 30.0


def test_bad_rank_raises(frontend):
    with pytest.raises(ValueError, match=r"\(batch, time\)"):
        frontend(torch.zeros(1, 1, 2048))


def test_fixed_masks():
    feats = -torch.rand(3, 2, 64, 10) * 80
    assert torch.equal(mask_channels(feats, "both"), feats)
    harmonic = mask_channels(feats, "harmonic")
    assert torch.equal(harmonic[:, 0], feats[:, 0])
    assert torch.equal(harmonic[:, 1], torch.zeros(3, 64, 10))
    percussive = mask_channels(feats, "percussive")
    assert torch.equal(percussive[:, 0], torch.zeros(3, 64, 10))
    assert torch.equal(percussive[:, 1], feats[:, 1])
    assert feats.max() < 0, "masking must not modify its input"


def test_random_masks_follow_choices():
    feats = -torch.rand(3, 2, 64, 10) * 80 - 1
    choices = torch.tensor([ZERO_HARMONIC, ZERO_PERCUSSIVE, KEEP_BOTH])
    masked = mask_channels(feats, "random", choices=choices)
    # A masked channel is 0 dB, the loudest level, as in the reference.
    assert torch.equal(masked[0, 0], torch.zeros(64, 10))
    assert torch.equal(masked[0, 1], feats[0, 1])
    assert torch.equal(masked[1, 0], feats[1, 0])
    assert torch.equal(masked[1, 1], torch.zeros(64, 10))
    assert torch.equal(masked[2], feats[2])


def test_random_draws_are_uniform_and_seeded():
    draws = draw_mask_choices(3000, torch.Generator().manual_seed(0))
    counts = torch.bincount(draws, minlength=3)
    assert counts.tolist() != [0, 0, 0] and counts.sum() == 3000
    assert ((counts - 1000).abs() < 100).all()
    again = draw_mask_choices(3000, torch.Generator().manual_seed(0))
    assert torch.equal(draws, again)
    feats = torch.ones(3000, 2, 1, 1)
    masked = mask_channels(feats, "random", generator=torch.Generator().manual_seed(0))
    assert torch.equal(masked[:, 0, 0, 0] == 0, draws == ZERO_HARMONIC)
    assert torch.equal(masked[:, 1, 0, 0] == 0, draws == ZERO_PERCUSSIVE)


@pytest.mark.parametrize(
    "feats, kwargs, message",
    [
        (torch.zeros(2, 2, 4, 4), dict(mode="loud"), "mask mode"),
        (torch.zeros(2, 1, 4, 4), dict(mode="harmonic"), r"\(batch, 2, n_mels, frames\)"),
        (torch.zeros(2, 2, 4, 4), dict(mode="random", choices=torch.zeros(3)), "choices"),
    ],
)
def test_mask_errors(feats, kwargs, message):
    with pytest.raises(ValueError, match=message):
        mask_channels(feats, **kwargs)
