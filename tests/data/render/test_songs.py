"""Tests of the synthetic four-stem songs."""

from __future__ import annotations

import numpy as np
import pytest

from phalar_asteroid.data.render import synth_song
from phalar_asteroid.data.render.songs import STEMS


@pytest.mark.parametrize("seconds, sample_rate", [(3.0, 16000), (1.25, 22050)])
def test_song_has_four_stems_of_the_asked_length(seconds, sample_rate):
    song = synth_song(np.random.default_rng(0), seconds, sample_rate)
    assert tuple(song) == STEMS
    for stem in song.values():
        assert stem.dtype == np.float32
        assert stem.shape == (round(seconds * sample_rate),)
        assert np.abs(stem).max() == pytest.approx(0.5)


def test_same_generator_state_same_song():
    first = synth_song(np.random.default_rng(3), 2.0)
    again = synth_song(np.random.default_rng(3), 2.0)
    other = synth_song(np.random.default_rng(4), 2.0)
    assert all(np.array_equal(first[name], again[name]) for name in STEMS)
    assert not np.array_equal(first["melody"], other["melody"])
