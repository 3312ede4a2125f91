"""How often ``phalar align`` recovers a known offset, and what its confidence flag buys.

A fixed set of shifted stems: pieces of the embedded corpus's test split (never seen by the
shipped model; ``--split valid`` gives the development set the ambiguity threshold was chosen
on), rendered in memory with a fixed seed: ``--tracks`` band tracks for the electric bass and
the drums, ``--tracks`` woodwind tracks for the flute and the bassoon, ``--tracks`` string
tracks for the first violin and the cello, 20 s each. For every (track, instrument) the partial
mix is the sum of the track's other stems, and the stem is misaligned so that the answer is a
known offset ``d`` in ``phalar align``'s convention (a positive offset means the stem must be
delayed by ``d`` to fit): for ``d > 0`` its first ``d`` seconds are cut (the stem plays early),
for ``d < 0`` ``|d|`` seconds of silence are put before it (the stem plays late).
``align_files`` then scans the CLI's defaults (``--max-offset 2.0 --step 0.04``) with the
shipped model; an answer is a hit when ``|found - d| <= step``.

Printed: a markdown table of hits per instrument and offset and overall with 95 % Wilson
intervals, the accuracy among confident and ambiguous answers (the flag of
:func:`~phalar_asteroid.inference.align.peak_confidence`), and the accuracy and coverage at
other thresholds on the normalised margin, and how the misses fall (at the unshifted position;
with the true offset second-best). ``--json`` also writes every case with its curve.
About 5 CPU-minutes with the defaults (48 alignments of 101 windows of 10 s; 8 minutes of wall
time at a load average of 3-5), with the malloc settings below.

Example::

    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \\
        python benchmarks/align_accuracy.py --json align_accuracy.json
"""

import argparse
import os
import tempfile
import time

import numpy as np
import soundfile as sf
import torch
from scipy.stats import binomtest

from phalar_asteroid.data.render.plan import plan_tracks
from phalar_asteroid.data.render.track import render_track
from phalar_asteroid.inference import load_model
from phalar_asteroid.inference.align import AMBIGUOUS_MARGIN_STD, align_files
from phalar_asteroid.utils.io import write_json

OFFSETS = (-1.5, -0.37, 0.37, 1.5)
# The stems measured in each kind of track: (instrument label, test on a rendered stem).
TARGETS = {
    "band": (
        ("bass", lambda s: 32 <= s.instrument.program <= 39),  # General MIDI's bass family
        ("drums", lambda s: s.instrument.is_drum),
    ),
    "woodwind": (
        ("flute", lambda s: s.instrument.name == "flute"),
        ("bassoon", lambda s: s.instrument.name == "bassoon"),
    ),
    "string": (
        ("violin", lambda s: s.instrument.name == "violin"),
        ("cello", lambda s: s.instrument.name == "cello"),
    ),
}
SWEEP = (0.0, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5)
PLAN_LENGTH = 400  # plans scanned for test-split tracks of each ensemble


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=2026, help="render seed of the fixed set")
    parser.add_argument("--tracks", type=int, default=2, help="tracks per ensemble")
    parser.add_argument(
        "--split",
        choices=("test", "valid"),
        default="test",
        help="pieces of this split of the embedded corpus (valid: the development set)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of every track")
    parser.add_argument("--max-offset", type=float, default=2.0)
    parser.add_argument("--step", type=float, default=0.04)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default="phalar-embedded")
    parser.add_argument("--json", help="also write the cases and the tables to this file")
    return parser.parse_args()


def stem_audio(stem) -> np.ndarray:
    """Float32 samples of a rendered stem (int16 at 16 kHz)."""
    return stem.audio.astype(np.float32) / 32768.0


def select_tracks(seed: int, per_ensemble: int, seconds: float, split: str = "test") -> list:
    """The first tracks of a split and each ensemble in which every target stem sounds.

    Band tracks come from the band-only plan and chamber tracks from the chorale-only plan of
    ``seed``. The shipped model was trained on pieces of the train split only; the valid split
    serves as the development set on which the ambiguity threshold was chosen.

    Returns:
        list: ``(ensemble, rendered track, {instrument: stem index})``.
    """
    chosen = []
    for ensemble in TARGETS:
        flavour = "band" if ensemble == "band" else "chorale"
        found = 0
        for plan in plan_tracks(PLAN_LENGTH, seed, flavour):
            if found == per_ensemble:
                break
            if plan.split != split or plan.ensemble != ensemble:
                continue
            track = render_track(plan, seconds)
            picks = {}
            for label, wanted in TARGETS[ensemble]:
                index = next((i for i, s in enumerate(track.stems) if wanted(s)), None)
                if index is not None and np.any(track.stems[index].audio):
                    picks[label] = index
            if len(picks) == len(TARGETS[ensemble]) and len(track.stems) > 1:
                chosen.append((ensemble, track, picks))
                found += 1
        if found < per_ensemble:
            raise RuntimeError(f"only {found} {ensemble} {split} tracks in {PLAN_LENGTH} plans")
    return chosen


def misalign(stem: np.ndarray, offset: float, rate: int) -> np.ndarray:
    """The stem moved so that ``phalar align`` must answer ``offset`` (see the module doc)."""
    shift = round(abs(offset) * rate)
    if offset > 0:
        return stem[shift:]  # plays early: must be delayed by `offset`
    return np.concatenate((np.zeros(shift, np.float32), stem))  # plays late: must be advanced


def run_cases(model, tracks, args) -> list:
    rate = int(model.sample_rate)
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        mix_path, stem_path = os.path.join(tmp, "mix.wav"), os.path.join(tmp, "stem.wav")
        for ensemble, track, picks in tracks:
            audio = [stem_audio(s) for s in track.stems]
            for label, index in picks.items():
                mix = np.sum([a for i, a in enumerate(audio) if i != index], axis=0)
                sf.write(mix_path, mix, rate, subtype="FLOAT")
                for offset in OFFSETS:
                    sf.write(stem_path, misalign(audio[index], offset, rate), rate, "FLOAT")
                    started = time.perf_counter()
                    alignment = align_files(model, mix_path, stem_path, args.max_offset, args.step)
                    found = float(alignment.offsets[alignment.best])
                    step = round(args.step * rate) / rate
                    case = dict(
                        ensemble=ensemble,
                        piece=track.plan.piece,
                        plan_index=track.plan.index,
                        instrument=label,
                        program=track.stems[index].instrument.program,
                        tempo_bpm=track.tempo,
                        true_offset=offset,
                        found_offset=found,
                        hit=bool(abs(found - offset) <= step + 1e-9),
                        found_unshifted=bool(abs(found) <= step + 1e-9),
                        second_is_true=alignment.second_offset is not None
                        and bool(abs(alignment.second_offset - offset) <= step + 1e-9),
                        best_score=float(alignment.scores[alignment.best]),
                        second_offset=alignment.second_offset,
                        second_score=alignment.second_score,
                        margin=alignment.margin,
                        margin_std=alignment.margin_std,
                        ambiguous=alignment.ambiguous,
                        seconds=round(time.perf_counter() - started, 2),
                        offsets=[round(float(o), 4) for o in alignment.offsets],
                        scores=[
                            None if np.isnan(s) else round(float(s), 5) for s in alignment.scores
                        ],
                    )
                    cases.append(case)
                    margin = (
                        "none" if alignment.margin_std is None else f"{alignment.margin_std:.3f}"
                    )
                    print(
                        f"  {ensemble} {track.plan.piece} {label} {offset:+.2f} s: found "
                        f"{found:+.2f} s ({'hit' if case['hit'] else 'miss'}), margin {margin} "
                        f"std, {case['seconds']:.1f} s",
                        flush=True,
                    )
    return cases


def rate_row(name: str, hits) -> dict:
    """Hits, count, accuracy and its 95 % Wilson interval of a group of cases."""
    hits = [bool(h) for h in hits]
    n, k = len(hits), sum(hits)
    if n == 0:
        return dict(group=name, hits=0, n=0, accuracy=None, ci95=None)
    interval = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return dict(group=name, hits=k, n=n, accuracy=k / n, ci95=[interval.low, interval.high])


def summarize(cases) -> dict:
    groups = [rate_row("all", [c["hit"] for c in cases])]
    for label in dict.fromkeys(c["instrument"] for c in cases):
        groups.append(rate_row(label, [c["hit"] for c in cases if c["instrument"] == label]))
    for offset in OFFSETS:
        groups.append(
            rate_row(f"{offset:+.2f} s", [c["hit"] for c in cases if c["true_offset"] == offset])
        )
    flag = [
        rate_row(
            f"confident (margin >= {AMBIGUOUS_MARGIN_STD} std)",
            [c["hit"] for c in cases if not c["ambiguous"]],
        ),
        rate_row("ambiguous", [c["hit"] for c in cases if c["ambiguous"]]),
    ]
    margins = [c["margin_std"] if c["margin_std"] is not None else np.inf for c in cases]
    sweep = []
    for threshold in SWEEP:
        kept = [c["hit"] for c, m in zip(cases, margins) if m >= threshold]
        sweep.append(
            dict(threshold=threshold, coverage=len(kept) / len(cases), **rate_row("", kept))
        )
    misses = [c for c in cases if not c["hit"]]
    diagnosis = dict(
        misses=len(misses),
        at_the_unshifted_position=sum(c["found_unshifted"] for c in misses),
        true_offset_second_best=sum(c["second_is_true"] for c in misses),
    )
    return dict(groups=groups, flag=flag, sweep=sweep, misses=diagnosis)


def percent(row) -> str:
    if row["n"] == 0:
        return "—"
    low, high = row["ci95"]
    return f"{100 * row['accuracy']:.0f} % [{100 * low:.0f}, {100 * high:.0f}]"


def markdown(summary, cases) -> str:
    per_cell = {}
    for c in cases:
        per_cell.setdefault(c["instrument"], {}).setdefault(c["true_offset"], []).append(c["hit"])
    head = " | ".join(f"{o:+.2f} s" for o in OFFSETS)
    lines = [
        f"| instrument | {head} | hits | accuracy [95 % Wilson] |",
        "|---|" + "---:|" * (len(OFFSETS) + 2),
    ]
    rows = {r["group"]: r for r in summary["groups"]}
    for label, cells in per_cell.items():
        counts = " | ".join(f"{sum(cells[o])}/{len(cells[o])}" for o in OFFSETS)
        row = rows[label]
        lines.append(f"| {label} | {counts} | {row['hits']}/{row['n']} | {percent(row)} |")
    offsets = " | ".join(
        f"{rows[f'{o:+.2f} s']['hits']}/{rows[f'{o:+.2f} s']['n']}" for o in OFFSETS
    )
    row = rows["all"]
    lines.append(f"| **all** | {offsets} | {row['hits']}/{row['n']} | {percent(row)} |")
    lines += ["", "| answers | hits | accuracy [95 % Wilson] |", "|---|---:|---:|"]
    lines += [f"| {r['group']} | {r['hits']}/{r['n']} | {percent(r)} |" for r in summary["flag"]]
    lines += [
        "",
        "| margin_std at least | coverage | hits | accuracy [95 % Wilson] |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['threshold']:g} | {100 * r['coverage']:.0f} % | {r['hits']}/{r['n']} | "
        f"{percent(r)} |"
        for r in summary["sweep"]
    ]
    misses = summary["misses"]
    lines += [
        "",
        f"Of {misses['misses']} misses, {misses['at_the_unshifted_position']} answered the "
        f"unshifted position (|found| <= step) and {misses['true_offset_second_best']} had the "
        "true offset as the second-best one.",
    ]
    return "\n".join(lines)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    load = [os.getloadavg()[0]]
    model = load_model(args.model, "cpu").model
    tracks = select_tracks(args.seed, args.tracks, args.seconds, args.split)
    rendered = time.perf_counter() - started
    print(f"rendered {len(tracks)} tracks in {rendered:.0f} s", flush=True)
    cases = run_cases(model, tracks, args)
    summary = summarize(cases)
    wall = time.perf_counter() - started
    load.append(os.getloadavg()[0])
    print(
        f"\n{args.split} split, seed {args.seed}: {len(tracks)} tracks, {len(cases)} alignments; "
        f"{args.threads} thread(s); wall {wall / 60:.1f} min (rendering {rendered:.0f} s); "
        f"1-min load average at start / end: {load[0]:.1f} / {load[1]:.1f}\n"
    )
    print(markdown(summary, cases))
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        results = dict(
            settings=dict(settings, offsets=list(OFFSETS), threshold=AMBIGUOUS_MARGIN_STD),
            wall_seconds=round(wall, 1),
            load_average=load,
            summary=summary,
            cases=cases,
        )
        write_json(results, args.json, indent=1)


if __name__ == "__main__":
    main()
