"""Chord probing pieces: vocabulary, label mappings, window labels, folds, probes, scores."""

import random

import numpy as np
import pytest
import torch

from phalar_asteroid.eval.chords import (
    CHORD_CLASSES,
    UNLABELLED,
    ComplexLinearProbe,
    chord_scores,
    cross_validate,
    frame_labels,
    frames_to_intervals,
    label_classes,
    label_offset,
    literal_class,
    make_probe,
    mean_confidence,
    paired_difference,
    predict,
    recording_accuracy,
    recording_folds,
    reduced_class,
    train_probe,
    window_frames,
    window_labels,
    window_mean,
)


def test_class_order():
    assert len(CHORD_CLASSES) == 25
    assert CHORD_CLASSES[0] == "N"
    assert CHORD_CLASSES[1] == "C:maj" and CHORD_CLASSES[12] == "B:maj"
    assert CHORD_CLASSES[13] == "C:min" and CHORD_CLASSES[24] == "B:min"
    assert CHORD_CLASSES[2] == "C#:maj" and CHORD_CLASSES[22] == "A:min"


# label, literal class, reduced class
MAPPING_TABLE = [
    ("N", 0, 0),
    ("X", 0, 0),
    ("C:maj", 1, 1),
    ("C#:maj", 2, 2),
    ("Db:maj", 0, 2),  # flat spelling: N literally, C#:maj once respelled
    ("A:min", 22, 22),
    ("Bb:min", 0, 23),
    ("A:min7", 0, 22),
    ("G:7", 0, 8),
    ("G:7/3", 0, 8),  # inversions keep the root
    ("C:maj/5", 0, 1),
    ("F#:maj7", 0, 7),
    ("B:hdim7", 0, 24),  # minor third
    ("E:dim", 0, 17),
    ("Ab:aug", 0, 9),  # major third
    ("E:sus4", 0, 0),  # no third
    ("D:sus2", 0, 0),
    ("A:5", 0, 0),
    ("C:7(#9)", 0, 1),  # both thirds: the major one wins
    ("B", 0, 12),  # bare root = major triad in Harte shorthand
]


@pytest.mark.parametrize("label,literal,reduced", MAPPING_TABLE)
def test_label_mappings(label, literal, reduced):
    assert literal_class(label) == literal
    assert reduced_class(label) == reduced


def test_label_classes_vectorised_and_checked():
    labels = [row[0] for row in MAPPING_TABLE]
    np.testing.assert_array_equal(label_classes(labels), [row[1] for row in MAPPING_TABLE])
    np.testing.assert_array_equal(
        label_classes(labels, "reduced"), [row[2] for row in MAPPING_TABLE]
    )
    with pytest.raises(ValueError, match="mapping"):
        label_classes(labels, "fuzzy")
    with pytest.raises(ValueError, match="H:maj"):
        reduced_class("H:maj")


def test_frame_labels_at_frame_starts():
    intervals = np.array([[0.5, 1.0], [1.0, 2.5], [2.8, 2.9]])
    labels = frame_labels(intervals, ["C:maj", "A:min", "G:7"], n_frames=150)
    assert labels[:25] == [None] * 25  # before the first segment: unannotated
    assert labels[25:50] == ["C:maj"] * 25
    assert labels[50:125] == ["A:min"] * 75  # t = 1.0 belongs to the segment starting there
    assert labels[125:140] == [None] * 15
    assert labels[140:145] == ["G:7"] * 5
    assert labels[145:] == [None] * 5
    # 0.58 / 0.02 = 28.999999999999996 in floating point: still 29 frames.
    assert frame_labels([[0.0, 0.58]], ["C:maj"], 40)[28:30] == ["C:maj", None]
    np.testing.assert_array_equal(label_classes(labels[48:52]), [1, 1, 22, 22])
    assert label_classes([None])[0] == UNLABELLED
    with pytest.raises(ValueError, match="2 chord intervals but 1 labels"):
        frame_labels(intervals[:2], ["N"], 10)


def test_frames_to_intervals_merges_runs():
    intervals, labels = frames_to_intervals([0, 0, 1, 1, 1, 13])
    np.testing.assert_allclose(intervals, [[0.0, 0.04], [0.04, 0.1], [0.1, 0.12]])
    assert labels == ["N", "C:maj", "C:min"]
    assert frames_to_intervals([])[1] == []


def test_chord_scores_root_and_majmin():
    ref_int = np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 10.0]])
    ref_lab = ["C:maj", "A:min7", "G:maj"]
    exact = frames_to_intervals([1] * 50 + [22] * 50)  # C:maj then A:min over 2 s
    assert chord_scores(ref_int, ref_lab, *exact) == {"root": 1.0, "majmin": 1.0}
    wrong_quality = frames_to_intervals([1] * 50 + [10] * 50)  # A:maj in the second second
    assert chord_scores(ref_int, ref_lab, *wrong_quality) == {"root": 1.0, "majmin": 0.5}
    # Frames running past the reference's end are cut, not scored against "N".
    overrun = frames_to_intervals([1] * 50 + [22] * 50 + [8] * 500 + [1] * 30)
    assert chord_scores(ref_int, ref_lab, *overrun) == {"root": 1.0, "majmin": 1.0}
    with pytest.raises(ValueError, match="overlap"):
        chord_scores(ref_int, ref_lab, np.zeros((0, 2)), [])


def test_recording_folds_sizes_disjoint_deterministic():
    ids = [f"rec{i:02d}" for i in range(23)]
    folds = recording_folds(reversed(ids))
    assert [len(f) for f in folds] == [4, 4, 4, 4, 7]
    assert sorted(sum(folds, [])) == ids
    assert recording_folds(ids) == folds
    # The reference's procedure: global seed, sorted list shuffled in place.
    random.seed(42)
    expected = sorted(ids)
    random.shuffle(expected)
    assert sum(folds, []) == expected
    assert [len(f) for f in recording_folds([f"r{i}" for i in range(180)])] == [36] * 5
    assert recording_folds(ids, seed=1) != folds
    with pytest.raises(ValueError, match="5-fold"):
        recording_folds(ids[:4])


def test_complex_probe_logits_are_real_part():
    probe = ComplexLinearProbe(6, 25)
    x = torch.randn(4, 2, 6)
    a, b = probe.linear.real_weight, probe.linear.imag_weight
    np.testing.assert_allclose(
        probe(x).detach(), (x[:, 0] @ a.T - x[:, 1] @ b.T).detach(), rtol=1e-5, atol=1e-6
    )
    assert isinstance(make_probe(torch.zeros(3, 12)), torch.nn.Linear)
    with pytest.raises(ValueError, match="features"):
        make_probe(torch.zeros(3, 4, 5))


def separable_complex_data(n_per_class=40, dim=16, n_classes=25, seed=0):
    gen = torch.Generator().manual_seed(seed)
    means = torch.randn(n_classes, 2, dim, generator=gen)
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)
    features = means[labels] + 0.05 * torch.randn(len(labels), 2, dim, generator=gen)
    return features, labels


def test_probe_learns_separable_complex_features():
    torch.manual_seed(0)
    x, y = separable_complex_data()
    probe = train_probe(ComplexLinearProbe(16, 25), x, y, epochs=10, batch_size=64, lr=1e-2)
    assert (predict(probe, x) == y.numpy()).mean() > 0.97


def test_cross_validate_by_recording():
    x, y = separable_complex_data(n_per_class=20, seed=1)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    x, y = x[order], y[order]
    features = {f"rec{i}": x[i * 50 : (i + 1) * 50] for i in range(10)}
    labels = {f"rec{i}": y[i * 50 : (i + 1) * 50].numpy() for i in range(10)}
    labels["rec0"][:10] = UNLABELLED  # ignored in training and accuracy
    results = cross_validate(features, labels, epochs=10, lr=3e-2)
    assert [r["fold"] for r in results] == list(range(5))
    assert sorted(r for res in results for r in res["recordings"]) == sorted(features)
    assert all(res["accuracy"] > 0.95 for res in results)
    for res in results:
        assert set(res["predictions"]) == set(res["recordings"])
    again = cross_validate(features, labels, epochs=10, lr=3e-2)
    assert [r["accuracy"] for r in again] == [r["accuracy"] for r in results]


def test_mean_confidence_uses_sample_std():
    mean, half = mean_confidence([0.5, 0.6, 0.7, 0.8, 0.9])
    assert mean == pytest.approx(0.7)
    assert half == pytest.approx(1.96 * np.sqrt(0.025) / np.sqrt(5))
    assert mean_confidence([0.4]) == (0.4, 0.0)


def test_window_mean_is_start_aligned():
    frames = np.arange(12, dtype=np.float32).reshape(6, 2)  # rows [0, 1], [2, 3], ...
    means = window_mean(frames, 3)
    np.testing.assert_allclose(means, [[2, 3], [4, 5], [6, 7], [8, 9]])
    np.testing.assert_array_equal(window_mean(frames, 1), frames)
    assert window_mean(frames, 7).shape == (0, 2)
    with pytest.raises(ValueError, match="at least one frame"):
        window_mean(frames, 0)
    # On the grid of 0.1 s window starts (stride 5 of 20 ms frames).
    np.testing.assert_allclose(window_mean(frames, 2, stride=2), [[1, 2], [5, 6], [9, 10]])
    with pytest.raises(ValueError, match="at least one frame"):
        window_mean(frames, 2, stride=0)


# Hand-made segments: C:maj 0-1 s, G:maj 1-1.5 s, A:min 1.5-4 s, then nothing until N 5-6 s.
SEGMENTS = np.array([[0.0, 1.0], [1.0, 1.5], [1.5, 4.0], [5.0, 6.0]])
LABELS = ["C:maj", "G:maj", "A:min", "N"]


def test_window_labels_start_centre_majority():
    # Eight 2 s windows every 0.5 s: [0, 2), [0.5, 2.5), ..., [3.5, 5.5).
    start = window_labels(SEGMENTS, LABELS, 8, 0.5, 2.0, "start")
    assert start == ["C:maj", "C:maj", "G:maj", "A:min", "A:min", "A:min", "A:min", "A:min"]
    assert start == frame_labels(SEGMENTS, LABELS, 8, 0.5)  # the reference's rule
    # Centres at 1, 1.5, ..., 4.5 s: 4 and 4.5 s lie outside every segment.
    centre = window_labels(SEGMENTS, LABELS, 8, 0.5, 2.0, "centre")
    assert centre == ["G:maj", "A:min", "A:min", "A:min", "A:min", "A:min", None, None]
    # [0, 2): C 1 s, G 0.5, A 0.5 -> C; [0.5, 2.5): C 0.5, G 0.5, A 1 -> A; [3, 5): A 1 s
    # (4-5 s is unannotated); [3.5, 5.5): A 0.5 s, N 0.5 s -> a tie, A's segment comes first.
    majority = window_labels(SEGMENTS, LABELS, 8, 0.5, 2.0, "majority")
    assert majority == ["C:maj", "A:min", "A:min", "A:min", "A:min", "A:min", "A:min", "A:min"]
    assert window_labels(SEGMENTS, LABELS, 2, 2.0, 1.0, "majority") == ["C:maj", "A:min"]
    # Class ids work as labels too: [1, 2) is a G/A tie (G first), nothing is annotated in [4, 5).
    classes = label_classes(LABELS)
    assert window_labels(SEGMENTS, classes, 6, 1.0, 1.0, "majority") == [1, 8, 22, 22, None, 0]
    with pytest.raises(ValueError, match="label rule"):
        window_labels(SEGMENTS, LABELS, 8, 0.5, 2.0, "end")


def test_label_offset_and_window_frames():
    assert label_offset("start", 4.8) == 0.0
    assert label_offset("centre", 4.8) == label_offset("majority", 4.8) == 2.4
    assert window_frames(4.8, 0.02) == 240
    assert window_frames(1, 0.02) == 50 and window_frames(0.1, 0.02) == 5
    with pytest.raises(ValueError, match="window_seconds=0.01 is not a positive whole"):
        window_frames(0.01, 0.02)
    with pytest.raises(ValueError, match="hop_seconds=0.03"):
        window_frames(0.03, 0.02, "hop_seconds")


def test_chord_scores_over_the_common_span():
    # An estimate placed at window centres starts late: its first second is not scored as N.
    ref_int, ref_lab = np.array([[0.0, 2.0], [2.0, 4.0]]), ["C:maj", "A:min"]
    est_int, est_lab = frames_to_intervals([1] * 50 + [22] * 100, 0.02)
    assert chord_scores(ref_int, ref_lab, est_int + 1.0, est_lab) == {"root": 1.0, "majmin": 1.0}
    assert chord_scores(ref_int, ref_lab, est_int, est_lab)["majmin"] == pytest.approx(2 / 3)


def test_recording_accuracy_and_paired_difference():
    folds = [
        {"predictions": {"a": np.array([1, 1, 2, 0]), "b": np.array([3, 3])}},
        {"predictions": {"c": np.array([5, 5, 5, 5])}},
    ]
    labels = {"a": np.array([1, 2, 2, UNLABELLED]), "b": np.array([3, 4]), "c": np.full(4, 5)}
    assert recording_accuracy(folds, labels) == {"a": 2 / 3, "b": 0.5, "c": 1.0}

    a = {f"r{i}": 0.5 + 0.05 * i for i in range(8)}
    b = {f"r{i}": 0.4 for i in range(8)}
    result = paired_difference(a, b)
    diffs = np.array([0.1 + 0.05 * i for i in range(8)])
    assert result["diff"] == pytest.approx(diffs.mean())
    assert result["ci95"] == pytest.approx(1.96 * diffs.std(ddof=1) / np.sqrt(8))
    assert result["p_value"] == pytest.approx(2 / 2**8)  # exact test: all 8 differences > 0
    assert (result["a_better"], result["b_better"], result["n_recordings"]) == (8, 0, 8)
    assert paired_difference(b, b)["p_value"] == 1.0
    with pytest.raises(ValueError, match="same"):
        paired_difference(a, {"r0": 0.1})
