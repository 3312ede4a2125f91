"""Plan the embedded corpus: which piece, split, flavour and number each track gets.

Pieces come from the corpus that ships inside music21: Bach's four-part chorales, Palestrina's
mass movements and the Haydn and Mozart string quartets. Each composer's pieces are split
80/10/10 into train/valid/test once, with a fixed seed, so every run seed shares one split and no
piece crosses splits. Tracks cycle through the splits in blocks of ten (8 train, 1 valid, 1 test),
so the plan for N tracks is the start of the plan for more: a larger re-run only adds tracks.
"""

from __future__ import annotations

import posixpath
import random
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from music21 import corpus

from .instruments import ENSEMBLES, RANDOM_ENSEMBLE

SOURCES = ("bach", "palestrina", "haydn", "mozart")
# Chorales dominate, as in CocoChorales; masses and quartets add other textures. The weights
# roughly follow how many pieces each composer has (368, 1318, 9 and 15 usable ones).
SOURCE_WEIGHTS = {"bach": 0.6, "palestrina": 0.25, "haydn": 0.05, "mozart": 0.1}
SPLITS = ("train", "valid", "test")
SPLIT_FRACTIONS = (0.8, 0.1)  # train, valid; test takes the rest
SPLIT_SEED = 42
SPLIT_CYCLE = ("train", "valid", "test") + ("train",) * 7
FLAVOURS = ("chorale", "band", "slow_band")
#: The flavours that ``flavour="all"`` alternates.
MIXED_FLAVOURS = ("chorale", "band")
CHORALE_ENSEMBLES = tuple(ENSEMBLES) + (RANDOM_ENSEMBLE,)
BAND_ENSEMBLE = "band"
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")
MAX_PARTS = 8
# Separate random streams per purpose, all derived from the run seed.
_TRACK_STREAM, _ENSEMBLE_STREAM, _DRAW_STREAM, _TIMBRE_STREAM = 0, 1, 2, 3


@dataclass(frozen=True)
class TrackPlan:
    """Everything that decides a track's content.

    Attributes:
        index: 0-based position in the plan.
        seed: the run seed.
        flavour: ``"chorale"``, ``"band"`` or ``"slow_band"``.
        split: ``"train"``, ``"valid"`` or ``"test"``.
        number: 1-based track number within the flavour.
        piece: music21 corpus path, e.g. ``"bach/bwv66.6.mxl"``.
        ensemble: CocoChorales ensemble (string, brass, woodwind, random) or ``"band"``.
    """

    index: int
    seed: int
    flavour: str
    split: str
    number: int
    piece: str
    ensemble: str

    def rng(self) -> np.random.Generator:
        """The track's own random generator, seeded from (run seed, track index)."""
        return np.random.default_rng([self.seed, _TRACK_STREAM, self.index])

    def timbre_rng(self) -> np.random.Generator:
        """The track's generator for alternative instrument programs (a stream of its own)."""
        return np.random.default_rng([self.seed, _TIMBRE_STREAM, self.index])


@lru_cache(maxsize=1)
def corpus_pieces() -> dict[str, tuple[str, ...]]:
    """Renderable pieces of each composer, from music21's corpus metadata (no parsing).

    Returns:
        Sorted corpus paths per source. Bach is limited to four-part pieces (the chorales);
        the others keep scores of 3 to 8 parts.
    """
    pattern = re.compile(r"^(" + "|".join(SOURCES) + r")/")
    bundle = corpus.search(pattern, field="sourcePath", corpusNames=("core",))
    pieces: dict[str, list[str]] = {source: [] for source in SOURCES}
    for entry in bundle:
        path = entry.sourcePath.as_posix()  # relative to the corpus, e.g. "bach/bwv66.6.mxl"
        parts = entry.metadata.numberOfParts or 0
        source = path.split("/")[0]
        wanted = parts == 4 if source == "bach" else 3 <= parts <= MAX_PARTS
        if wanted and posixpath.splitext(path)[1] in SCORE_SUFFIXES:
            pieces[source].append(path)
    return {source: tuple(sorted(paths)) for source, paths in pieces.items()}


@lru_cache(maxsize=1)
def split_pieces() -> dict[str, dict[str, tuple[str, ...]]]:
    """The fixed train/valid/test split of every composer's pieces.

    Returns:
        ``{split: {source: paths}}``.
    """
    splits: dict[str, dict[str, tuple[str, ...]]] = {split: {} for split in SPLITS}
    for source, paths in corpus_pieces().items():
        order = list(paths)
        random.Random(SPLIT_SEED).shuffle(order)
        n_train = int(SPLIT_FRACTIONS[0] * len(order))
        n_valid = int(SPLIT_FRACTIONS[1] * len(order))
        splits["train"][source] = tuple(order[:n_train])
        splits["valid"][source] = tuple(order[n_train : n_train + n_valid])
        splits["test"][source] = tuple(order[n_train + n_valid :])
    return splits


class _PieceDraws:
    """Seeded draws of pieces within one split: a composer by weight, then its next piece.

    Each composer's pieces are shuffled once and used in turn. A composer whose pieces are all
    used drops out of the draw until every composer's are, so a split repeats a piece (a small
    split holds a single Mozart movement) only when it has to.
    """

    def __init__(self, pools: dict[str, tuple[str, ...]], rng: np.random.Generator):
        self._rng = rng
        self._sources = [source for source in SOURCES if pools[source]]
        self._queues = {s: [str(p) for p in rng.permutation(pools[s])] for s in self._sources}
        self._used = {source: 0 for source in self._sources}

    def draw(self) -> str:
        """The next piece."""
        rounds = min(self._used[s] // len(self._queues[s]) for s in self._sources)
        sources = [s for s in self._sources if self._used[s] // len(self._queues[s]) == rounds]
        weights = np.array([SOURCE_WEIGHTS[s] for s in sources])
        source = sources[self._rng.choice(len(sources), p=weights / weights.sum())]
        queue = self._queues[source]
        piece = queue[self._used[source] % len(queue)]
        self._used[source] += 1
        return piece


def plan_tracks(n_tracks: int, seed: int, flavour: str = "all") -> list[TrackPlan]:
    """Assign a split, flavour, number, piece and ensemble to each track.

    With ``flavour="all"`` chorale and band tracks alternate, shifted by one every ten tracks so that the
    valid and test tracks get both flavours too.

    Args:
        n_tracks: number of tracks.
        seed: run seed.
        flavour: ``"chorale"``, ``"band"``, ``"slow_band"`` or ``"all"``.

    Returns:
        The plans, in track order.
    """
    pools = split_pieces()
    draws = {
        split: _PieceDraws(pools[split], np.random.default_rng([seed, _DRAW_STREAM, i]))
        for i, split in enumerate(SPLITS)
    }
    numbers = {name: 0 for name in FLAVOURS}
    plans = []
    for index in range(n_tracks):
        split = SPLIT_CYCLE[index % len(SPLIT_CYCLE)]
        if flavour == "all":
            kind = MIXED_FLAVOURS[(index + index // len(SPLIT_CYCLE)) % len(MIXED_FLAVOURS)]
        else:
            kind = flavour
        numbers[kind] += 1
        if kind == "chorale":
            ensemble_rng = np.random.default_rng([seed, _ENSEMBLE_STREAM, index])
            ensemble = CHORALE_ENSEMBLES[int(ensemble_rng.integers(len(CHORALE_ENSEMBLES)))]
        else:
            ensemble = BAND_ENSEMBLE
        piece = draws[split].draw()
        plans.append(TrackPlan(index, seed, kind, split, numbers[kind], piece, ensemble))
    return plans
