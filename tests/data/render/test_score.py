"""Tests of reading a corpus piece: repeats are written out before anything is counted."""

from __future__ import annotations

import pytest

from phalar_asteroid.data.render.score import load_piece


def test_repeats_are_expanded_before_beats_are_counted():
    # bwv104.6 has a repeated first section: 40 written quarters, 56 played.
    piece = load_piece("bach/bwv104.6.mxl", limit=1000.0)
    assert piece.end == pytest.approx(56.0)
    assert len(piece.meter.beats()) == 56
    assert piece.chords[-1][1] == pytest.approx(56.0)
