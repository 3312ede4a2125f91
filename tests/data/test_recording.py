"""Recording-chain augmentations: exact bleed, time alignment, and no effect when disabled."""

import numpy as np
import pytest

from phalar_asteroid.data.augment import AugmentConfig, add_noises, augment_pair
from phalar_asteroid.data.recording import RecordingConfig, bleed_stems, recording_chain

RATE = 16000
ALL_ON = RecordingConfig(bleed_p=1.0, eq_p=1.0, compress_p=1.0, reverb_p=1.0, level_p=1.0)


def click_train(n=RATE * 2, period=3001):
    x = np.zeros(n, dtype=np.float32)
    x[500::period] = 1.0
    return x


def test_bleed_adds_the_other_stems_at_the_drawn_level():
    stems = np.array([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]], dtype=np.float32)
    config = RecordingConfig(bleed_p=1.0, bleed_db_min=-20.0, bleed_db_max=-20.0)
    out = bleed_stems(stems, config, np.random.default_rng(0))
    others = stems.sum(axis=0) - stems
    np.testing.assert_allclose(out, stems + 0.1 * others, rtol=1e-6)
    # Disabled, or a single stem: untouched.
    assert bleed_stems(stems, RecordingConfig(), np.random.default_rng(0)) is stems
    np.testing.assert_array_equal(
        bleed_stems(stems[:1], config, np.random.default_rng(0)), stems[:1]
    )


@pytest.mark.parametrize("seed", range(4))
def test_the_chain_keeps_every_click_in_place(seed):
    x = click_train()
    y = recording_chain(x, ALL_ON, np.random.default_rng(seed), RATE)
    assert y.shape == x.shape and y.dtype == np.float32
    # Cross-correlation peaks at lag 0: the anchor and positive stay aligned.
    lags = np.arange(-200, 201)
    xcorr = [np.dot(x[200:-200], np.roll(y, -lag)[200:-200]) for lag in lags]
    assert lags[int(np.argmax(xcorr))] == 0
    assert not np.allclose(y, x)  # every effect fired, so the signal did change


def test_level_change_stays_in_its_range():
    x = np.random.default_rng(1).standard_normal(RATE).astype(np.float32) * 0.1
    config = RecordingConfig(level_p=1.0, level_db=3.0)
    for seed in range(8):
        y = recording_chain(x, config, np.random.default_rng(seed), RATE)
        ratio_db = 20 * np.log10(np.sqrt(np.mean(y**2)) / np.sqrt(np.mean(x**2)))
        assert -3.0 - 1e-4 <= ratio_db <= 3.0 + 1e-4


def test_compression_lowers_the_crest_factor():
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(RATE) * 0.05).astype(np.float32)
    x[::4000] = 0.9  # loud transients over a quiet bed
    config = RecordingConfig(compress_p=1.0, compress_threshold_min=-20, compress_threshold_max=-20)
    y = recording_chain(x, config, np.random.default_rng(0), RATE)
    crest = lambda s: np.max(np.abs(s)) / np.sqrt(np.mean(s**2))  # noqa: E731
    assert crest(y) < 0.8 * crest(x)


def test_disabled_chain_leaves_augment_pair_as_it_was():
    rng_data = np.random.default_rng(3)
    anchor = rng_data.standard_normal(RATE).astype(np.float32)
    positive = rng_data.standard_normal(RATE).astype(np.float32)
    config = AugmentConfig()
    got = augment_pair(anchor, positive, config, np.random.default_rng(7), RATE)
    # The pre-recording order of draws: gain, then the noises of each side.
    rng = np.random.default_rng(7)
    gain = np.float32(10.0 ** (rng.uniform(-config.gain_db, config.gain_db) / 20.0))
    expected_anchor = add_noises(anchor * gain, config, rng, RATE).astype(np.float32)
    expected_positive = add_noises(positive * gain, config, rng, RATE).astype(np.float32)
    np.testing.assert_array_equal(got[0], expected_anchor)
    np.testing.assert_array_equal(got[1], expected_positive)


def test_enabled_chain_changes_augment_pair():
    x = click_train()
    config = AugmentConfig(reverb_p=1.0)
    plain = augment_pair(x, x, AugmentConfig(), np.random.default_rng(0), RATE)
    wet = augment_pair(x, x, config, np.random.default_rng(0), RATE)
    assert not np.allclose(plain[0], wet[0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(reverb_p=1.5), "reverb_p"),
        (dict(bleed_db_min=-10.0, bleed_db_max=-20.0), "bleed_db_min"),
        (dict(compress_ratio_min=8.0), "compress_ratio_min"),
    ],
)
def test_config_rejects_bad_ranges(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RecordingConfig(**kwargs)
