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
    make_cocochorales,
    make_moisesdb,
    ramp_stems,
)
from torch.utils.data import DataLoader

from phalar_asteroid.data.datasets import build_manifest
from phalar_asteroid.data.pairs import MixedPairDataset, RandomCropCollate, StemPairDataset

SEGMENT = 0.5
T = int(SEGMENT * RATE)


@pytest.fixture
def coco_train(coco_root, index_dir):
    return build_manifest("cocochorales", coco_root, "train", index_dir=index_dir)


@pytest.fixture
def beat_ramps(tmp_path):
    """Ramp pieces (every stem active throughout) with beat annotations: a bar every 2 s."""
    root = str(tmp_path / "beat_ramps")
    make_cocochorales(root, {"train": [1, 2]}, lambda: ramp_stems(False), annotated=True)
    return build_manifest("cocochorales", root, "train", index_dir=str(tmp_path / "idx"))


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


def test_random_crop_lengths_on_a_grid():
    batch = [(torch.randn(10 * RATE), torch.randn(10 * RATE)) for _ in range(2)]
    lengths = [
        RandomCropCollate(2.0, 10.0, RATE, seed=s, step_seconds=1.0)(batch)[0].shape[1]
        for s in range(200)
    ]
    # The 9 lengths 2, 3, ..., 10 s, equally likely (200 draws: each 22 expected).
    values, counts = np.unique(lengths, return_counts=True)
    assert values.tolist() == [s * RATE for s in range(2, 11)]
    assert counts.min() >= 8 and counts.max() <= 40
    with pytest.raises(ValueError, match="8 s between the shortest and the longest crop"):
        RandomCropCollate(2.0, 10.0, RATE, step_seconds=3.0)
    with pytest.raises(ValueError, match="step_seconds: must be >= 0"):
        RandomCropCollate(2.0, 10.0, RATE, step_seconds=-1.0)


def test_datasets_pickle(coco_train):
    dataset = StemPairDataset(coco_train, segment_seconds=SEGMENT, epoch_pairs=4)
    mixed = MixedPairDataset([dataset], epoch_pairs=4)
    for obj in (dataset, mixed, RandomCropCollate()):
        clone = pickle.loads(pickle.dumps(obj))
        assert type(clone) is type(obj)
    assert torch.equal(pickle.loads(pickle.dumps(mixed))[2][0], mixed[2][0])


def test_same_track_negatives_are_bar_shifted_positives(beat_ramps):
    dataset = StemPairDataset(
        beat_ramps,
        segment_seconds=SEGMENT,
        epoch_pairs=60,
        augment=False,
        same_track_fraction=1.0,
        min_bar_shift=1,
    )
    with_extra = 0
    for index in range(len(dataset)):
        anchor, positive, extra = dataset[index]
        assert anchor.shape == positive.shape == (T,) and extra.dtype == torch.float32
        positive_mask, offset = decode_ramp(positive.numpy())
        if not len(extra):
            # Every shift of a whole bar (2 s) takes the window out of the 3 s track.
            assert offset - 2 * RATE < 0 and offset + 2 * RATE > RAMP_FRAMES - T
            continue
        with_extra += 1
        # The positive's own stems, exactly one bar earlier or later.
        extra_mask, extra_offset = decode_ramp(extra.numpy())
        assert extra.shape == (T,) and extra_mask == positive_mask
        assert abs(extra_offset - offset) == 2 * RATE
    assert with_extra >= 10
    assert torch.equal(dataset[(0, 3)][2], dataset[(0, 3)][2])  # a pure function of the key


def test_same_track_option_keeps_the_pairs(beat_ramps):
    """The option adds a third output; the pairs are drawn exactly as without it."""
    kwargs = dict(segment_seconds=SEGMENT, epoch_pairs=20, augment=False, min_bar_shift=1)
    plain = StemPairDataset(beat_ramps, **kwargs)
    half = StemPairDataset(beat_ramps, same_track_fraction=0.5, **kwargs)
    never = StemPairDataset(beat_ramps, same_track_fraction=1e-9, **kwargs)
    extras = 0
    for index in range(len(plain)):
        assert len(plain[index]) == 2
        for a, b in zip(plain[index], half[index]):
            assert torch.equal(a, b)
        extras += len(half[index][2]) > 0
        assert len(never[index]) == 3 and not len(never[index][2])
    assert 0 < extras < len(plain)
    augmented = StemPairDataset(beat_ramps, same_track_fraction=1.0, **dict(kwargs, augment=True))
    items = [augmented[i] for i in range(10)]
    assert all(x.dtype == torch.float32 and torch.isfinite(x).all() for i in items for x in i)
    assert any(len(extra) == T for _, _, extra in items)
    with pytest.raises(ValueError, match="same_track_fraction"):
        StemPairDataset(beat_ramps, same_track_fraction=1.5)


def test_random_crop_collate_with_extras():
    length = 10 * RATE
    ramp = torch.arange(length, dtype=torch.float64)
    batch = [
        (ramp + i * 1e6, -(ramp + i * 1e6), ramp + i * 1e6 + 5e5 if i % 2 else ramp[:0])
        for i in range(4)
    ]
    collate = RandomCropCollate(2.0, 10.0, RATE, seed=3)
    anchors, positives, extras = collate(batch)
    # The pairs are cropped as without extras; the 2 non-empty extras to the same length.
    plain = collate([(a, p) for a, p, _ in batch])
    assert torch.equal(anchors, plain[0]) and torch.equal(positives, plain[1])
    assert extras.shape == (2, anchors.shape[1])
    for row, i in zip(extras, (1, 3)):
        offset = int(row[0] - i * 1e6 - 5e5)
        assert torch.equal(row, batch[i][2][offset : offset + anchors.shape[1]])
    for output, again in zip((anchors, positives, extras), collate(batch)):
        assert torch.equal(output, again)
    none = collate([(a, p, ramp[:0]) for a, p, _ in batch])
    assert none[2].shape == (0, anchors.shape[1])


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_training_batches_do_not_depend_on_workers(coco_train, beat_ramps, fraction):
    """Mixed datasets keyed by (epoch, index), cropped per batch: same batches with 0 or 2
    workers (coco_train has no beat file: its bars are estimated from the audio)."""
    sources = [
        StemPairDataset(
            manifest, SEGMENT, epoch_pairs=8, same_track_fraction=fraction, min_bar_shift=1
        )
        for manifest in (coco_train, beat_ramps)
    ]
    mixed = MixedPairDataset(sources, epoch_pairs=8)
    keys = [(3, index) for index in range(len(mixed))]

    def batches(workers):
        collate = RandomCropCollate(SEGMENT / 2, SEGMENT, RATE, seed=1)
        loader = DataLoader(mixed, 4, sampler=keys, num_workers=workers, collate_fn=collate)
        return list(loader)

    serial, parallel = batches(0), batches(2)
    assert len(serial) == 2
    for first, second in zip(serial, parallel):
        assert len(first) == (3 if fraction else 2)
        assert first[0].shape[0] == 4 and T // 2 <= first[0].shape[1] <= T
        for a, b in zip(first, second):
            assert torch.equal(a, b)
    if fraction:
        assert sum(len(batch[2]) for batch in serial) > 0
