"""madmom 0.16.1 through the compat module: the shims, and its RNN beat tracker really running."""

import collections
import collections.abc

import numpy as np
import pytest

from phalar_asteroid.compat import madmom as compat
from phalar_asteroid.eval.beat import MadmomBeatTracker


def click_track(period: float, seconds: float, sample_rate: int) -> np.ndarray:
    """Decaying 1 kHz clicks every ``period`` seconds, starting at 0.1 s."""
    wav = np.zeros(int(seconds * sample_rate), dtype=np.float32)
    n = np.arange(int(0.02 * sample_rate))
    click = np.sin(2 * np.pi * 1000 * n / sample_rate) * np.exp(-n / (0.002 * sample_rate))
    for t in np.arange(0.1, seconds - 0.05, period):
        i = int(round(t * sample_rate))
        wav[i : i + len(click)] += click[: len(wav) - i]
    return wav


def test_shims_alias_removed_names_only():
    assert collections.MutableSequence is collections.abc.MutableSequence
    assert collections.Iterable is collections.abc.Iterable
    assert np.float is float and np.int is int and np.complex is complex
    # np.bool is NumPy's own boolean type again in NumPy 2 and must stay so.
    assert np.bool is np.bool_
    assert compat.madmom.__version__ == "0.16.1"


def test_install_shims_is_idempotent():
    compat.install_shims()
    assert np.float is float and np.bool is np.bool_


@pytest.fixture(scope="module")
def tracker():
    return MadmomBeatTracker()


@pytest.mark.parametrize("sample_rate", [44100, 16000])
def test_rnn_dbn_finds_click_period(tracker, sample_rate):
    beats = tracker(click_track(0.5, 8.0, sample_rate), sample_rate)
    assert len(beats) >= 12
    assert np.median(np.diff(beats)) == pytest.approx(0.5, abs=0.02)
    # Beats sit on the clicks (0.1 + 0.5 k), within one 10 ms frame.
    phase = (beats - 0.1) % 0.5
    assert np.all(np.minimum(phase, 0.5 - phase) < 0.02)


def test_madmom_tracker_rejects_stereo(tracker):
    with pytest.raises(ValueError, match="mono"):
        tracker(np.zeros((2, 16000), dtype=np.float32), 16000)
