"""Chord labels from the score, and the plain-text annotation files written beside the audio.

``beats.beats`` follows GTZAN's ``.beats`` files (time in seconds, tab, beat position in the bar),
which mirdata's ``gtzan_genre.load_beats`` and ``mir_eval.io.load_events`` read. ``chords.lab``
holds ``start<TAB>end<TAB>label`` rows in Harte syntax restricted to the 25-class vocabulary
(``N`` and the 12 roots times ``maj``/``min``), which ``mir_eval.io.load_labeled_intervals`` reads.
"""

from __future__ import annotations

import bisect

from music21 import chord, stream

from .meter import EPS

NO_CHORD = "N"
# Sharp spellings, one per pitch class: the 25-class vocabulary is literal
# (docs/protocols.md#chord-vocabulary).
ROOT_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def harte_label(sonority: chord.Chord) -> str | None:
    """Root and major/minor quality of a sonority, from music21's root and third analysis.

    Diminished triads count as minor and augmented ones as major (their thirds decide, as in
    mir_eval's ``majmin`` reduction).

    Args:
        sonority: a chord, e.g. one vertical slice of ``Score.chordify()``.

    Returns:
        A label such as ``"A:min"``, or None when the sonority has no third (unison, open fifth).
    """
    root = sonority.root()
    third = sonority.third
    if third is None:
        return None
    quality = {4: "maj", 3: "min"}.get((third.pitchClass - root.pitchClass) % 12)
    if quality is None:
        return None
    return f"{ROOT_NAMES[root.pitchClass]}:{quality}"


def chord_segments(
    chordified: stream.Stream, boundaries: list[float]
) -> list[tuple[float, float, str]]:
    """Label each span between consecutive boundaries with the chord that lasts longest in it.

    Passing notes make several slices per beat; the longest one (the earliest on ties, i.e. the
    one on the beat) carries the harmony. When it has no third (an open fifth, a unison, an
    arpeggio in octaves), all pitches of the span are analysed together; failing that, the
    previous label continues, since such sonorities usually prolong the harmony around them.

    Args:
        chordified: the output of ``Score.chordify()``.
        boundaries: increasing offsets in quarters, e.g. 0, every beat, then the piece's end.

    Returns:
        ``(start, end, label)`` triples in quarters, adjacent equal labels merged.
    """
    slices = [
        (float(c.offset), float(c.offset + c.quarterLength), c)
        for c in chordified.flatten().getElementsByClass(chord.Chord)
    ]
    starts = [start for start, _, _ in slices]
    segments: list[tuple[float, float, str]] = []
    previous = NO_CHORD
    for low, high in zip(boundaries[:-1], boundaries[1:]):
        if high - low <= EPS:
            continue
        best, best_overlap = None, EPS
        pitches = []
        index = max(0, bisect.bisect_right(starts, low + EPS) - 1)
        while index < len(slices) and slices[index][0] < high - EPS:
            start, end, sonority = slices[index]
            overlap = min(end, high) - max(start, low)
            if overlap > EPS:
                pitches += sonority.pitches
            if overlap > best_overlap + EPS:
                best, best_overlap = sonority, overlap
            index += 1
        if best is None:
            label = NO_CHORD
        else:
            label = harte_label(best) or harte_label(chord.Chord(pitches)) or previous
        previous = label
        segments.append((low, high, label))
    return merge_segments(segments)


def merge_segments(segments: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """Join adjacent segments that carry the same label.

    Args:
        segments: ``(start, end, label)`` triples in time order.

    Returns:
        The merged triples.
    """
    merged: list[tuple[float, float, str]] = []
    for start, end, label in segments:
        if merged and merged[-1][2] == label and abs(merged[-1][1] - start) <= EPS:
            merged[-1] = (merged[-1][0], end, label)
        else:
            merged.append((start, end, label))
    return merged


def write_beats(path: str, beats: list[tuple[float, int]]) -> None:
    """Write a GTZAN-style ``.beats`` file.

    Args:
        path: destination file.
        beats: ``(time_seconds, position_in_bar)`` pairs, position 1 on downbeats.
    """
    with open(path, "w", encoding="utf-8") as fhandle:
        fhandle.write("".join(f"{time:.6f}\t{position}\n" for time, position in beats))


def write_chords(path: str, segments: list[tuple[float, float, str]]) -> None:
    """Write a ``.lab`` chord file.

    Args:
        path: destination file.
        segments: ``(start_seconds, end_seconds, harte_label)`` triples.
    """
    rows = (f"{start:.6f}\t{end:.6f}\t{label}\n" for start, end, label in segments)
    with open(path, "w", encoding="utf-8") as fhandle:
        fhandle.write("".join(rows))
