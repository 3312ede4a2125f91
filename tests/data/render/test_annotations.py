"""Tests of the annotations: beat files, chord files and Harte labels of sonorities."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest
import yaml
from mirdata.datasets.gtzan_genre import load_beats
from music21 import chord
from render_fixtures import SECONDS, coco_tracks, slakh_tracks

from phalar_asteroid.data.render.annotations import harte_label
from phalar_asteroid.eval.chords import CHORD_CLASSES


def test_beats_follow_tempo_and_time_signature(native):
    out, _ = native
    for track in coco_tracks(out) + slakh_tracks(out):
        metadata = yaml.safe_load((track / "metadata.yaml").read_text())
        beats = load_beats(str(track / "beats.beats"))
        numerator, denominator = map(int, metadata["time_signature"].split("/"))
        bar_quarters = numerator * 4 / denominator
        n_beats = round(bar_quarters / metadata["beat_unit"])
        spacing = 60.0 / metadata["tempo_bpm"] * metadata["beat_unit"]
        assert len(beats.times) >= SECONDS / spacing - 2
        assert beats.times[0] >= 0 and beats.times[-1] < SECONDS
        np.testing.assert_allclose(np.diff(beats.times), spacing, atol=2e-6)
        positions = beats.positions.astype(int)
        assert 1 in positions and set(positions) <= set(range(1, n_beats + 1))
        np.testing.assert_array_equal(positions[1:], positions[:-1] % n_beats + 1)


def test_chord_labels_are_in_the_25_class_vocabulary(native):
    out, _ = native
    vocabulary = set(CHORD_CLASSES)  # the chord probe's literal classes
    for track in coco_tracks(out) + slakh_tracks(out):
        intervals, labels = mir_eval.io.load_labeled_intervals(str(track / "chords.lab"))
        mir_eval.chord.validate(labels, labels)
        assert set(labels) <= vocabulary
        assert len({label for label in labels if label != "N"}) >= 2
        assert intervals[0, 0] == 0.0 and intervals[-1, 1] == pytest.approx(SECONDS)
        np.testing.assert_allclose(intervals[1:, 0], intervals[:-1, 1])
        assert np.all(intervals[:, 1] > intervals[:, 0])


@pytest.mark.parametrize(
    "pitches, label",
    [
        (["C4", "E4", "G4"], "C:maj"),
        (["A3", "C4", "E4", "G4"], "A:min"),
        (["B-2", "D4", "F4"], "A#:maj"),
        (["G#3", "B3", "D4"], "G#:min"),
        (["C4", "G4"], None),
    ],
)
def test_harte_label(pitches, label):
    assert harte_label(chord.Chord(pitches)) == label
