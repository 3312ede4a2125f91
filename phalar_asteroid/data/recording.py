"""What a recording adds and a render lacks: bleed, EQ, compression, room reverb, level changes.

Rendered stems are dry, perfectly isolated and evenly mastered. These augmentations (beyond the
paper, off by default) move a training pair closer to separated or multitrack recordings, with
Spotify's ``pedalboard`` effects rather than hand-written DSP:

* **bleed** (on the stems, before the submixes are summed): every stem takes in the other stems
  of its window a few tens of dB down, as spot microphones do;
* then, independently on each side of the pair: a random **EQ** (low shelf, peak, high shelf),
  **compression**, a **room reverb** and a **level change**.

None of the effects delays the signal (no look-ahead, reverb with its dry path at unit gain), so
the anchor and the positive stay time-aligned: an impulse keeps its sample position.
"""

from dataclasses import dataclass

import numpy as np
import pedalboard


@dataclass
class RecordingConfig:
    """Probabilities and ranges of the recording augmentations (0 disables each).

    Args:
        bleed_p (float): probability that a window's stems bleed into each other.
        bleed_db_min, bleed_db_max (float): level of the other stems in each stem, in dB.
        eq_p (float): probability of a random EQ on a side.
        eq_gain_db (float): shelf and peak gains drawn in U(-eq_gain_db, eq_gain_db).
        compress_p (float): probability of a compressor on a side.
        compress_threshold_min, compress_threshold_max (float): threshold in dB below the side's
            peak.
        compress_ratio_min, compress_ratio_max (float): compression ratio.
        reverb_p (float): probability of a room reverb on a side.
        reverb_room_min, reverb_room_max (float): pedalboard room size in [0, 1].
        reverb_wet_min, reverb_wet_max (float): wet level (the dry level stays 1).
        level_p (float): probability of a level change on a side.
        level_db (float): level change drawn in U(-level_db, level_db) dB, per side.
    """

    bleed_p: float = 0.0
    bleed_db_min: float = -30.0
    bleed_db_max: float = -18.0
    eq_p: float = 0.0
    eq_gain_db: float = 6.0
    compress_p: float = 0.0
    compress_threshold_min: float = -24.0
    compress_threshold_max: float = -6.0
    compress_ratio_min: float = 2.0
    compress_ratio_max: float = 6.0
    reverb_p: float = 0.0
    reverb_room_min: float = 0.1
    reverb_room_max: float = 0.7
    reverb_wet_min: float = 0.05
    reverb_wet_max: float = 0.3
    level_p: float = 0.0
    level_db: float = 6.0

    def __post_init__(self):
        for name in ("bleed_p", "eq_p", "compress_p", "reverb_p", "level_p"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        for low, high in (
            ("bleed_db_min", "bleed_db_max"),
            ("compress_threshold_min", "compress_threshold_max"),
            ("compress_ratio_min", "compress_ratio_max"),
            ("reverb_room_min", "reverb_room_max"),
            ("reverb_wet_min", "reverb_wet_max"),
        ):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} ({getattr(self, low)}) exceeds {high}")

    @property
    def enabled(self) -> bool:
        """Whether any recording augmentation can fire."""
        return max(self.bleed_p, self.eq_p, self.compress_p, self.reverb_p, self.level_p) > 0


def _fires(p: float, rng: np.random.Generator) -> bool:
    # No draw at p = 0, so a disabled augmentation leaves every other random draw as it was.
    return p > 0 and rng.random() < p


def bleed_stems(stems: np.ndarray, config: RecordingConfig, rng: np.random.Generator) -> np.ndarray:
    """Let every stem take in the sum of the other stems at one random level (maybe).

    Args:
        stems (np.ndarray): the window's stems.
        config (RecordingConfig): ``bleed_p`` and the level range.
        rng (np.random.Generator): random generator.

    Returns:
        np.ndarray: the stems, each plus ``g * (others)``; unchanged when bleed does not fire.

    Shape:
        - stems: :math:`(n\\_stems, T)`; output likewise.
    """
    if not _fires(config.bleed_p, rng) or len(stems) < 2:
        return stems
    gain = 10.0 ** (rng.uniform(config.bleed_db_min, config.bleed_db_max) / 20.0)
    total = stems.sum(axis=0, keepdims=True)
    return (stems + gain * (total - stems)).astype(stems.dtype)


def recording_chain(
    x: np.ndarray, config: RecordingConfig, rng: np.random.Generator, sample_rate: int = 16000
) -> np.ndarray:
    """EQ, compression, room reverb and level change of one side, each with its probability.

    Args:
        x (np.ndarray): one submix.
        config (RecordingConfig): probabilities and ranges.
        rng (np.random.Generator): random generator.
        sample_rate (int): sample rate in Hz.

    Returns:
        np.ndarray: the processed submix, float32.

    Shape:
        - x: :math:`(T,)`; output likewise.
    """
    c = config
    effects = []
    if _fires(c.eq_p, rng):
        gains = rng.uniform(-c.eq_gain_db, c.eq_gain_db, size=3)
        effects += [
            pedalboard.LowShelfFilter(float(rng.uniform(80, 300)), float(gains[0])),
            pedalboard.PeakFilter(float(rng.uniform(300, 3000)), float(gains[1]), 1.0),
            pedalboard.HighShelfFilter(float(rng.uniform(2000, 6000)), float(gains[2])),
        ]
    if _fires(c.compress_p, rng):
        peak_db = 20.0 * np.log10(max(float(np.max(np.abs(x))), 1e-8))
        threshold = peak_db + rng.uniform(c.compress_threshold_min, c.compress_threshold_max)
        ratio = rng.uniform(c.compress_ratio_min, c.compress_ratio_max)
        effects.append(pedalboard.Compressor(threshold_db=float(threshold), ratio=float(ratio)))
    if _fires(c.reverb_p, rng):
        effects.append(
            pedalboard.Reverb(
                room_size=float(rng.uniform(c.reverb_room_min, c.reverb_room_max)),
                wet_level=float(rng.uniform(c.reverb_wet_min, c.reverb_wet_max)),
                dry_level=1.0,
            )
        )
    out = x.astype(np.float32)
    if effects:
        out = pedalboard.Pedalboard(effects)(out[None], sample_rate, reset=True)[0]
    if _fires(c.level_p, rng):
        out = out * np.float32(10.0 ** (rng.uniform(-c.level_db, c.level_db) / 20.0))
    return out.astype(np.float32)
