"""Training augmentations of a pair, with proper noise colours (docs/protocols.md#augmentations).

Order: one random gain shared by anchor and positive, then, independently for each side, the
recording chain of :mod:`.recording` (off by default) and white, pink, brown, band-limited and
transient noise, each with its own probability and SNR. The SNR is relative to the RMS of the
signal it is added to, so a silent signal receives no noise.
"""

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfilt

from .recording import RecordingConfig, recording_chain


@dataclass
class AugmentConfig(RecordingConfig):
    """Probabilities and ranges of the augmentations (all scalars, so a YAML conf can set them).

    The recording chain's fields are inherited from :class:`~.recording.RecordingConfig` (all
    off by default); the noise fields follow.

    Args:
        gain_db (float): gain drawn in U(-gain_db, gain_db) dB, shared by both sides.
        white_p, white_snr_min, white_snr_max (float): white noise.
        pink_p, pink_snr_min, pink_snr_max (float): pink noise (PSD ∝ 1/f).
        brown_p, brown_snr_min, brown_snr_max (float): brown noise (PSD ∝ 1/f²).
        band_p, band_snr_min, band_snr_max (float): band-limited noise.
        band_low_min, band_low_max (int): lower band edge drawn in [min, max] Hz.
        band_min_width (int): upper edge drawn in [low + band_min_width, Nyquist] Hz ...
        band_high_max (float): ... then clamped to this (a Butterworth cutoff must be < Nyquist).
        band_order (int): Butterworth band-pass order.
        transient_p, transient_snr_min, transient_snr_max (float): transient bursts.
        transient_bursts_min, transient_bursts_max (int): number of bursts.
        transient_len_min, transient_len_max (int): burst length in samples.
    """

    gain_db: float = 6.0
    white_p: float = 0.5
    white_snr_min: float = 15.0
    white_snr_max: float = 25.0
    pink_p: float = 0.5
    pink_snr_min: float = 15.0
    pink_snr_max: float = 25.0
    brown_p: float = 0.3
    brown_snr_min: float = 12.0
    brown_snr_max: float = 20.0
    band_p: float = 0.3
    band_snr_min: float = 12.0
    band_snr_max: float = 20.0
    band_low_min: int = 100
    band_low_max: int = 4000
    band_min_width: int = 100
    band_high_max: float = 7900.0
    band_order: int = 3
    transient_p: float = 0.2
    transient_snr_min: float = 6.0
    transient_snr_max: float = 12.0
    transient_bursts_min: int = 1
    transient_bursts_max: int = 3
    transient_len_min: int = 10
    transient_len_max: int = 30


def _unit_rms(x: np.ndarray) -> np.ndarray:
    rms = np.sqrt(np.mean(np.square(x)))
    return x / rms if rms > 0 else x


def colored_noise(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with power spectral density ∝ 1/f^exponent, unit RMS.

    White noise is shaped in the rFFT domain: bin m ≥ 1 is scaled by m^(-exponent/2) and the DC
    bin is zeroed (0: white, 1: pink, 2: brown).

    Args:
        n (int): number of samples.
        exponent (float): spectral exponent.
        rng (np.random.Generator): random generator.

    Returns:
        np.ndarray: float64 noise, shape (n,).
    """
    white = rng.standard_normal(n)
    if exponent == 0:
        return _unit_rms(white)
    spectrum = np.fft.rfft(white)
    scale = np.zeros(len(spectrum))
    scale[1:] = np.arange(1, len(spectrum)) ** (-exponent / 2.0)
    return _unit_rms(np.fft.irfft(spectrum * scale, n))


def band_noise(
    n: int, low: float, high: float, sample_rate: int, order: int, rng: np.random.Generator
) -> np.ndarray:
    """White noise through a Butterworth band-pass, unit RMS.

    Args:
        n (int): number of samples.
        low, high (float): band edges in Hz (``high`` below Nyquist).
        sample_rate (int): sample rate in Hz.
        order (int): filter order.
        rng (np.random.Generator): random generator.

    Returns:
        np.ndarray: float64 noise, shape (n,).
    """
    sos = butter(order, [low, high], btype="bandpass", fs=sample_rate, output="sos")
    return _unit_rms(sosfilt(sos, rng.standard_normal(n)))


def transient_noise(
    n: int, bursts: int, len_min: int, len_max: int, rng: np.random.Generator
) -> np.ndarray:
    """Short Gaussian bursts at random positions, zero elsewhere, unit RMS overall.

    Args:
        n (int): number of samples.
        bursts (int): number of bursts.
        len_min, len_max (int): burst length range in samples (clipped to ``n``).
        rng (np.random.Generator): random generator.

    Returns:
        np.ndarray: float64 noise, shape (n,).
    """
    noise = np.zeros(n)
    for _ in range(bursts):
        length = min(n, int(rng.integers(len_min, len_max, endpoint=True)))
        start = int(rng.integers(0, n - length, endpoint=True))
        noise[start : start + length] = rng.standard_normal(length)
    return _unit_rms(noise)


def add_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add unit-RMS ``noise`` so that 20·log10(rms(signal) / rms(added noise)) = ``snr_db``.

    Args:
        signal (np.ndarray): signal, shape (T,).
        noise (np.ndarray): unit-RMS noise, shape (T,).
        snr_db (float): signal-to-noise ratio in dB.

    Returns:
        np.ndarray: the noisy signal (the signal itself when it is silent).
    """
    rms = np.sqrt(np.mean(np.square(signal, dtype=np.float64)))
    if rms == 0:
        return signal
    return (signal + noise * (rms * 10.0 ** (-snr_db / 20.0))).astype(signal.dtype)


def add_noises(
    x: np.ndarray, config: AugmentConfig, rng: np.random.Generator, sample_rate: int = 16000
) -> np.ndarray:
    """Apply the five noise augmentations to one side of a pair, in order.

    Args:
        x (np.ndarray): signal, shape (T,).
        config (AugmentConfig): probabilities and ranges.
        rng (np.random.Generator): random generator.
        sample_rate (int): sample rate in Hz.

    Returns:
        np.ndarray: the augmented signal, shape (T,).
    """
    n = len(x)
    c = config
    for p, exponent, snr_min, snr_max in (
        (c.white_p, 0, c.white_snr_min, c.white_snr_max),
        (c.pink_p, 1, c.pink_snr_min, c.pink_snr_max),
        (c.brown_p, 2, c.brown_snr_min, c.brown_snr_max),
    ):
        if rng.random() < p:
            x = add_at_snr(x, colored_noise(n, exponent, rng), rng.uniform(snr_min, snr_max))
    if rng.random() < c.band_p:
        low = int(rng.integers(c.band_low_min, c.band_low_max, endpoint=True))
        high = int(rng.integers(low + c.band_min_width, sample_rate // 2, endpoint=True))
        noise = band_noise(n, low, min(high, c.band_high_max), sample_rate, c.band_order, rng)
        x = add_at_snr(x, noise, rng.uniform(c.band_snr_min, c.band_snr_max))
    if rng.random() < c.transient_p:
        bursts = int(rng.integers(c.transient_bursts_min, c.transient_bursts_max, endpoint=True))
        noise = transient_noise(n, bursts, c.transient_len_min, c.transient_len_max, rng)
        x = add_at_snr(x, noise, rng.uniform(c.transient_snr_min, c.transient_snr_max))
    return x


def random_gain(config: AugmentConfig, rng: np.random.Generator) -> np.float32:
    """A linear gain of U(-gain_db, gain_db) dB.

    Args:
        config (AugmentConfig): gain range (``gain_db``).
        rng (np.random.Generator): random generator.

    Returns:
        np.float32: the gain factor.
    """
    return np.float32(10.0 ** (rng.uniform(-config.gain_db, config.gain_db) / 20.0))


def augment_side(
    x: np.ndarray, config: AugmentConfig, rng: np.random.Generator, sample_rate: int = 16000
) -> np.ndarray:
    """The per-side part of the augmentations: the recording chain (when enabled), then noises.

    Args:
        x (np.ndarray): one submix, already scaled by the pair's gain, shape (T,).
        config (AugmentConfig): probabilities and ranges.
        rng (np.random.Generator): random generator.
        sample_rate (int): sample rate in Hz.

    Returns:
        np.ndarray: the augmented submix, shape (T,).
    """
    if config.enabled:
        x = recording_chain(x, config, rng, sample_rate)
    return add_noises(x, config, rng, sample_rate)


def augment_pair(
    anchor: np.ndarray,
    positive: np.ndarray,
    config: AugmentConfig,
    rng: np.random.Generator,
    sample_rate: int = 16000,
) -> tuple:
    """Shared random gain, then an independent recording chain and noises on each side.

    Args:
        anchor (np.ndarray): anchor submix, shape (T,).
        positive (np.ndarray): positive submix, shape (T,).
        config (AugmentConfig): probabilities and ranges.
        rng (np.random.Generator): random generator.
        sample_rate (int): sample rate in Hz.

    Returns:
        tuple: ``(anchor, positive)``, float32 arrays of shape (T,).
    """
    gain = random_gain(config, rng)
    anchor = augment_side(anchor * gain, config, rng, sample_rate)
    positive = augment_side(positive * gain, config, rng, sample_rate)
    return anchor.astype(np.float32), positive.astype(np.float32)
