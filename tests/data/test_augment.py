import dataclasses

import numpy as np
import pytest
import yaml
from scipy.signal import welch

from phalar_asteroid.data.augment import (
    AugmentConfig,
    add_at_snr,
    augment_pair,
    band_noise,
    colored_noise,
    transient_noise,
)

RATE = 16000
NO_NOISE = dict(white_p=0.0, pink_p=0.0, brown_p=0.0, band_p=0.0, transient_p=0.0)


def _rms(x):
    return np.sqrt(np.mean(np.square(x, dtype=np.float64)))


@pytest.mark.parametrize("exponent, slope", [(0, 0.0), (1, -1.0), (2, -2.0)])
def test_noise_colour_slopes(exponent, slope):
    x = colored_noise(2**16, exponent, np.random.default_rng(exponent))
    assert abs(_rms(x) - 1.0) < 1e-9
    freqs, psd = welch(x, fs=RATE, nperseg=2048)
    band = (freqs >= 50) & (freqs <= 5000)
    fitted = np.polyfit(np.log10(freqs[band]), np.log10(psd[band]), 1)[0]
    assert abs(fitted - slope) < 0.2


def test_band_noise_stays_in_band():
    x = band_noise(2**15, 1000, 2000, RATE, 3, np.random.default_rng(0))
    freqs, psd = welch(x, fs=RATE, nperseg=1024)
    inside = psd[(freqs >= 900) & (freqs <= 2200)].sum() / psd.sum()
    assert inside > 0.9


def test_transient_bursts():
    for seed in range(20):
        x = transient_noise(1000, 3, 10, 30, np.random.default_rng(seed))
        assert 10 <= np.count_nonzero(x) <= 90
        assert abs(_rms(x) - 1.0) < 1e-9
    assert np.count_nonzero(transient_noise(5, 1, 10, 30, np.random.default_rng(0))) == 5


def test_snr_is_relative_to_signal_rms():
    rng = np.random.default_rng(0)
    signal = (0.3 * rng.standard_normal(RATE)).astype(np.float32)
    noise = colored_noise(RATE, 0, rng)
    noisy = add_at_snr(signal, noise, 12.0)
    measured = 20 * np.log10(_rms(signal) / _rms(noisy - signal))
    assert abs(measured - 12.0) < 0.01
    silent = np.zeros(RATE, np.float32)
    assert np.array_equal(add_at_snr(silent, noise, 12.0), silent)


def test_gain_is_shared_by_anchor_and_positive():
    config = AugmentConfig(**NO_NOISE)
    rng = np.random.default_rng(1)
    anchor, positive = rng.uniform(0.1, 0.5, (2, 1000)).astype(np.float32)
    gains = []
    for seed in range(10):
        a, p = augment_pair(anchor, positive, config, np.random.default_rng(seed))
        gain = a / anchor
        np.testing.assert_allclose(gain, gain[0], rtol=1e-5)
        np.testing.assert_allclose(p / positive, gain[0], rtol=1e-5)
        gains.append(20 * np.log10(gain[0]))
    assert all(-6.0 <= g <= 6.0 for g in gains) and np.std(gains) > 1.0


def test_noises_are_independent_and_at_range():
    config = AugmentConfig(gain_db=0.0, pink_p=0.0, brown_p=0.0, band_p=0.0, transient_p=0.0)
    config.white_p = 1.0
    signal = np.sin(np.linspace(0, 200, RATE)).astype(np.float32)
    a, p = augment_pair(signal, signal, config, np.random.default_rng(3))
    assert not np.allclose(a - signal, p - signal)
    for side in (a, p):
        snr = 20 * np.log10(_rms(signal) / _rms(side - signal))
        assert 15.0 - 1e-3 <= snr <= 25.0 + 1e-3


def test_every_noise_on_and_band_edge_clamped():
    config = AugmentConfig(
        white_p=1, pink_p=1, brown_p=1, band_p=1, transient_p=1, band_low_max=7700
    )
    signal = np.random.default_rng(0).standard_normal(RATE).astype(np.float32)
    for seed in range(30):
        a, p = augment_pair(signal, signal, config, np.random.default_rng(seed))
        assert a.dtype == np.float32 and np.all(np.isfinite(a)) and np.all(np.isfinite(p))


def test_config_from_yaml():
    config = AugmentConfig(**yaml.safe_load("white_p: 0.1\nband_high_max: 7000\n"))
    assert config.white_p == 0.1 and config.band_high_max == 7000
    assert all(
        isinstance(getattr(config, f.name), (int, float)) for f in dataclasses.fields(config)
    )
