"""Slow harmony for the ``slow_band`` flavour: a piece's chords held for two bars each.

Chorales and quartets change chord about every beat, so a multi-second window of them holds
several chords. A ``slow_band`` track keeps its piece's metre, key and progression, but each span
of :data:`BARS_PER_CHORD` whole bars takes one chord (the one sounding longest in the span), and
new voices play nothing but that triad: a bass voice on the root, three comping voices in close
position (each chord voiced nearest to the previous one) re-struck every bar, and a lead on a
chord tone every beat. The chord annotation is therefore exact, and no segment is shorter than
a span, except where the track is cut.
"""

from __future__ import annotations

import numpy as np

from .annotations import NO_CHORD, ROOT_NAMES, merge_segments
from .meter import EPS, Meter
from .score import DEFAULT_DYNAMIC, Piece, ScoreNote

BARS_PER_CHORD = 2
BASS_ROOT_LOW = 36  # C2: the bass voice plays the root in the octave above
COMPING_CENTRE = 62  # the first chord's close voicing lies nearest to D4
LEAD_RANGE = (67, 84)  # G4..C6


def chord_spans(meter: Meter, end: float, bars_per_chord: int = BARS_PER_CHORD) -> list:
    """Spans of ``bars_per_chord`` whole bars, from the start of the piece to ``end``.

    A pickup joins the first span, and the second half of a bar split by a repeat sign counts
    with its first half.

    Args:
        meter: the piece's bars.
        end: offset in quarters where the music stops.
        bars_per_chord: whole bars per span, at least 1.

    Returns:
        ``(start, stop)`` offsets in quarters, covering ``[0, end)`` without gaps.
    """
    if bars_per_chord < 1:
        raise ValueError(f"bars_per_chord must be at least 1, got {bars_per_chord}")
    downbeats = [bar.start for bar in meter.bars if bar.phase <= EPS and bar.start < end - EPS]
    cuts = [start for start in downbeats[bars_per_chord::bars_per_chord] if start > EPS]
    bounds = [0.0] + cuts + [end]
    return list(zip(bounds[:-1], bounds[1:]))


def span_labels(chords: list, spans: list) -> list[str]:
    """The chord of each span: the label sounding longest in it (the earliest on ties).

    ``N`` does not count; a span without any chord keeps the previous span's, and spans before
    the first chord take that first chord.

    Args:
        chords: ``(start, end, label)`` segments in quarters.
        spans: ``(start, stop)`` spans in quarters.

    Returns:
        One Harte label per span.

    Raises:
        ValueError: when no segment carries a chord.
    """
    labels: list = []
    for low, high in spans:
        weights: dict[str, float] = {}
        for start, stop, label in chords:
            overlap = min(stop, high) - max(start, low)
            if label != NO_CHORD and overlap > EPS:
                weights[label] = weights.get(label, 0.0) + overlap
        labels.append(max(weights, key=weights.get) if weights else None)
    known = [label for label in labels if label is not None]
    if not known:
        raise ValueError("the piece has no chord to hold")
    current = known[0]
    for index, label in enumerate(labels):
        current = label or current
        labels[index] = current
    return labels


def triad(label: str) -> tuple[int, int, int]:
    """Pitch classes (root, third, fifth) of a ``root:maj`` or ``root:min`` label."""
    root, quality = label.split(":")
    first = ROOT_NAMES.index(root)
    return first, (first + (4 if quality == "maj" else 3)) % 12, (first + 7) % 12


def close_voicing(pitch_classes, previous: list[int] | None) -> list[int]:
    """Three pitches of a triad within an octave, nearest to the previous voicing.

    Args:
        pitch_classes: the triad's three pitch classes.
        previous: the previous voicing (low to high), or None for the first chord.

    Returns:
        The voicing, low to high.
    """
    reference = previous or [COMPING_CENTRE] * 3
    candidates = []
    for low in range(COMPING_CENTRE - 12, COMPING_CENTRE + 12):
        if low % 12 in pitch_classes:
            above = sorted(low + (pc - low) % 12 for pc in pitch_classes)
            candidates.append(above)
    return min(candidates, key=lambda v: sum(abs(a - b) for a, b in zip(v, reference)))


def slow_harmony(piece: Piece, rng: np.random.Generator) -> Piece:
    """The piece re-voiced with one chord per span of :data:`BARS_PER_CHORD` bars.

    Args:
        piece: a loaded corpus piece.
        rng: the track's random generator (the lead's chord tones).

    Returns:
        A piece with the same path, metre, key and end, new voices (lead, three comping voices,
        bass; top first) and chord segments one span long or longer.
    """
    spans = chord_spans(piece.meter, piece.end)
    labels = span_labels(piece.chords, spans)
    lead, comping, bass = [], [[], [], []], []
    voicing, lead_pitch = None, int(np.mean(LEAD_RANGE))
    for (low, high), label in zip(spans, labels):
        classes = triad(label)
        bass.append(ScoreNote(low, high - low, BASS_ROOT_LOW + classes[0], DEFAULT_DYNAMIC))
        voicing = close_voicing(classes, voicing)
        bar_starts = [low] + [
            bar.start for bar in piece.meter.bars if low + EPS < bar.start < high - EPS
        ]
        for start, stop in zip(bar_starts, bar_starts[1:] + [high]):
            for voice, pitch in zip(comping, voicing):
                voice.append(ScoreNote(start, stop - start, pitch, DEFAULT_DYNAMIC))
        beats = [t for t, _ in piece.meter.beats() if low + EPS < t < high - EPS]
        tones = [p for p in range(LEAD_RANGE[0], LEAD_RANGE[1] + 1) if p % 12 in classes]
        for start, stop in zip([low] + beats, beats + [high]):
            # Steps of at most a fifth keep the line singable.
            near = [p for p in tones if abs(p - lead_pitch) <= 7] or tones
            lead_pitch = int(rng.choice(near))
            lead.append(ScoreNote(start, stop - start, lead_pitch, DEFAULT_DYNAMIC))
    chords = merge_segments([(low, high, label) for (low, high), label in zip(spans, labels)])
    voices = [lead] + comping[::-1] + [bass]
    return Piece(piece.path, voices, piece.meter, chords, piece.key, piece.end)
