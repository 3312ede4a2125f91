import pickle

import numpy as np
import pytest
import torch
from data_fixtures import (
    MOISES_STEMS,
    RAMP_FRAMES,
    RATE,
    SPARSE_SECONDS,
    decode_ramp,
    make_moisesdb,
    ramp_stems,
)

from phalar_asteroid.data.datasets import build_manifest
from phalar_asteroid.data.lists import make_retrieval_lists
from phalar_asteroid.data.pairs import (
    MixedPairDataset,
    PairDataModule,
    RandomCropCollate,
    StemPairDataset,
)

SEGMENT = 0.5
T = int(SEGMENT * RATE)


@pytest.fixture
def coco_train(coco_root, index_dir):
    return build_manifest("cocochorales", coco_root, "train", index_dir=index_dir)


def test_pairs_are_disjoint_aligned_and_active(coco_train):
    dataset = StemPairDataset(coco_train, segment_seconds=SEGMENT, epoch_pairs=80, augment=False)
    in_silence = 0
    for index in range(len(dataset)):
        anchor, positive = dataset[index]
        assert anchor.shape == positive.shape == (T,) and anchor.dtype == torch.float32
        anchor_mask, anchor_offset = decode_ramp(anchor.numpy())
        positive_mask, positive_offset = decode_ramp(positive.numpy())
        assert anchor_mask and positive_mask and not anchor_mask & positive_mask
        assert anchor_offset == positive_offset
        assert 0 <= anchor_offset <= RAMP_FRAMES - T
        # The sparse stem (bit 3) is silent in windows that end before it starts.
        if anchor_offset + T <= SPARSE_SECONDS * RATE:
            in_silence += 1
            assert not (anchor_mask | positive_mask) & 8
        # The submix is exactly the sum of its stems at that offset.
        stems = ramp_stems()[[k for k in range(4) if anchor_mask >> k & 1]]
        expected = stems.sum(axis=0)[anchor_offset : anchor_offset + T]
        np.testing.assert_allclose(anchor.numpy(), expected, atol=1e-6)
    assert in_silence >= 10


def test_determinism_and_epochs(coco_train):
    make = lambda: StemPairDataset(coco_train, segment_seconds=SEGMENT, epoch_pairs=8, seed=7)
    first, second = make(), make()
    for index in (0, 5):
        for a, b in zip(first[index], second[index]):
            assert torch.equal(a, b)
    assert not torch.equal(first[(0, 5)][0], first[(1, 5)][0])
    first.set_epoch(1)
    assert torch.equal(first[5][0], second[(1, 5)][0])
    other_seed = StemPairDataset(coco_train, segment_seconds=SEGMENT, epoch_pairs=8, seed=8)
    assert not torch.equal(other_seed[5][0], second[5][0])


def test_tracks_with_fewer_than_two_stems_are_skipped(coco_train):
    single = dict(coco_train[0], track_id="single", stems=coco_train[0]["stems"][:1])
    dataset = StemPairDataset([single] + list(coco_train), segment_seconds=SEGMENT)
    assert [t["track_id"] for t in dataset.tracks] == [t["track_id"] for t in coco_train]
    with pytest.raises(ValueError):
        StemPairDataset([single])


def test_moisesdb_is_resampled_to_mono_16k(tmp_path):
    root = str(tmp_path)
    make_moisesdb(root, 5)
    manifest = build_manifest("moisesdb", root, "train", index_dir=str(tmp_path / "idx"))
    dataset = StemPairDataset(manifest, segment_seconds=1.0, epoch_pairs=6, augment=False)
    frequencies = np.array([freq for _, _, freq in MOISES_STEMS])
    for index in range(len(dataset)):
        sides = []
        for clip in dataset[index]:
            assert clip.shape == (RATE,)
            spectrum = np.abs(np.fft.rfft(clip.numpy()))  # 1 Hz bins
            sides.append(set(frequencies[spectrum[frequencies.astype(int)] > 0.1 * spectrum.max()]))
            assert spectrum[frequencies.astype(int)].sum() > 0.9 * spectrum.sum() / 2
        assert sides[0] and sides[1] and not sides[0] & sides[1]


def test_get_infos(coco_train, chorale_root, tmp_path):
    infos = StemPairDataset(coco_train).get_infos()
    assert infos["dataset"] == "cocochorales" and infos["task"] == "stem_retrieval"
    assert [lic["title"] for lic in infos["licenses"]] == ["CocoChorales"]
    rendered = build_manifest("cocochorales", chorale_root, "test", index_dir=str(tmp_path))
    titles = [lic["title"] for lic in StemPairDataset(rendered).get_infos()["licenses"]]
    assert titles == ["music21 corpus", "TimGM6mb soundfont"]
    for lic in StemPairDataset(rendered).get_infos()["licenses"]:
        assert {"title", "title_link", "author", "author_link", "license"} <= set(lic)
        assert "license_link" in lic and lic["non_commercial"] is False


class _Constant:
    def __init__(self, value):
        self.value = value

    def sample(self, rng):
        return self.value


def test_mixed_dataset_weights_are_equal():
    mixed = MixedPairDataset([_Constant(0), _Constant(1), _Constant(2)], epoch_pairs=3000)
    counts = np.bincount([mixed[i] for i in range(len(mixed))], minlength=3)
    assert np.all(np.abs(counts / 3000 - 1 / 3) < 0.04)
    assert [mixed[(2, i)] for i in range(50)] == [mixed[(2, i)] for i in range(50)]


def test_random_crop_collate():
    length = 10 * RATE
    batch = [
        (torch.arange(length, dtype=torch.float64) + i * 1e6, -(torch.arange(length) + i * 1e6))
        for i in range(4)
    ]
    collate = RandomCropCollate(2.0, 10.0, RATE, seed=3)
    anchors, positives = collate(batch)
    assert anchors.shape == positives.shape and anchors.shape[0] == 4
    assert 2 * RATE <= anchors.shape[1] <= length
    assert torch.equal(positives, -anchors.to(positives.dtype))
    offsets = [int(anchors[i, 0] - i * 1e6) for i in range(4)]
    for i, offset in enumerate(offsets):
        assert torch.equal(anchors[i], batch[i][0][offset : offset + anchors.shape[1]])
    assert len(set(offsets)) > 1
    again = collate(batch)
    assert torch.equal(again[0], anchors)
    lengths = {RandomCropCollate(seed=s)(batch)[0].shape[1] for s in range(10)}
    assert len(lengths) > 1


def test_datasets_pickle(coco_train):
    dataset = StemPairDataset(coco_train, segment_seconds=SEGMENT, epoch_pairs=4)
    mixed = MixedPairDataset([dataset], epoch_pairs=4)
    for obj in (dataset, mixed, RandomCropCollate()):
        clone = pickle.loads(pickle.dumps(obj))
        assert type(clone) is type(obj)
    assert torch.equal(pickle.loads(pickle.dumps(mixed))[2][0], mixed[2][0])


def test_datamodule_with_workers(coco_root, coco_train, index_dir, tmp_path):
    test = build_manifest("cocochorales", coco_root, "test", index_dir=index_dir)
    kwargs = dict(
        train={"cocochorales": coco_train},
        batch_size=4,
        segment_seconds=1.0,
        min_crop_seconds=0.5,
        val_seconds=1.0,
        val_queries=6,
        epoch_pairs=8,
    )
    module = PairDataModule(num_workers=2, val={"cocochorales": test}, **kwargs)
    module.setup("fit")
    loader = module.train_dataloader()
    loader.sampler.set_epoch(3)
    batches = list(loader)
    assert len(batches) == 2
    for anchors, positives in batches:
        assert anchors.shape == positives.shape and anchors.shape[0] == 4
        assert RATE // 2 <= anchors.shape[1] <= RATE
    # Same data without workers, from a saved manifest and a saved validation list.
    test.save(str(tmp_path / "test.json"))
    lists = make_retrieval_lists(
        test, str(tmp_path / "lists.json"), seeds=(0,), n_queries=6, ks=(), seconds=1.0
    )
    serial = PairDataModule(
        num_workers=0,
        val={"cocochorales": str(tmp_path / "test.json")},
        val_lists={"cocochorales": str(tmp_path / "lists.json")},
        **kwargs,
    )
    serial.setup("fit")
    serial_loader = serial.train_dataloader()
    serial_loader.sampler.set_epoch(3)
    for (a, p), (b, q) in zip(batches, serial_loader):
        assert torch.equal(a, b) and torch.equal(p, q)
    val = list(module.val_dataloader())
    assert sum(len(a) for a, _ in val) == len(lists["queries"]) == 6
    for (a, p), (b, q) in zip(val, serial.val_dataloader()):
        assert a.shape[1] == RATE and torch.equal(a, b) and torch.equal(p, q)
    assert module.get_infos()["dataset"] == "cocochorales"
