"""Random draws shared by the training pairs (:mod:`.pairs`) and the retrieval lists
(:mod:`.retrieval_lists`): the generator of one item, windows with active stems, disjoint stem
subsets, and shifts of a window by whole bars on a track's beat grid.
"""

from typing import NamedTuple, Optional, Sequence

import librosa
import numpy as np

from .datasets.stems import SILENCE_DB, load_mix, load_stems, rms_db, window_frames
from .datasets.common import load_beats


def item_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The numpy generator of one item, a pure function of ``(seed, epoch, index)``."""
    return np.random.default_rng([seed, epoch, index])


def draw_subsets(active: Sequence[int], rng: np.random.Generator) -> tuple:
    """Disjoint, non-empty random subsets of ``active`` (n ≥ 2 entries).

    Anchor size a ~ U{1..n-1}, positive size p ~ U{1..n-a}, both from one random permutation.

    Args:
        active (sequence of int): candidate stem indices.
        rng (np.random.Generator): random generator.

    Returns:
        tuple: ``(anchor, positive)`` sorted lists of stem indices.
    """
    n = len(active)
    order = rng.permutation(np.asarray(active))
    a = int(rng.integers(1, n - 1, endpoint=True))
    p = int(rng.integers(1, n - a, endpoint=True))
    return sorted(order[:a].tolist()), sorted(order[a : a + p].tolist())


def draw_window(
    track: dict,
    rng: np.random.Generator,
    seconds: float,
    sample_rate: int = 16000,
    min_stem_db: float = SILENCE_DB,
    tries: int = 4,
) -> tuple:
    """Draw random windows of a track until one has at least 2 active stems.

    Args:
        track (dict): manifest entry.
        rng (np.random.Generator): random generator.
        seconds (float): window length.
        sample_rate (int): output rate.
        min_stem_db (float): a stem is active when its RMS is at least this (dBFS).
        tries (int): windows to draw before giving up.

    Returns:
        tuple: ``(offset, audio, active)`` of the last window drawn: the native offset, all stems
        as an array (n_stems, T) and the indices of the active stems (fewer than 2 when every
        try failed).
    """
    last_start = max(0, track["num_frames"] - window_frames(seconds, track["sample_rate"]))
    for _ in range(tries):
        offset = int(rng.integers(0, last_start, endpoint=True))
        audio = load_stems(track, offset, seconds, sample_rate=sample_rate)
        active = np.flatnonzero(rms_db(audio) >= min_stem_db).tolist()
        if len(active) >= 2:
            break
    return offset, audio, active


class BarGrid(NamedTuple):
    """The beat grid of a track.

    Attributes:
        beats (np.ndarray): beat times in seconds, increasing.
        downbeats (np.ndarray): times of the first beat of every bar, in seconds.
        beats_per_bar (int): beats in a bar.
    """

    beats: np.ndarray
    downbeats: np.ndarray
    beats_per_bar: int


def bar_grid(track: dict, mix: Optional[np.ndarray] = None, sample_rate: int = 16000) -> BarGrid:
    """Beats and bars of a track, from its ``beats.beats`` or estimated from its audio.

    Beats come from the track's beat file (``beats_path``), else from
    ``librosa.beat.beat_track`` on the plain mix. Downbeats are the beats at position 1 in the
    bar; without positions, 4/4 starting on the first beat is assumed.

    Args:
        track (dict): manifest entry.
        mix (np.ndarray or None): the whole track at ``sample_rate`` (the plain sum of its
            stems), used only without a beat file; None loads it then.
        sample_rate (int): rate of ``mix``.

    Returns:
        BarGrid: beats, downbeats and beats per bar.
    """
    positions = None
    if track.get("beats_path"):
        beats = load_beats(track["beats_path"])
        times, positions = beats.times, beats.positions
    else:
        mix = load_mix(track, sample_rate) if mix is None else mix
        times = librosa.beat.beat_track(y=mix, sr=sample_rate, units="time")[1]
    if positions is not None and np.any(positions == 1):
        return BarGrid(times, times[positions == 1], int(np.max(positions)))
    # No bar information: assume 4/4 starting on the first beat.
    return BarGrid(times, times[::4], 4)


def _grid_position(t: float, grid: np.ndarray) -> float:
    """Fractional index of time ``t`` on an increasing grid, extrapolated linearly at the ends."""
    if t < grid[0]:
        return (t - grid[0]) / (grid[1] - grid[0])
    if t > grid[-1]:
        return len(grid) - 1 + (t - grid[-1]) / (grid[-1] - grid[-2])
    return float(np.interp(t, grid, np.arange(len(grid))))


def _grid_time(x: float, grid: np.ndarray) -> float:
    """Inverse of :func:`_grid_position`."""
    last = len(grid) - 1
    if x < 0:
        return grid[0] + x * (grid[1] - grid[0])
    if x > last:
        return grid[-1] + (x - last) * (grid[-1] - grid[-2])
    return float(np.interp(x, np.arange(len(grid)), grid))


def bar_shifts(
    track: dict,
    grid: BarGrid,
    offset: int,
    seconds: float,
    min_bars: int = 2,
    offgrid: bool = False,
    fraction: tuple = (0.25, 0.75),
    rng: Optional[np.random.Generator] = None,
) -> list:
    """Offsets of a window shifted by whole bars, back and forth, that keep it inside the track.

    The window's start is placed on the downbeat grid (extrapolated linearly beyond its ends)
    and moved by ``min_bars``, ``min_bars + 1``, ... bars in each direction. Off the grid
    (``offgrid``), the shifts are counted in beats on the beat grid: whole bars plus a fraction
    of a beat drawn from ``U(fraction)`` for every shift.

    Args:
        track (dict): manifest entry.
        grid (BarGrid): the track's beat grid (see :func:`bar_grid`).
        offset (int): window start in native frames.
        seconds (float): window length.
        min_bars (int): smallest shift in bars.
        offgrid (bool): add a random fraction of a beat to every shift.
        fraction (tuple): range of that fraction.
        rng (np.random.Generator or None): random generator (needed only ``offgrid``).

    Returns:
        list of int: sorted, distinct native offsets of the shifted windows.
    """
    times = grid.beats if offgrid else grid.downbeats
    if len(times) < 2:
        return []
    rate = track["sample_rate"]
    unit = grid.beats_per_bar if offgrid else 1
    position = _grid_position(offset / rate, times)
    latest = track["duration"] - seconds
    last_frame = track["num_frames"] - window_frames(seconds, rate)
    frames = set()
    for direction in (-1, 1):
        bars = min_bars
        while True:
            step = bars * unit + (rng.uniform(*fraction) if offgrid else 0.0)
            t = _grid_time(position + direction * step, times)
            if not 0.0 <= t <= latest:
                break
            frames.add(min(int(round(t * rate)), last_frame))
            bars += 1
    return sorted(frames)
