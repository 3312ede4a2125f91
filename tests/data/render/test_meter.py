"""Tests of the metric grid: downbeats through pickups and split bars, beat units."""

from __future__ import annotations

import numpy as np
import pytest
from music21 import meter, note, stream

from phalar_asteroid.data.render.meter import Meter


def make_part(time_signature: str, lengths: list[float], pickup: float = 0.0) -> stream.Part:
    """A one-voice part with one measure per length (quarters), the first a pickup if asked."""
    part = stream.Part()
    for number, length in enumerate(lengths):
        measure = stream.Measure(number=number)
        if number == 0:
            measure.timeSignature = meter.TimeSignature(time_signature)
            measure.paddingLeft = pickup
        measure.append(note.Note("C4", quarterLength=length))
        part.append(measure)
    return part


def test_meter_keeps_downbeats_through_pickups_and_split_bars():
    # A one-beat pickup, a full bar, a bar split in two by a repeat sign, a final 3-beat bar.
    grid = Meter.from_part(make_part("4/4", [1, 4, 2, 2, 4, 3], pickup=3))
    offsets, positions = zip(*grid.beats())
    assert offsets == tuple(float(t) for t in range(16))
    assert positions == (4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3)
    assert [grid.strength(t) for t in (1.0, 2.0, 2.5, 7.0, 9.0)] == [2, 1, 0, 1, 2]


@pytest.mark.parametrize(
    "signature, beat, positions",
    [
        ("4/2", 2.0, [1, 2, 3, 4, 1, 2, 3, 4]),
        ("6/8", 1.5, [1, 2, 1, 2]),
        ("3/4", 1.0, [1, 2, 3] * 2),
    ],
)
def test_beat_unit_follows_the_time_signature(signature, beat, positions):
    bar = meter.TimeSignature(signature).barDuration.quarterLength
    grid = Meter.from_part(make_part(signature, [bar, bar]))
    offsets, found = zip(*grid.beats())
    assert list(found) == positions
    np.testing.assert_allclose(np.diff(offsets), beat)
