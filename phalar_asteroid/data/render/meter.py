"""Metric grid of a score (bars, beats, downbeats) for the embedded corpus renderer.

Every time in this module is a music21 offset in quarter notes; the track's tempo turns it into
seconds later. The grid follows the notated measures, so pickups, bars split by repeat signs and
time-signature changes all keep the downbeats where the score puts them.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from music21 import meter, stream

# Offsets are sums of binary fractions and triplets: compare them with a small tolerance.
EPS = 1e-6


@dataclass(frozen=True)
class Bar:
    """One measure as it sounds.

    Attributes:
        start: offset of the measure's first moment, in quarters.
        length: sounding length of the measure, in quarters.
        phase: position inside the nominal bar at ``start``, in quarters (non-zero for a pickup
            and for the second half of a bar split by a repeat sign).
        bar_length: nominal bar length of the time signature, in quarters.
        beat: beat unit in quarters (music21's ``TimeSignature.beatDuration``: 2.0 in 4/2).
        division: subdivisions per beat (3 for dotted beats as in 6/8, else 2).
        time_signature: the time signature as written, e.g. ``"4/4"``.
    """

    start: float
    length: float
    phase: float
    bar_length: float
    beat: float
    division: int
    time_signature: str

    @property
    def n_beats(self) -> int:
        """Number of beats in a full bar."""
        return max(1, round(self.bar_length / self.beat))

    def grid(self, step: float) -> list[tuple[float, int]]:
        """Grid points of this bar that sound, every ``step`` quarters from the nominal bar start.

        Args:
            step: grid spacing in quarters (a beat or a fraction of it).

        Returns:
            ``(offset, k)`` pairs: the score offset and the grid index ``k`` from the nominal bar
            start (``k * step`` quarters into the bar).
        """
        points = []
        k = math.ceil((self.phase - EPS) / step)
        while k * step < self.phase + self.length - EPS:
            points.append((self.start + k * step - self.phase, k))
            k += 1
        return points

    def beats(self) -> list[tuple[float, int]]:
        """Beats inside this bar.

        Returns:
            ``(offset, position)`` pairs, position counted 1..n_beats from the downbeat.
        """
        return [(offset, k % self.n_beats + 1) for offset, k in self.grid(self.beat)]


def _beat_division(beat: float) -> int:
    """Subdivisions of a beat: dotted beats (1.5, 0.75, 3.0 quarters) divide in three."""
    return 3 if round(beat * 8) % 3 == 0 else 2


def _beat_unit(ts: meter.TimeSignature) -> float:
    """Beat unit in quarters; irregular meters (5/8) fall back to the denominator's note value."""
    try:
        return float(ts.beatDuration.quarterLength)
    except meter.TimeSignatureException:
        return 4.0 / ts.denominator


class Meter:
    """The bars of a piece, with beat and metric-strength look-ups.

    Args:
        bars: the bars in time order.
    """

    def __init__(self, bars: list[Bar]):
        if not bars:
            raise ValueError("a meter needs at least one bar")
        self.bars = bars
        self._starts = [bar.start for bar in bars]

    @classmethod
    def from_part(cls, part: stream.Part) -> "Meter":
        """Build the grid from the measures of one part (all parts share the barlines).

        Args:
            part: a music21 part whose measures are direct children (repeats already expanded).

        Returns:
            The part's meter.

        Raises:
            ValueError: when the part has no measures.
        """
        bars = []
        ts = meter.TimeSignature("4/4")  # music21's own default when a score states none
        carried = 0.0
        for index, measure in enumerate(part.getElementsByClass(stream.Measure)):
            if measure.timeSignature is not None:
                ts = measure.timeSignature
            length = float(measure.duration.quarterLength)
            if length <= EPS:
                continue
            bar_length = float(ts.barDuration.quarterLength)
            if index == 0:
                # A short first measure is a pickup: it ends on the next downbeat.
                phase = float(measure.paddingLeft) or max(bar_length - length, 0.0)
            elif carried + length <= bar_length + EPS:
                phase = carried  # completes a bar that a repeat sign cut in two
            else:
                phase = 0.0
            beat = _beat_unit(ts)
            bars.append(
                Bar(
                    start=float(measure.offset),
                    length=length,
                    phase=phase,
                    bar_length=bar_length,
                    beat=beat,
                    division=_beat_division(beat),
                    time_signature=ts.ratioString,
                )
            )
            reached = phase + length
            carried = reached if reached < bar_length - EPS else 0.0
        if not bars:
            raise ValueError("the score has no measures")
        return cls(bars)

    @property
    def end(self) -> float:
        """Offset where the last bar ends."""
        last = self.bars[-1]
        return last.start + last.length

    def bar_index(self, offset: float) -> int:
        """Index of the bar sounding at ``offset``."""
        return max(0, bisect.bisect_right(self._starts, offset + EPS) - 1)

    def beats(self) -> list[tuple[float, int]]:
        """All beats of the piece.

        Returns:
            ``(offset, position)`` pairs in time order, position 1 marking downbeats.
        """
        return [beat for bar in self.bars for beat in bar.beats()]

    def strength(self, offset: float) -> int:
        """Metric weight of an offset.

        Args:
            offset: score offset in quarters.

        Returns:
            2 on a downbeat, 1 on another beat, 0 between beats.
        """
        bar = self.bars[self.bar_index(offset)]
        position = bar.phase + offset - bar.start
        if _on_grid(position, bar.bar_length):
            return 2
        return 1 if _on_grid(position, bar.beat) else 0

    def bar_position(self, offset: float) -> float:
        """Bars elapsed at ``offset``, counting the pickup as bar 0 and fractions within bars."""
        index = self.bar_index(offset)
        bar = self.bars[index]
        return index + (bar.phase + offset - bar.start) / bar.bar_length


def _on_grid(position: float, step: float) -> bool:
    """Whether ``position`` is a whole multiple of ``step`` (within EPS)."""
    ratio = position / step
    return abs(ratio - round(ratio)) * step < EPS
