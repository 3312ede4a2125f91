"""Same-track negatives in training (an option beyond the paper).

With probability ``fraction`` a training item also returns one extra negative: the positive's
own stems, from the same track, shifted by a whole number of bars (at least ``min_bar_shift``).
The collate appends these extras to the candidate set, so the anchor must tell its positive from
the same instruments playing elsewhere in the song, as in the ``same-track`` test protocol.

Bars come from the downbeats of the track's ``beats.beats``; a track without beat annotations
(real MoisesDB or Slakh) is shifted by whole windows instead (no bar alignment).
"""

import zlib

import numpy as np
import torch
from torch.utils.data import Dataset

from phalar_asteroid.data.augment import augment_pair, augment_side
from phalar_asteroid.data.recording import bleed_stems
from phalar_asteroid.data.datasets.audio import SILENCE_DB, load_stems, rms_db
from phalar_asteroid.data.datasets.common import load_beats
from phalar_asteroid.data.pairs import (
    RandomCropCollate,
    draw_subsets,
    draw_window,
    get_infos,
    item_rng,
)


class SameTrackPairDataset(Dataset):
    """Pairs of several manifests (equal weights), some with a same-track shifted negative.

    Sampling follows :class:`~phalar_asteroid.data.pairs.StemPairDataset` (random track, window
    with 2 active stems, disjoint subsets, plain sum, augmentations); every draw comes from the
    generator of ``(seed, epoch, index)``, so items are reproducible.

    Args:
        manifests (sequence): manifests (lists of track dicts), weighted equally.
        segment_seconds (float): window length.
        sample_rate (int): output rate.
        epoch_pairs (int): items per epoch.
        augment (AugmentConfig or None): augmentations.
        seed (int): base seed.
        min_stem_db (float): stem-activity threshold of the windows.
        fraction (float): probability that an item carries an extra negative.
        min_bar_shift (int): smallest shift in bars.

    Shape:
        - item: ``(anchor (T,), positive (T,), extra (T,) or (0,))``
    """

    def __init__(
        self,
        manifests,
        segment_seconds: float = 10.0,
        sample_rate: int = 16000,
        epoch_pairs: int = 10000,
        augment=None,
        seed: int = 42,
        min_stem_db: float = SILENCE_DB,
        fraction: float = 0.5,
        min_bar_shift: int = 2,
    ):
        self.sources = [[t for t in m if len(t["stems"]) >= 2] for m in manifests]
        if not all(self.sources):
            raise ValueError("every manifest needs a track with at least 2 stems")
        self.segment_seconds = segment_seconds
        self.sample_rate = sample_rate
        self.epoch_pairs = epoch_pairs
        self.augment = augment
        self.seed = seed
        self.min_stem_db = min_stem_db
        self.fraction = fraction
        self.min_bar_shift = min_bar_shift
        self._downbeats = {}

    def __len__(self) -> int:
        return self.epoch_pairs

    def get_infos(self) -> dict:
        """Asteroid-style infos of the training tracks."""
        return get_infos([t for tracks in self.sources for t in tracks])

    def _grid(self, track: dict):
        """Downbeat times of a track (cached), or None without beat annotations."""
        key = track["track_id"]
        if key not in self._downbeats:
            grid = None
            if track.get("beats_path"):
                beats = load_beats(track["beats_path"])
                if beats.positions is not None and np.sum(beats.positions == 1) >= 2:
                    grid = beats.times[beats.positions == 1]
            self._downbeats[key] = grid
        return self._downbeats[key]

    def shifted_offsets(self, track: dict, offset: int) -> list:
        """Native offsets of the same window shifted by >= ``min_bar_shift`` whole bars.

        Args:
            track (dict): manifest entry.
            offset (int): window start in native frames.

        Returns:
            list of int: valid offsets (the window stays inside the track).
        """
        rate = track["sample_rate"]
        t0 = offset / rate
        latest = track["num_frames"] / rate - self.segment_seconds
        grid = self._grid(track)
        if grid is None:
            # No bars known: shift by whole windows.
            steps = np.arange(1, int(track["num_frames"] / rate / self.segment_seconds) + 1)
            times = np.concatenate(
                (t0 - steps * self.segment_seconds, t0 + steps * self.segment_seconds)
            )
        else:
            position = np.interp(t0, grid, np.arange(len(grid)))
            shifts = np.arange(self.min_bar_shift, len(grid))
            targets = np.concatenate((position - shifts, position + shifts))
            targets = targets[(targets >= 0) & (targets <= len(grid) - 1)]
            times = np.interp(targets, np.arange(len(grid)), grid)
        times = times[(times >= 0) & (times <= latest)]
        return sorted({int(round(t * rate)) for t in times})

    def __getitem__(self, key):
        epoch, index = key
        rng = item_rng(self.seed, epoch, index)
        tracks = self.sources[int(rng.integers(len(self.sources)))]
        for _ in range(4):
            track = tracks[int(rng.integers(len(tracks)))]
            offset, audio, active = draw_window(
                track, rng, self.segment_seconds, self.sample_rate, self.min_stem_db
            )
            if len(active) >= 2:
                break
        else:
            active = list(range(len(audio)))
        if self.augment is not None:
            audio = bleed_stems(audio, self.augment, rng)
        anchor_idx, positive_idx = draw_subsets(active, rng)
        anchor, positive = audio[anchor_idx].sum(axis=0), audio[positive_idx].sum(axis=0)
        extra = np.zeros(0, dtype=np.float32)
        if rng.random() < self.fraction:
            offsets = self.shifted_offsets(track, offset)
            if offsets:
                names = [track["stems"][i]["name"] for i in positive_idx]
                shifted = offsets[int(rng.integers(len(offsets)))]
                clip = load_stems(track, shifted, self.segment_seconds, names, self.sample_rate)
                clip = clip.sum(axis=0)
                if rms_db(clip) >= SILENCE_DB:
                    extra = clip
        if self.augment is not None:
            anchor, positive = augment_pair(anchor, positive, self.augment, rng, self.sample_rate)
            if len(extra):
                gain = 10.0 ** (rng.uniform(-self.augment.gain_db, self.augment.gain_db) / 20.0)
                extra = augment_side(extra * np.float32(gain), self.augment, rng, self.sample_rate)
        return (
            torch.from_numpy(np.ascontiguousarray(anchor, dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(positive, dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(extra, dtype=np.float32)),
        )


class SameTrackCropCollate:
    """The pairs' random crop (:class:`~phalar_asteroid.data.pairs.RandomCropCollate`), then the
    extras cropped to the same length at offsets drawn from the same data-seeded generator.

    Args:
        min_seconds, max_seconds, sample_rate, seed: as for ``RandomCropCollate``.

    Shape:
        - output: ``(anchors (B, L), positives (B, L), extras (B_e, L))``
    """

    def __init__(self, min_seconds=2.0, max_seconds=10.0, sample_rate=16000, seed=42):
        self.pairs = RandomCropCollate(min_seconds, max_seconds, sample_rate, seed)
        self.seed = seed

    def __call__(self, batch):
        anchors, positives = self.pairs([(a, p) for a, p, _ in batch])
        extras = [e for _, _, e in batch if len(e)]
        if not extras:
            return anchors, positives, anchors[:0]
        extras = torch.stack(extras)
        length = anchors.shape[1]
        rng = np.random.default_rng([self.seed, zlib.crc32(extras[:, ::97].numpy().tobytes())])
        starts = rng.integers(0, extras.shape[1] - length, size=len(extras), endpoint=True)
        index = torch.from_numpy(starts)[:, None] + torch.arange(length)[None, :]
        return anchors, positives, extras.gather(1, index)
