import numpy as np
import pytest
import soundfile as sf
from data_fixtures import RAMP_FRAMES, RATE, chorale_stems, make_cocochorales, ramp_stems

from phalar_asteroid.data.datasets import build_manifest
from phalar_asteroid.data.datasets.stems import rms_db
from phalar_asteroid.data.sampling import (
    BarGrid,
    bar_grid,
    bar_shifts,
    draw_subsets,
    draw_window,
    item_rng,
)

BAR = 2.0
BEAT = 0.5


def _track(seconds=16.0, rate=RATE, **extra):
    return {"sample_rate": rate, "num_frames": int(seconds * rate), "duration": seconds, **extra}


def _grid(first=0.0, last=14.0):
    """A 4/4 grid with a bar every 2 s from ``first`` to ``last`` (downbeats)."""
    beats = np.arange(first, last + BAR - 1e-9, BEAT)
    return BarGrid(beats, beats[::4], 4)


def test_item_rng_is_a_pure_function_of_seed_epoch_and_index():
    draws = item_rng(7, 2, 5).random(4)
    np.testing.assert_array_equal(draws, item_rng(7, 2, 5).random(4))
    for other in ((8, 2, 5), (7, 3, 5), (7, 2, 6)):
        assert not np.array_equal(draws, item_rng(*other).random(4))


@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_subsets_are_disjoint_non_empty_and_drawn_from_the_active_stems(n):
    active = [3 * k + 1 for k in range(n)]
    sizes = set()
    for index in range(200):
        anchor, positive = draw_subsets(active, item_rng(0, 0, index))
        assert anchor and positive and not set(anchor) & set(positive)
        assert set(anchor) | set(positive) <= set(active)
        assert anchor == sorted(anchor) and positive == sorted(positive)
        sizes.add((len(anchor), len(positive)))
    # Every size pair of the rule a ~ U{1..n-1}, p ~ U{1..n-a} occurs.
    assert sizes == {(a, p) for a in range(1, n) for p in range(1, n - a + 1)}


@pytest.fixture
def ramps(tmp_path):
    make_cocochorales(str(tmp_path / "data"), {"train": [1, 2]})
    return build_manifest("cocochorales", str(tmp_path / "data"), "train", str(tmp_path / "idx"))


def test_windows_stay_inside_the_track_and_report_the_active_stems(ramps):
    track, seconds = ramps[0], 0.5
    length = int(seconds * RATE)
    offsets = []
    for index in range(50):
        offset, audio, active = draw_window(track, item_rng(1, 0, index), seconds)
        assert 0 <= offset <= RAMP_FRAMES - length
        assert audio.shape == (4, length)
        np.testing.assert_allclose(audio, ramp_stems()[:, offset : offset + length], atol=1e-6)
        assert active == np.flatnonzero(rms_db(audio) >= -60.0).tolist() and len(active) >= 2
        offsets.append(offset)
    assert len(set(offsets)) > 40
    # No active stem anywhere: every try is used, and the last window is returned.
    offset, audio, active = draw_window(track, item_rng(1, 0, 0), seconds, min_stem_db=np.inf)
    assert active == [] and 0 <= offset <= RAMP_FRAMES - length
    # A window longer than the track starts at 0 and is zero-padded.
    offset, audio, _ = draw_window(track, item_rng(1, 0, 0), 4.0)
    assert offset == 0 and audio.shape == (4, 4 * RATE) and not audio[:, RAMP_FRAMES:].any()


def test_shifts_are_whole_bars_inside_the_track():
    frames = bar_shifts(_track(), _grid(), 4 * RATE, seconds=2.0, min_bars=2)
    # From 4 s: >= 2 bars (4 s) either way, the 2 s window inside 16 s.
    assert frames == [t * RATE for t in (0, 8, 10, 12, 14)]
    assert bar_shifts(_track(), _grid(), 4 * RATE, 2.0, min_bars=4) == [12 * RATE, 14 * RATE]
    # Off the downbeats, the window keeps its phase in the bar.
    assert bar_shifts(_track(), _grid(), 5 * RATE, 2.0, 2) == [t * RATE for t in (1, 9, 11, 13)]
    # The grid is extrapolated beyond its first and last downbeats.
    grid = _grid(first=4.0, last=10.0)
    assert bar_shifts(_track(), grid, 5 * RATE, 2.0, 2) == [t * RATE for t in (1, 9, 11, 13)]
    # Native rates other than 16 kHz; no grid, no shift.
    assert bar_shifts(_track(rate=44100), _grid(), 4 * 44100, 2.0, 5) == [14 * 44100]
    assert bar_shifts(_track(), BarGrid(np.array([1.0]), np.array([1.0]), 4), 0, 2.0) == []


def test_offgrid_shifts_add_a_fraction_of_a_beat():
    rng = np.random.default_rng(0)
    frames = bar_shifts(_track(), _grid(), 6 * RATE, 2.0, 2, offgrid=True, rng=rng)
    assert len(frames) >= 3
    for frame in frames:
        shift = abs(frame / RATE - 6.0)
        assert shift >= 2 * BAR
        beats = shift / BEAT
        assert 0.25 - 1e-3 <= beats - np.floor(beats) <= 0.75 + 1e-3
        assert 0 <= frame <= 14 * RATE


def test_bar_grid_from_beat_files(tmp_path):
    with_positions = tmp_path / "a.beats"
    with_positions.write_text("".join(f"{i * 0.4:.6f}\t{i % 3 + 1}\n" for i in range(12)))
    grid = bar_grid(_track(beats_path=str(with_positions)))
    np.testing.assert_allclose(grid.beats, np.arange(12) * 0.4)
    np.testing.assert_allclose(grid.downbeats, np.arange(0, 12, 3) * 0.4)
    assert grid.beats_per_bar == 3
    # Without positions in the bar: 4/4 from the first beat.
    times_only = tmp_path / "b.beats"
    times_only.write_text("".join(f"{0.1 + i * 0.5:.6f}\n" for i in range(10)))
    grid = bar_grid(_track(beats_path=str(times_only)))
    np.testing.assert_allclose(grid.downbeats, 0.1 + np.arange(0, 10, 4) * 0.5)
    assert grid.beats_per_bar == 4


def test_bar_grid_estimated_from_the_audio(tmp_path):
    """Without a beat file, beats come from the track's audio (a note every 0.5 s here)."""
    mix = chorale_stems().sum(axis=0)
    path = str(tmp_path / "mix.wav")
    sf.write(path, mix, RATE)
    track = _track(len(mix) / RATE, stems=[{"name": "mix", "path": path}], beats_path=None)
    grid = bar_grid(track)
    assert len(grid.beats) >= 20 and grid.beats_per_bar == 4
    np.testing.assert_allclose(np.median(np.diff(grid.beats)), BEAT, atol=0.05)
    np.testing.assert_array_equal(grid.downbeats, grid.beats[::4])
    np.testing.assert_array_equal(bar_grid(track, mix=mix).beats, grid.beats)
