"""Rhythm section of band tracks: a drum-kit part that follows the metre and a derived bass line.

Drum patterns are built per bar from the bar's own beats and subdivisions, so 3/4, 6/8 or 4/2
(half-note beats) all get a fitting groove. Each track draws a style, a time-keeping cymbal and a
phrase length; bars vary by chance (extra kicks, ghost notes, open hi-hats) and every phrase ends
with a fill followed by a crash. Every beat carries a drum onset, so the drum stem marks the beat
grid.
"""

from __future__ import annotations

import numpy as np

from .meter import EPS, Bar, Meter
from .perform import PlayedNote, clip_velocity

# General MIDI percussion keys (channel 10).
KICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH, RIDE = 36, 38, 42, 46, 49, 51
TOMS = (50, 48, 47, 45, 43)  # high to low
STYLES = ("backbeat", "four_on_the_floor", "half_time")
BASS_LOWEST = 28  # E1, the open low string of an electric bass
BASS_RHYTHMS = ("sustain", "beats", "subdivisions")


def drum_part(meter: Meter, end: float, rng: np.random.Generator) -> list[PlayedNote]:
    """Generate a drum-kit part for a whole piece.

    Args:
        meter: the piece's metric grid.
        end: offset in quarters where the rendering stops; the piece's final bar (when it is
            reached) gets a closing crash instead of a groove.
        rng: the track's random generator.

    Returns:
        Drum hits (pitch = General MIDI percussion key) in time order.
    """
    style = STYLES[int(rng.integers(len(STYLES)))]
    cymbal = int(rng.choice([CLOSED_HAT, CLOSED_HAT, RIDE]))
    phrase_bars = int(rng.choice([4, 8]))
    bars = [bar for bar in meter.bars if bar.start < end - EPS]
    ends_here = end >= meter.end - EPS  # the piece ends rather than being cut short
    hits: list[PlayedNote] = []
    crash_next = True
    bar_number = -1  # counts whole bars: a pickup, or the rest of a split bar, adds none
    for index, bar in enumerate(bars):
        if ends_here and index == len(bars) - 1 and index > 0:
            hits += _closing_hit(bar)
            break
        starts_bar = bar.phase <= EPS
        bar_number += starts_bar
        fill = bar_number >= 0 and (bar_number + 1) % phrase_bars == 0
        hits += _bar_hits(bar, style, cymbal, crash_next and starts_bar, fill, rng)
        if starts_bar:
            crash_next = fill
    return [hit for hit in hits if hit.onset < end - EPS]


def _bar_hits(
    bar: Bar, style: str, cymbal: int, crash: bool, fill: bool, rng: np.random.Generator
) -> list[PlayedNote]:
    """Hits of one bar: groove, random variations, optional opening crash and closing fill."""
    n_beats = bar.n_beats
    step = bar.beat / bar.division
    fill_from = n_beats - int(rng.choice([1, 2])) if fill and n_beats > 1 else n_beats
    kicks, snares = _groove(style, n_beats)
    extra_kick = rng.random() < 0.3
    open_hat = rng.random() < 0.25
    hits = []
    for offset, k in bar.grid(step):
        beat, sub = divmod(k, bar.division)
        beat %= n_beats
        if beat >= fill_from:
            continue
        on_beat = sub == 0
        last_offbeat = beat == n_beats - 1 and sub == bar.division - 1
        if crash and k == 0:
            hits.append(_hit(offset, CRASH, 110, rng))
        elif open_hat and last_offbeat and cymbal == CLOSED_HAT:
            hits.append(_hit(offset, OPEN_HAT, 80, rng))
        else:
            level = 100 if k == 0 else (88 if on_beat else 64)
            hits.append(_hit(offset, cymbal, level, rng))
        if on_beat and beat in kicks:
            hits.append(_hit(offset, KICK, 108 if beat == 0 else 96, rng))
        elif on_beat and beat in snares:
            hits.append(_hit(offset, SNARE, 100, rng))
        elif extra_kick and sub == bar.division - 1 and beat + 1 in snares:
            hits.append(_hit(offset, KICK, 80, rng))
        elif not on_beat and rng.random() < 0.12:
            hits.append(_hit(offset, SNARE, 36, rng))  # ghost note
    if fill_from < n_beats:
        hits += _fill(bar, fill_from, step / 2, rng)
    return hits


def _groove(style: str, n_beats: int) -> tuple[set[int], set[int]]:
    """Beats (0-based) that get the kick and the snare in a style."""
    if style == "four_on_the_floor":
        return set(range(n_beats)), set(range(1, n_beats, 2))
    if style == "half_time" and n_beats >= 3:
        return {0}, {n_beats // 2}
    return set(range(0, n_beats, 2)) if n_beats % 2 == 0 else {0}, set(range(1, n_beats, 2))


def _fill(bar: Bar, from_beat: int, step: float, rng: np.random.Generator) -> list[PlayedNote]:
    """A fill on the last beats of a bar: snare and toms descending in fast notes."""
    drums = [SNARE] + list(TOMS[: int(rng.integers(2, len(TOMS) + 1))])
    points = [(offset, k) for offset, k in bar.grid(step) if k * step >= from_beat * bar.beat - EPS]
    hits = []
    for i, (offset, k) in enumerate(points):
        drum = drums[min(i * len(drums) // len(points), len(drums) - 1)]
        on_beat = abs(k * step / bar.beat - round(k * step / bar.beat)) < EPS
        hits.append(_hit(offset, drum, 96 if on_beat else 78 + 12 * i / len(points), rng))
        if on_beat:
            hits.append(_hit(offset, KICK, 90, rng))
    return hits


def _closing_hit(bar: Bar) -> list[PlayedNote]:
    """Crash and kick on the first sounding beat of the final bar."""
    beats = bar.beats()
    if not beats:
        return []
    offset = beats[0][0]
    return [PlayedNote(offset, 1.0, CRASH, 110), PlayedNote(offset, 1.0, KICK, 108)]


def _hit(offset: float, drum: int, level: float, rng: np.random.Generator) -> PlayedNote:
    """One drum hit with a little velocity variation."""
    return PlayedNote(offset, 0.25, drum, clip_velocity(level + rng.normal(0.0, 4.0)))


def bass_part(lowest: list[PlayedNote], meter: Meter, rng: np.random.Generator) -> list[PlayedNote]:
    """An electric-bass line from the lowest voice: an octave down, re-struck in a rhythm.

    Args:
        lowest: the performed lowest voice of the piece.
        meter: the piece's metric grid.
        rng: the track's random generator.

    Returns:
        The bass notes.
    """
    rhythm = BASS_RHYTHMS[int(rng.integers(len(BASS_RHYTHMS)))]
    pitches = [n.pitch for n in lowest]
    shift = -12 if np.median(pitches) >= 48 else 0
    notes = []
    for n in lowest:
        pitch = n.pitch + shift
        while pitch < BASS_LOWEST:
            pitch += 12
        for onset, end in _restrikes(n.onset, n.onset + n.duration, meter, rhythm):
            level = 100 if meter.strength(onset) == 2 else (90 if meter.strength(onset) else 76)
            notes.append(
                PlayedNote(onset, end - onset, pitch, clip_velocity(level + rng.normal(0.0, 4.0)))
            )
    return notes


def _restrikes(start: float, end: float, meter: Meter, rhythm: str) -> list[tuple[float, float]]:
    """Split a long note at the beats (or subdivisions) it spans, following the bass rhythm."""
    if rhythm == "sustain":
        return [(start, end)]
    cuts = [start]
    for bar in meter.bars[meter.bar_index(start) :]:
        if bar.start >= end - EPS:
            break
        step = bar.beat if rhythm == "beats" else bar.beat / bar.division
        cuts += [offset for offset, _ in bar.grid(step) if start + EPS < offset < end - EPS]
    return list(zip(cuts, cuts[1:] + [end]))
