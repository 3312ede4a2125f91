"""Fixed, versioned retrieval benchmark lists (docs/protocols.md#fixed-lists) and their audio.

For each seed s, ``n_queries`` queries (track id, offset, anchor stems, positive stems) are drawn
from the split's tracks sorted by id with ``np.random.default_rng(s)``, with the silence filter
(docs/protocols.md#silence-filter: at least 2 stems at ≥ -60 dBFS in the window; anchor and positive
drawn from the active stems with the training size rules). The queries do not depend on the
protocol, so every protocol scores the same queries. Distractors for each K are drawn with
``np.random.default_rng([s, K])``, query by query:

* ``other-track`` (the paper's): positives of the same seed's queries on other tracks.
* ``same-track`` (hard): the query's positive stems in the query's own track, shifted by a whole
  number of bars (at least ``min_bar_shift``), where the harmony differs: chord labels from
  ``chords.lab`` agree on at most ``max_chord_agreement`` of the window, or, without chords, the
  chroma correlation with the true positive is below ``chroma_threshold``. Bars come from the
  downbeats of ``beats.beats``, else from ``librosa.beat.beat_track`` assuming 4/4
  (:func:`~.sampling.bar_grid`, :func:`~.sampling.bar_shifts`).
* ``same-track-offgrid``: like ``same-track`` but shifted by whole bars plus a random fraction of
  a beat (``offgrid_fraction``), with no harmony condition: the distractor differs from the
  positive in its beat phase.

Every same-track candidate must itself be active (its positive stems reach -60 dBFS). When a
track offers fewer than K-1 valid shifts, all of them are used and ``effective_k`` records
``1 + len(distractors)``; scorers should drop queries whose effective K is 1 for that K. The
same holds for ``other-track`` lists over a split with too few tracks (one track: no distractor
at all). :func:`make_retrieval_lists` warns, naming the split, whenever a query falls short.

JSON layout (``format_version`` 1)::

    {"format_version": 1, "dataset", "split", "protocol", "seconds", "sample_rate",
     "seeds": [...], "ks": [...], "params": {...},
     "candidates": [{"track_id", "offset", "stems"}, ...],    # unique clips: embed each once
     "queries": [{"track_id", "offset", "anchor_stems", "positive_stems", "seed",
                  "anchor": i, "positive": j}, ...],           # i, j index "candidates"
     "distractors": {"8": [[candidate index, ...] per query], "16": ..., "64": ...},
     "effective_k": {"8": [int per query], ...}}

Offsets are in seconds (a whole number of native frames); :func:`load_candidate` turns any
candidate (or query side) into 16 kHz mono audio. Same inputs give byte-identical files.
"""

import json
import warnings
from typing import Optional, Sequence

import librosa
import numpy as np
import torch
from torch.utils.data import Dataset

from ..utils.io import write_json
from .datasets.common import DatasetError, load_chords
from .datasets.stems import SILENCE_DB, load_stems, rms_db, window_frames
from .sampling import bar_grid, bar_shifts, draw_subsets, draw_window

FORMAT_VERSION = 1
PROTOCOLS = ("other-track", "same-track", "same-track-offgrid")
#: Chroma hop (samples at 16 kHz) for the harmony test of tracks without chord labels.
CHROMA_HOP = 512
#: Step (seconds) of the time grid on which two windows' chord labels are compared.
CHORD_STEP = 0.25


def load_candidate(
    manifest_by_id: dict, entry: dict, seconds: float = 5.0, sample_rate: int = 16000
) -> np.ndarray:
    """Audio of one list candidate: the plain sum of its stems, 16 kHz mono.

    Args:
        manifest_by_id (dict): ``{track_id: manifest entry}``.
        entry (dict): ``{"track_id", "offset", "stems"}`` (a candidate of the list).
        seconds (float): clip length (the list's ``seconds``).
        sample_rate (int): output rate (the list's ``sample_rate``).

    Returns:
        np.ndarray: float32 clip, shape (T,), right-padded with zeros.
    """
    track = manifest_by_id[entry["track_id"]]
    offset = int(round(entry["offset"] * track["sample_rate"]))
    return load_stems(track, offset, seconds, entry["stems"], sample_rate).sum(axis=0)


def load_lists(path: str) -> dict:
    """Read a list file written by :func:`make_retrieval_lists`.

    Raises:
        DatasetError: for an unknown ``format_version``.
    """
    with open(path, encoding="utf-8") as fhandle:
        lists = json.load(fhandle)
    if lists.get("format_version") != FORMAT_VERSION:
        raise DatasetError(f"unsupported retrieval list format_version in {path}")
    return lists


class ListPairDataset(Dataset):
    """The (anchor, positive) pairs of a list's queries: fixed validation data.

    Args:
        lists (dict): a retrieval list.
        manifest (sequence of dict): the manifest it was built on.

    Shape:
        - anchor, positive: :math:`(T,)` with T = seconds * sample_rate of the list.
    """

    def __init__(self, lists: dict, manifest: Sequence[dict]):
        self.tracks = {track["track_id"]: track for track in manifest}
        self.queries = lists["queries"]
        self.candidates = lists["candidates"]
        self.seconds = lists["seconds"]
        self.sample_rate = lists["sample_rate"]

    def __len__(self) -> int:
        return len(self.queries)

    def __getitem__(self, index: int) -> tuple:
        query = self.queries[index]
        return tuple(
            torch.from_numpy(
                load_candidate(
                    self.tracks, self.candidates[query[side]], self.seconds, self.sample_rate
                )
            )
            for side in ("anchor", "positive")
        )


class _Candidates:
    """Unique clips in order of first use."""

    def __init__(self):
        self.entries = []
        self._index = {}

    def add(self, track: dict, frame: int, stems: Sequence[str]) -> int:
        key = (track["track_id"], frame, tuple(stems))
        if key not in self._index:
            self._index[key] = len(self.entries)
            self.entries.append(
                {"track_id": key[0], "offset": frame / track["sample_rate"], "stems": list(stems)}
            )
        return self._index[key]


def _draw_queries(tracks, seed, n_queries, seconds, sample_rate, silence_db, max_tries) -> list:
    """Queries of one seed: ``{"track", "frame", "anchor_stems", "positive_stems"}``."""
    rng = np.random.default_rng(seed)
    queries = []
    for _ in range(n_queries):
        for _ in range(max_tries):
            track = tracks[int(rng.integers(len(tracks)))]
            frame, _, active = draw_window(track, rng, seconds, sample_rate, silence_db, tries=1)
            if len(active) >= 2:
                break
        else:
            raise DatasetError(f"no window with 2 active stems in {max_tries} draws (seed {seed})")
        anchor, positive = draw_subsets(active, rng)
        names = [stem["name"] for stem in track["stems"]]
        queries.append(
            {
                "track": track,
                "frame": frame,
                "anchor_stems": [names[i] for i in anchor],
                "positive_stems": [names[i] for i in positive],
            }
        )
    return queries


class _TrackAnalysis:
    """One track at 16 kHz with its beat grid and harmony features, for same-track shifts."""

    def __init__(self, track: dict, sample_rate: int):
        self.sample_rate = sample_rate
        self.names = [stem["name"] for stem in track["stems"]]
        self.stems = load_stems(track, 0, track["duration"], sample_rate=sample_rate)
        mix = self.stems.sum(axis=0)
        self.grid = bar_grid(track, mix, sample_rate)
        self.chords = load_chords(track["chords_path"]) if track.get("chords_path") else None
        self.chroma = None
        if self.chords is None:
            self.chroma = librosa.feature.chroma_stft(y=mix, sr=sample_rate, hop_length=CHROMA_HOP)

    def _label(self, t: float) -> str:
        inside = np.flatnonzero(
            (self.chords.intervals[:, 0] <= t) & (t < self.chords.intervals[:, 1])
        )
        return self.chords.labels[inside[0]] if len(inside) else "N"

    def chord_agreement(self, t0: float, t1: float, seconds: float) -> float:
        """Fraction of a window's time grid where the chord labels at t0+u and t1+u agree."""
        grid = np.arange(0.0, seconds, CHORD_STEP)
        return float(np.mean([self._label(t0 + u) == self._label(t1 + u) for u in grid]))

    def chroma_correlation(self, t0: float, t1: float, seconds: float) -> float:
        """Pearson correlation of the chroma matrices of two windows (-1 when undefined)."""
        rate = self.sample_rate / CHROMA_HOP
        n = int(round(seconds * rate))
        a = self.chroma[:, int(round(t0 * rate)) :][:, :n]
        b = self.chroma[:, int(round(t1 * rate)) :][:, :n]
        n = min(a.shape[1], b.shape[1])
        a, b = a[:, :n].ravel(), b[:, :n].ravel()
        if n == 0 or a.std() == 0 or b.std() == 0:
            return -1.0
        return float(np.corrcoef(a, b)[0, 1])


def _same_track_pool(query, analysis, seconds, protocol, params, rng) -> list:
    """Native frames of the valid same-track shifts of one query."""
    track, sample_rate = query["track"], analysis.sample_rate
    t0 = query["frame"] / track["sample_rate"]
    positive = [analysis.names.index(name) for name in query["positive_stems"]]
    length = window_frames(seconds, sample_rate)
    frames = []
    offgrid = protocol == "same-track-offgrid"
    shifts = bar_shifts(
        track,
        analysis.grid,
        query["frame"],
        seconds,
        params["min_bar_shift"],
        offgrid,
        params["offgrid_fraction"],
        rng,
    )
    for frame in shifts:
        start = int(round(frame / track["sample_rate"] * sample_rate))
        clip = analysis.stems[positive, start : start + length].sum(axis=0)
        if rms_db(clip) < params["silence_db"]:
            continue
        t = frame / track["sample_rate"]
        if not offgrid:
            if analysis.chords is not None:
                if analysis.chord_agreement(t0, t, seconds) > params["max_chord_agreement"]:
                    continue
            elif analysis.chroma_correlation(t0, t, seconds) >= params["chroma_threshold"]:
                continue
        frames.append(frame)
    return frames


def _warn_short_candidate_sets(effective_k: dict, where: str, n_tracks: int) -> None:
    """Warns when some queries have fewer candidates than their K (naming the split)."""
    short = []
    for k, effective in effective_k.items():
        n_short = sum(e < int(k) for e in effective)
        if n_short:
            short.append(
                f"K={k}: {n_short} of {len(effective)} queries (smallest effective K "
                f"{min(effective)})"
            )
    if short:
        warnings.warn(
            f"{where} ({n_tracks} track{'s' if n_tracks != 1 else ''}): fewer candidates than K "
            f"for {'; '.join(short)}; their results rank fewer than K - 1 distractors, and "
            "queries with effective K 1 (no distractor) are not scored: use a split with more "
            "(or longer) tracks, or smaller K",
            UserWarning,
            stacklevel=3,
        )


def make_retrieval_lists(
    manifest: Sequence[dict],
    out_path: Optional[str] = None,
    protocol: str = "other-track",
    seeds: Sequence[int] = (0, 1, 2),
    n_queries: int = 1024,
    ks: Sequence[int] = (8, 16, 64),
    seconds: float = 5.0,
    sample_rate: int = 16000,
    silence_db: float = SILENCE_DB,
    min_bar_shift: int = 2,
    max_chord_agreement: float = 0.5,
    chroma_threshold: float = 0.7,
    offgrid_fraction: tuple = (0.25, 0.75),
    max_tries: int = 1000,
) -> dict:
    """Draw a deterministic retrieval benchmark list for one dataset split.

    See the module docstring for the procedure, the protocols and the JSON layout.

    Args:
        manifest (sequence of dict): one dataset split (tracks with fewer than 2 stems are
            ignored).
        out_path (str or None): where to write the JSON (atomically); None only returns it.
        protocol (str): ``other-track``, ``same-track`` or ``same-track-offgrid``.
        seeds (sequence of int): one query set per seed.
        n_queries (int): queries per seed.
        ks (sequence of int): candidate-set sizes (1 true positive + K-1 distractors).
        seconds (float): clip length.
        sample_rate (int): clip rate.
        silence_db (float): activity threshold in dBFS.
        min_bar_shift (int): same-track protocols: smallest shift in bars.
        max_chord_agreement (float): ``same-track`` with chords: largest allowed fraction of
            equal chord labels between the positive and a distractor.
        chroma_threshold (float): ``same-track`` without chords: distractors must correlate
            below this with the positive.
        offgrid_fraction (tuple): ``same-track-offgrid``: range of the fractional beat shift.
        max_tries (int): window draws per query before giving up.

    Returns:
        dict: the list (see the module docstring).

    Raises:
        ValueError: for an unknown protocol or a manifest mixing datasets or splits.
        DatasetError: when no window with 2 active stems can be found.

    Warns:
        UserWarning: when some queries have fewer candidates than K (``effective_k`` below
            K), naming the split, its number of tracks and the queries short at each K: e.g.
            every query of an ``other-track`` list over one track has effective K 1.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    tracks = sorted((t for t in manifest if len(t["stems"]) >= 2), key=lambda t: t["track_id"])
    if not tracks:
        raise ValueError("no track with at least 2 stems in the manifest")
    origin = {(t["dataset"], t["split"]) for t in tracks}
    if len(origin) != 1:
        raise ValueError(f"a list covers one dataset split; got {sorted(origin)}")
    dataset, split = origin.pop()
    params = {
        "silence_db": silence_db,
        "min_bar_shift": min_bar_shift,
        "max_chord_agreement": max_chord_agreement,
        "chroma_threshold": chroma_threshold,
        "offgrid_fraction": list(offgrid_fraction),
    }

    candidates = _Candidates()
    per_seed = []
    for seed in seeds:
        queries = _draw_queries(
            tracks, seed, n_queries, seconds, sample_rate, silence_db, max_tries
        )
        for query in queries:
            query["anchor"] = candidates.add(query["track"], query["frame"], query["anchor_stems"])
            query["positive"] = candidates.add(
                query["track"], query["frame"], query["positive_stems"]
            )
        per_seed.append((seed, queries))

    pools = {}
    if protocol != "other-track":
        by_track = {}
        for seed, queries in per_seed:
            for number, query in enumerate(queries):
                by_track.setdefault(query["track"]["track_id"], []).append((seed, number, query))
        for track_id in sorted(by_track):
            analysis = _TrackAnalysis(by_track[track_id][0][2]["track"], sample_rate)
            for seed, number, query in by_track[track_id]:
                rng = np.random.default_rng([seed, number])
                pools[seed, number] = _same_track_pool(
                    query, analysis, seconds, protocol, params, rng
                )

    distractors = {str(k): [] for k in ks}
    effective_k = {str(k): [] for k in ks}
    for k in ks:
        for seed, queries in per_seed:
            rng = np.random.default_rng([seed, k])
            track_ids = np.array([q["track"]["track_id"] for q in queries])
            positives = np.array([q["positive"] for q in queries])
            for number, query in enumerate(queries):
                if protocol == "other-track":
                    pool = positives[track_ids != query["track"]["track_id"]]
                    chosen = rng.choice(pool, size=min(k - 1, len(pool)), replace=False).tolist()
                else:
                    frames = pools[seed, number]
                    picks = rng.choice(len(frames), size=min(k - 1, len(frames)), replace=False)
                    chosen = [
                        candidates.add(query["track"], frames[i], query["positive_stems"])
                        for i in picks
                    ]
                distractors[str(k)].append([int(c) for c in chosen])
                effective_k[str(k)].append(len(chosen) + 1)
    _warn_short_candidate_sets(effective_k, f"{dataset} {split}, {protocol}", len(tracks))

    lists = {
        "format_version": FORMAT_VERSION,
        "dataset": dataset,
        "split": split,
        "protocol": protocol,
        "seconds": seconds,
        "sample_rate": sample_rate,
        "seeds": list(seeds),
        "ks": list(ks),
        "params": params,
        "candidates": candidates.entries,
        "queries": [
            {
                "track_id": query["track"]["track_id"],
                "offset": query["frame"] / query["track"]["sample_rate"],
                "anchor_stems": query["anchor_stems"],
                "positive_stems": query["positive_stems"],
                "seed": seed,
                "anchor": query["anchor"],
                "positive": query["positive"],
            }
            for seed, queries in per_seed
            for query in queries
        ],
        "distractors": distractors,
        "effective_k": effective_k,
    }
    if out_path is not None:
        write_json(lists, out_path, sort_keys=True, separators=(",", ":"))
    return lists
