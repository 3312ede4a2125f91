"""Training pairs: disjoint, time-aligned stem submixes of one track.

Every item draws a random track, a random window and two disjoint random stem subsets at the same
offset, mixed by plain sum at 16 kHz mono; optionally, a same-track negative joins it. All
randomness of an item comes from a numpy generator seeded with ``(seed, epoch, index)``
(:func:`~.sampling.item_rng`), so items do not depend on worker assignment and a resumed run sees
the same data. The training sampler (:class:`~phalar_asteroid.engine.ResumableEpochSampler`)
yields such ``(epoch, index)`` keys. The sampling rules: docs/protocols.md#training-pairs.
"""

import warnings
import zlib
from typing import Optional, Sequence, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from .augment import AugmentConfig, augment_pair, augment_side, random_gain
from .recording import bleed_stems
from .datasets.stems import SILENCE_DB, load_stems, rms_db
from .datasets.registry import DATASETS, dataset_licenses
from .sampling import bar_grid, bar_shifts, draw_subsets, draw_window, item_rng

TASK = "stem_retrieval"


def get_infos(manifest: Sequence[dict]) -> dict:
    """Asteroid-style dataset infos of the tracks in ``manifest``.

    Licences come from the loaders (:func:`~.datasets.registry.dataset_licenses`): tracks
    rendered from the embedded corpus (``corpus == "embedded"``) carry its licences instead of
    the imitated dataset's; datasets outside the registry have none.

    Args:
        manifest (sequence of dict): manifest entries.

    Returns:
        dict: ``{"dataset", "task", "licenses"}``.
    """
    sources = sorted({(t["dataset"], t.get("corpus", "original")) for t in manifest})
    licenses = []
    for name, corpus in sources:
        if name in DATASETS:
            licenses += [lic for lic in dataset_licenses(name, corpus) if lic not in licenses]
    names = sorted({t["dataset"] for t in manifest})
    return {"dataset": "+".join(names), "task": TASK, "licenses": licenses}


class StemPairDataset(Dataset):
    """Random (anchor, positive) submix pairs from one manifest, optionally with a same-track
    negative.

    Same-track negatives (beyond the paper): with probability ``same_track_fraction`` an item
    also carries the positive's stems in another window of the same track, shifted by at least
    ``min_bar_shift`` whole bars (:func:`~.sampling.bar_shifts`, on the grid of
    :func:`~.sampling.bar_grid`: the track's ``beats.beats``, else beats estimated from the
    audio, computed once per track and worker). :class:`RandomCropCollate` appends these extras
    to the batch, so the anchor must tell its positive from the same instruments playing
    elsewhere in the song, as in the ``same-track`` test protocol. The extra takes its own
    random gain and the per-side augmentations (:func:`~.augment.augment_side`); it is empty
    (length 0) for the other items, and when no shift fits in the track or the shifted window is
    silent.

    Args:
        manifest (sequence of dict): manifest entries; tracks with fewer than 2 stems are skipped.
        segment_seconds (float): window length.
        sample_rate (int): output rate.
        epoch_pairs (int): items per epoch (``len``).
        augment (bool or AugmentConfig): augmentations; True uses the defaults.
        seed (int): base seed.
        min_stem_db (float or None): activity threshold in dBFS; stems below it in the window are
            excluded before subsets are drawn. None uses the -60 dBFS silence floor;
            ``float("-inf")`` keeps every stem (the reference's behaviour).
        track_draws (int): tracks tried per item before falling back to all stems of the last
            window (with a warning) rather than failing inside a worker.
        same_track_fraction (float): probability that an item carries a same-track negative;
            0 gives ``(anchor, positive)`` items, more gives ``(anchor, positive, extra)``.
        min_bar_shift (int): smallest shift of a same-track negative, in bars.

    Shape:
        - anchor, positive: :math:`(T,)` with T = segment_seconds * sample_rate.
        - extra: :math:`(T,)` or :math:`(0,)` (only when ``same_track_fraction > 0``).
    """

    dataset_name = "PHALAR stem pairs"

    def __init__(
        self,
        manifest: Sequence[dict],
        segment_seconds: float = 10.0,
        sample_rate: int = 16000,
        epoch_pairs: int = 10000,
        augment: Union[bool, AugmentConfig] = True,
        seed: int = 42,
        min_stem_db: Optional[float] = None,
        track_draws: int = 4,
        same_track_fraction: float = 0.0,
        min_bar_shift: int = 2,
    ):
        if not 0.0 <= same_track_fraction <= 1.0:
            raise ValueError(f"same_track_fraction must lie in [0, 1], got {same_track_fraction}")
        self.tracks = [track for track in manifest if len(track["stems"]) >= 2]
        if not self.tracks:
            raise ValueError("no track with at least 2 stems in the manifest")
        self.segment_seconds = segment_seconds
        self.sample_rate = sample_rate
        self.epoch_pairs = epoch_pairs
        self.augment = AugmentConfig() if augment is True else (augment or None)
        self.seed = seed
        self.min_stem_db = SILENCE_DB if min_stem_db is None else min_stem_db
        self.track_draws = track_draws
        self.same_track_fraction = same_track_fraction
        self.min_bar_shift = min_bar_shift
        self.epoch = 0
        self._grids = {}

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch used by integer indices (the sampler's ``(epoch, index)`` wins)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.epoch_pairs

    def __getitem__(self, key):
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        return self.sample(item_rng(self.seed, epoch, index))

    def sample(self, rng: np.random.Generator) -> tuple:
        """Draw one pair with ``rng``.

        Args:
            rng (np.random.Generator): random generator (all randomness of the item).

        Returns:
            tuple: ``(anchor, positive)`` float32 tensors of shape (T,), and the ``extra``
            same-track negative, (T,) or (0,), when ``same_track_fraction > 0``.
        """
        for _ in range(self.track_draws):
            track = self.tracks[int(rng.integers(len(self.tracks)))]
            offset, audio, active = draw_window(
                track, rng, self.segment_seconds, self.sample_rate, self.min_stem_db
            )
            if len(active) >= 2:
                break
        else:
            warnings.warn(
                f"no window with 2 active stems found; using all stems of {track['track_id']}"
            )
            active = list(range(len(audio)))
        if self.augment is not None:
            audio = bleed_stems(audio, self.augment, rng)
        anchor_idx, positive_idx = draw_subsets(active, rng)
        anchor, positive = audio[anchor_idx].sum(axis=0), audio[positive_idx].sum(axis=0)
        items = [anchor, positive]
        if self.same_track_fraction > 0:
            extra = np.zeros(0, dtype=np.float32)
            if rng.random() < self.same_track_fraction:
                extra = self._same_track_negative(track, offset, positive_idx, rng)
            items.append(extra)
        if self.augment is not None:
            items[:2] = augment_pair(anchor, positive, self.augment, rng, self.sample_rate)
            if len(items) == 3 and len(items[2]):
                gain = random_gain(self.augment, rng)
                items[2] = augment_side(items[2] * gain, self.augment, rng, self.sample_rate)
        return tuple(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) for x in items)

    def _same_track_negative(
        self, track: dict, offset: int, stems: Sequence[int], rng: np.random.Generator
    ) -> np.ndarray:
        """The ``stems`` of ``track`` in a window shifted from ``offset`` by whole bars.

        Args:
            track (dict): manifest entry.
            offset (int): start of the item's window, in native frames.
            stems (sequence of int): indices of the positive's stems.
            rng (np.random.Generator): the item's generator (picks the shift).

        Returns:
            np.ndarray: float32 submix, shape (T,), or (0,) when no shift fits in the track or
            the shifted window is silent.
        """
        if track["track_id"] not in self._grids:
            self._grids[track["track_id"]] = bar_grid(track, sample_rate=self.sample_rate)
        grid = self._grids[track["track_id"]]
        offsets = bar_shifts(track, grid, offset, self.segment_seconds, self.min_bar_shift)
        if not offsets:
            return np.zeros(0, dtype=np.float32)
        names = [track["stems"][i]["name"] for i in stems]
        shifted = offsets[int(rng.integers(len(offsets)))]
        clip = load_stems(track, shifted, self.segment_seconds, names, self.sample_rate)
        clip = clip.sum(axis=0)
        return clip if rms_db(clip) >= SILENCE_DB else np.zeros(0, dtype=np.float32)

    def get_infos(self) -> dict:
        """Asteroid-style ``{"dataset", "task", "licenses"}`` (see :func:`get_infos`)."""
        return get_infos(self.tracks)


class MixedPairDataset(Dataset):
    """Several pair datasets with equal weight: each item first draws its dataset uniformly.

    Args:
        datasets (sequence of StemPairDataset): the sources.
        epoch_pairs (int): items per epoch.
        seed (int): base seed.
    """

    def __init__(
        self, datasets: Sequence[StemPairDataset], epoch_pairs: int = 10000, seed: int = 42
    ):
        self.datasets = list(datasets)
        self.epoch_pairs = epoch_pairs
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch used by integer indices."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.epoch_pairs

    def __getitem__(self, key):
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        rng = item_rng(self.seed, epoch, index)
        return self.datasets[int(rng.integers(len(self.datasets)))].sample(rng)

    def get_infos(self) -> dict:
        """Asteroid-style infos over all sources."""
        return get_infos([t for dataset in self.datasets for t in dataset.tracks])


class RandomCropCollate:
    """Crop a batch of pairs to one random length, with per-item offsets shared by each pair.

    The crop length is L = int(max_seconds * sample_rate * r), r ~ U(min/max, 1), drawn once per
    batch, or with ``step_seconds`` one of the lengths min, min + step, ..., max, equally likely
    (a few distinct sizes let a CPU allocator that keeps freed memory reuse it:
    :mod:`~phalar_asteroid.utils.malloc`); every item gets its own offset, identical for its
    anchor and positive. The generator is
    seeded from ``seed`` and a checksum of the batch, so crops depend only on the data (itself a
    function of seed, epoch and index), not on which worker collates it. Items with a third,
    same-track ``extra`` (see :class:`StemPairDataset`) give a third output: the non-empty extras
    stacked and cropped to L, each at its own offset from the same generator.

    Args:
        min_seconds (float): shortest crop.
        max_seconds (float): longest crop.
        sample_rate (int): sample rate of the items.
        seed (int): base seed.
        step_seconds (float): spacing of the crop lengths; 0 draws any length. ``max_seconds -
            min_seconds`` must be a whole number of steps.

    Shape:
        - output: ``(anchors, positives)``, each :math:`(B, L)`, then ``extras`` :math:`(B_e, L)`
          for items with extras.
    """

    def __init__(
        self,
        min_seconds: float = 2.0,
        max_seconds: float = 10.0,
        sample_rate: int = 16000,
        seed: int = 42,
        step_seconds: float = 0.0,
    ):
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds
        self.sample_rate = sample_rate
        self.seed = seed
        self.n_steps = 0
        if step_seconds < 0:
            raise ValueError(f"step_seconds: must be >= 0, got {step_seconds}")
        if step_seconds > 0:
            steps = (max_seconds - min_seconds) / step_seconds
            if abs(steps - round(steps)) > 1e-6:
                raise ValueError(
                    f"step_seconds: {max_seconds - min_seconds:g} s between the shortest and the "
                    f"longest crop is not a whole number of {step_seconds:g} s steps"
                )
            self.n_steps = round(steps)
        self.step_seconds = step_seconds

    def __call__(self, batch: Sequence[tuple]) -> tuple:
        anchors = torch.stack([item[0] for item in batch])
        positives = torch.stack([item[1] for item in batch])
        digest = zlib.crc32(anchors[:, ::97].numpy().tobytes())
        rng = np.random.default_rng([self.seed, digest])
        if self.step_seconds > 0:
            seconds = self.min_seconds + self.step_seconds * rng.integers(self.n_steps + 1)
            length = min(anchors.shape[1], round(seconds * self.sample_rate))
        else:
            ratio = rng.uniform(self.min_seconds / self.max_seconds, 1.0)
            length = min(anchors.shape[1], int(self.max_seconds * self.sample_rate * ratio))
        index = _crop_index(rng, len(batch), anchors.shape[1], length)
        out = (anchors.gather(1, index), positives.gather(1, index))
        if len(batch[0]) == 2:
            return out
        extras = [item[2] for item in batch if len(item[2])]
        if not extras:
            return out + (out[0][:0],)
        extras = torch.stack(extras)
        return out + (extras.gather(1, _crop_index(rng, len(extras), extras.shape[1], length)),)


def _crop_index(rng: np.random.Generator, n: int, total: int, length: int) -> torch.Tensor:
    """Gather indices of ``n`` crops of ``length`` samples, each at a random start in a row of
    ``total`` samples: shape (n, length)."""
    starts = rng.integers(0, total - length, size=n, endpoint=True)
    return torch.from_numpy(starts)[:, None] + torch.arange(length)[None, :]
