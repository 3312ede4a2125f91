"""Training pairs: disjoint, time-aligned stem submixes of one track.

Every item draws a random track, a random window and two disjoint random stem subsets at the same
offset, mixed by plain sum at 16 kHz mono. All randomness of an item comes from a numpy generator
seeded with ``(seed, epoch, index)``, so items do not depend on worker assignment and a resumed
run sees the same data. :class:`EpochSampler` carries the epoch to the workers (Lightning calls
its ``set_epoch`` every epoch). The sampling rules: docs/protocols.md#training-pairs.
"""

import warnings
import zlib
from typing import Mapping, Optional, Sequence, Union

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Sampler

from .augment import AugmentConfig, augment_pair
from .recording import bleed_stems
from .datasets.audio import SILENCE_DB, load_stems, rms_db, window_frames
from .datasets.manifest import Manifest

TASK = "stem_retrieval"

_CC_BY_4 = ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/")

#: Asteroid-style licence dicts per dataset; ``embedded`` is the rendered corpus of this project.
LICENSES = {
    "moisesdb": [
        {
            "title": "MoisesDB",
            "title_link": "https://music.ai/research/",
            "author": "Moises Systems (music.ai)",
            "author_link": "https://music.ai",
            "license": "MoisesDB research terms (non-commercial research use)",
            "license_link": "https://music.ai/research/",
            "non_commercial": True,
        }
    ],
    "slakh16k": [
        {
            "title": "Slakh2100 (redux, 16 kHz)",
            "title_link": "http://www.slakh.com/",
            "author": "Ethan Manilow, Gordon Wichern, Prem Seetharaman, Jonathan Le Roux",
            "author_link": "http://www.slakh.com/",
            "license": _CC_BY_4[0],
            "license_link": _CC_BY_4[1],
            "non_commercial": False,
        }
    ],
    "cocochorales": [
        {
            "title": "CocoChorales",
            "title_link": "https://magenta.tensorflow.org/datasets/cocochorales",
            "author": "Yusong Wu et al. (Google Magenta)",
            "author_link": "https://magenta.tensorflow.org",
            "license": "CC BY 4.0 (unconfirmed)",
            "license_link": _CC_BY_4[1],
            "non_commercial": False,
        }
    ],
    "embedded": [
        {
            "title": "music21 corpus",
            "title_link": "https://www.music21.org/music21docs/about/referenceCorpus.html",
            "author": "music21 contributors",
            "author_link": "https://www.music21.org",
            "license": "public-domain scores",
            "license_link": "https://www.music21.org/music21docs/about/referenceCorpus.html",
            "non_commercial": False,
        },
        {
            "title": "TimGM6mb soundfont",
            "title_link": "https://github.com/craffel/pretty-midi",
            "author": "Tim Brechbill",
            "author_link": "https://musescore.org",
            "license": "GPL-2.0 (as distributed with MuseScore)",
            "license_link": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
            "non_commercial": False,
        },
    ],
}


def get_infos(manifest: Sequence[dict]) -> dict:
    """Asteroid-style dataset infos of the tracks in ``manifest``.

    Tracks rendered from the embedded corpus (``corpus == "embedded"``) carry its licences
    instead of the imitated dataset's.

    Args:
        manifest (sequence of dict): manifest entries.

    Returns:
        dict: ``{"dataset", "task", "licenses"}``.
    """
    sources = sorted(
        {"embedded" if t.get("corpus") == "embedded" else t["dataset"] for t in manifest}
    )
    licenses = [lic for source in sources for lic in LICENSES.get(source, [])]
    names = sorted({t["dataset"] for t in manifest})
    return {"dataset": "+".join(names), "task": TASK, "licenses": licenses}


def item_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The numpy generator of one item, a pure function of ``(seed, epoch, index)``."""
    return np.random.default_rng([seed, epoch, index])


def draw_subsets(active: Sequence[int], rng: np.random.Generator) -> tuple:
    """Disjoint, non-empty random subsets of ``active`` (n ≥ 2 entries).

    Anchor size a ~ U{1..n-1}, positive size p ~ U{1..n-a}, both from one random permutation.

    Args:
        active (sequence of int): candidate stem indices.
        rng (np.random.Generator): random generator.

    Returns:
        tuple: ``(anchor, positive)`` sorted lists of stem indices.
    """
    n = len(active)
    order = rng.permutation(np.asarray(active))
    a = int(rng.integers(1, n - 1, endpoint=True))
    p = int(rng.integers(1, n - a, endpoint=True))
    return sorted(order[:a].tolist()), sorted(order[a : a + p].tolist())


def draw_window(
    track: dict,
    rng: np.random.Generator,
    seconds: float,
    sample_rate: int = 16000,
    min_stem_db: float = SILENCE_DB,
    tries: int = 4,
) -> tuple:
    """Draw random windows of a track until one has at least 2 active stems.

    Args:
        track (dict): manifest entry.
        rng (np.random.Generator): random generator.
        seconds (float): window length.
        sample_rate (int): output rate.
        min_stem_db (float): a stem is active when its RMS is at least this (dBFS).
        tries (int): windows to draw before giving up.

    Returns:
        tuple: ``(offset, audio, active)`` of the last window drawn: the native offset, all stems
        as an array (n_stems, T) and the indices of the active stems (fewer than 2 when every
        try failed).
    """
    last_start = max(0, track["num_frames"] - window_frames(seconds, track["sample_rate"]))
    for _ in range(tries):
        offset = int(rng.integers(0, last_start, endpoint=True))
        audio = load_stems(track, offset, seconds, sample_rate=sample_rate)
        active = np.flatnonzero(rms_db(audio) >= min_stem_db).tolist()
        if len(active) >= 2:
            break
    return offset, audio, active


class StemPairDataset(Dataset):
    """Random (anchor, positive) submix pairs from one manifest.

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

    Shape:
        - anchor, positive: :math:`(T,)` with T = segment_seconds * sample_rate.
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
    ):
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
        self.epoch = 0

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
            tuple: ``(anchor, positive)`` float32 tensors of shape (T,).
        """
        for _ in range(self.track_draws):
            track = self.tracks[int(rng.integers(len(self.tracks)))]
            _, audio, active = draw_window(
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
        if self.augment is not None:
            anchor, positive = augment_pair(anchor, positive, self.augment, rng, self.sample_rate)
        return torch.from_numpy(anchor), torch.from_numpy(positive)

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


class EpochSampler(Sampler):
    """Sequential sampler yielding ``(epoch, index)`` keys.

    Passing the epoch with every index keeps worker processes (persistent or not) in step with
    the trainer, which calls ``set_epoch`` at the start of every epoch.

    Args:
        num_items (int): items per epoch.
    """

    def __init__(self, num_items: int):
        self.num_items = num_items
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch of the keys yielded next."""
        self.epoch = epoch

    def __iter__(self):
        return ((self.epoch, index) for index in range(self.num_items))

    def __len__(self) -> int:
        return self.num_items


class RandomCropCollate:
    """Crop a batch of pairs to one random length, with per-item offsets shared by each pair.

    The crop length is L = int(max_seconds * sample_rate * r), r ~ U(min/max, 1), drawn once per
    batch; every item gets its own offset, identical for its anchor and positive. The generator is
    seeded from ``seed`` and a checksum of the batch, so crops depend only on the data (itself a
    function of seed, epoch and index), not on which worker collates it.

    Args:
        min_seconds (float): shortest crop.
        max_seconds (float): longest crop.
        sample_rate (int): sample rate of the items.
        seed (int): base seed.

    Shape:
        - output: ``(anchors, positives)``, each :math:`(B, L)`.
    """

    def __init__(
        self,
        min_seconds: float = 2.0,
        max_seconds: float = 10.0,
        sample_rate: int = 16000,
        seed: int = 42,
    ):
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds
        self.sample_rate = sample_rate
        self.seed = seed

    def __call__(self, batch: Sequence[tuple]) -> tuple:
        anchors = torch.stack([anchor for anchor, _ in batch])
        positives = torch.stack([positive for _, positive in batch])
        digest = zlib.crc32(anchors[:, ::97].numpy().tobytes())
        rng = np.random.default_rng([self.seed, digest])
        ratio = rng.uniform(self.min_seconds / self.max_seconds, 1.0)
        length = min(anchors.shape[1], int(self.max_seconds * self.sample_rate * ratio))
        starts = rng.integers(0, anchors.shape[1] - length, size=len(batch), endpoint=True)
        index = torch.from_numpy(starts)[:, None] + torch.arange(length)[None, :]
        return anchors.gather(1, index), positives.gather(1, index)


def _as_manifest(manifest):
    """A manifest given as a list of dicts, or as the path of a saved :class:`Manifest`."""
    return Manifest.load(manifest) if isinstance(manifest, str) else manifest


class PairDataModule(pl.LightningDataModule):
    """Training and validation pairs for Lightning.

    Training mixes the given manifests with equal weights, 10 s windows, augmentations and the
    random crop collate. Validation uses the queries of fixed retrieval lists (5 s, no
    augmentation, no crop): ``val_lists`` when given, else other-track lists drawn in memory from
    the ``val`` manifests with seed 0.

    Args:
        train (mapping): dataset name -> manifest (list of dicts, or the path of a saved
            :class:`~.datasets.Manifest`) for training.
        val (mapping or None): dataset name -> manifest (or path) for validation.
        val_lists (mapping or None): dataset name -> retrieval list (dict or JSON path, see
            :func:`~.lists.make_retrieval_lists`) built on the ``val`` manifest of that name.
        batch_size (int): batch size.
        num_workers (int): DataLoader workers.
        segment_seconds (float): training window.
        val_seconds (float): validation window (used when lists are drawn here).
        val_queries (int): queries per dataset when lists are drawn here.
        epoch_pairs (int): training pairs per epoch.
        augment (bool or AugmentConfig): training augmentations.
        min_crop_seconds (float): shortest training crop.
        seed (int): base seed.
        min_stem_db (float or None): see :class:`StemPairDataset`.
    """

    def __init__(
        self,
        train: Mapping[str, Sequence[dict]],
        val: Optional[Mapping[str, Sequence[dict]]] = None,
        val_lists: Optional[Mapping[str, dict]] = None,
        batch_size: int = 64,
        num_workers: int = 4,
        segment_seconds: float = 10.0,
        val_seconds: float = 5.0,
        val_queries: int = 256,
        epoch_pairs: int = 10000,
        augment: Union[bool, AugmentConfig] = True,
        min_crop_seconds: float = 2.0,
        seed: int = 42,
        min_stem_db: Optional[float] = None,
    ):
        super().__init__()
        self.train_manifests = {name: _as_manifest(m) for name, m in train.items()}
        self.val_manifests = {name: _as_manifest(m) for name, m in (val or {}).items()}
        self.val_lists = dict(val_lists or {})
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.segment_seconds = segment_seconds
        self.val_seconds = val_seconds
        self.val_queries = val_queries
        self.epoch_pairs = epoch_pairs
        self.augment = augment
        self.min_crop_seconds = min_crop_seconds
        self.seed = seed
        self.min_stem_db = min_stem_db
        self.train_set = None
        self.val_set = None

    def setup(self, stage: Optional[str] = None) -> None:
        """Build the datasets (and the validation lists when none were given)."""
        # lists.py builds on this module's sampling functions: importing it here avoids a cycle.
        from .lists import ListPairDataset, load_lists, make_retrieval_lists

        sources = [
            StemPairDataset(
                manifest,
                segment_seconds=self.segment_seconds,
                epoch_pairs=self.epoch_pairs,
                augment=self.augment,
                seed=self.seed,
                min_stem_db=self.min_stem_db,
            )
            for _, manifest in sorted(self.train_manifests.items())
        ]
        self.train_set = MixedPairDataset(sources, self.epoch_pairs, self.seed)
        val_sets = []
        for name, manifest in sorted(self.val_manifests.items()):
            lists = self.val_lists.get(name)
            if isinstance(lists, str):
                lists = load_lists(lists)
            lists = lists or make_retrieval_lists(
                manifest,
                protocol="other-track",
                seeds=(0,),
                n_queries=self.val_queries,
                ks=(),
                seconds=self.val_seconds,
            )
            val_sets.append(ListPairDataset(lists, manifest))
        self.val_set = ConcatDataset(val_sets) if val_sets else None

    def train_dataloader(self) -> DataLoader:
        """Training pairs, cropped per batch, keyed by ``(epoch, index)``."""
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=EpochSampler(len(self.train_set)),
            num_workers=self.num_workers,
            collate_fn=RandomCropCollate(
                self.min_crop_seconds, self.segment_seconds, seed=self.seed
            ),
            drop_last=True,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self):
        """Fixed validation pairs (list queries), uncropped; ``[]`` without validation data."""
        if self.val_set is None:
            return []
        return DataLoader(
            self.val_set,
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            drop_last=False,
        )

    def get_infos(self) -> dict:
        """Asteroid-style infos of the training data."""
        return self.train_set.get_infos()
