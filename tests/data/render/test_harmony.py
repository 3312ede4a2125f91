"""Tests of the slow_band flavour: chords held for two bars, annotated exactly."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest
from mirdata.datasets.gtzan_genre import load_beats
from render_fixtures import slakh_tracks

from phalar_asteroid.data.render import render_corpus
from phalar_asteroid.data.render.harmony import chord_spans, close_voicing, span_labels, triad
from phalar_asteroid.data.render.meter import Bar, Meter

SLOW_SECONDS = 20.0


def four_four(start: float, phase: float = 0.0, length: float = 4.0) -> Bar:
    """A 4/4 bar (a pickup when ``phase`` > 0)."""
    return Bar(start, length, phase, 4.0, 1.0, 2, "4/4")


def test_spans_join_the_pickup_and_pair_the_bars():
    meter = Meter(
        [four_four(0.0, phase=3.0, length=1.0)] + [four_four(1.0 + 4 * i) for i in range(5)]
    )
    assert chord_spans(meter, end=21.0) == [(0.0, 9.0), (9.0, 17.0), (17.0, 21.0)]
    assert chord_spans(meter, end=21.0, bars_per_chord=1)[:2] == [(0.0, 5.0), (5.0, 9.0)]
    with pytest.raises(ValueError, match="bars_per_chord"):
        chord_spans(meter, end=21.0, bars_per_chord=0)


def test_span_label_is_the_longest_chord_and_fills_gaps():
    chords = [
        (0.0, 1.0, "N"),
        (1.0, 2.0, "C:maj"),
        (2.0, 5.0, "G:maj"),
        (5.0, 8.0, "C:maj"),
        (8.0, 16.0, "N"),
        (16.0, 20.0, "A:min"),
    ]
    spans = [(0.0, 8.0), (8.0, 16.0), (16.0, 20.0)]
    # C:maj 4 beats beats G:maj 3 (N does not count); the chordless span keeps C:maj.
    assert span_labels(chords, spans) == ["C:maj", "C:maj", "A:min"]
    assert span_labels([(0.0, 4.0, "N"), (4.0, 8.0, "D:min")], [(0.0, 4.0), (4.0, 8.0)]) == [
        "D:min",
        "D:min",
    ]
    with pytest.raises(ValueError, match="no chord"):
        span_labels([(0.0, 4.0, "N")], [(0.0, 4.0)])


def test_voicings_hold_the_triad_and_move_little():
    assert triad("A:min") == (9, 0, 4)
    assert triad("F#:maj") == (6, 10, 1)
    first = close_voicing(triad("C:maj"), None)
    assert first == [60, 64, 67]
    # From C-E-G, G major keeps its G and moves the other voices down a semitone or two.
    assert close_voicing(triad("G:maj"), first) == [59, 62, 67]


@pytest.fixture(scope="module")
def slow_track(tmp_path_factory):
    """One rendered slow_band track of 20 s."""
    out = tmp_path_factory.mktemp("slow_band")
    render_corpus(out, 1, 0, flavour="slow_band", workers=1, max_seconds=SLOW_SECONDS)
    (track,) = slakh_tracks(out)
    return track


def test_slow_band_chords_last_at_least_a_bar(slow_track):
    intervals, labels = mir_eval.io.load_labeled_intervals(str(slow_track / "chords.lab"))
    beats = load_beats(str(slow_track / "beats.beats"))
    downbeats = beats.times[beats.positions == 1]
    bar = np.diff(downbeats).min()
    assert len(labels) >= 2 and "N" not in labels
    assert intervals[0, 0] == 0.0 and intervals[-1, 1] == pytest.approx(SLOW_SECONDS)
    # Every chord change falls on a downbeat; only the last segment, cut by the crop, may be
    # shorter than a bar.
    for change in intervals[1:, 0]:
        assert np.abs(downbeats - change).min() < 1e-3
    assert np.all(np.diff(intervals[:-1], axis=1) >= bar - 1e-3)
