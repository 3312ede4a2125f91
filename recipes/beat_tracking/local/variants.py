"""Stage 5 (after ``evaluate.py``): decoder and envelope variants on the stored similarity maps.

Nothing here runs the encoder: every variant re-derives the envelope from
``<exp_dir>/similarity/<track_id>.npz`` (stage 4) and decodes it again.

The sweep file (``local/sweep.yml``) holds named grids. Each grid maps keys of the conf's
``envelope`` and ``decoder`` groups (and ``decoder_kind``: ``dp`` or ``dbn``) to lists of values;
the Cartesian product of the lists gives one variant each, every key left out keeping its
``conf.yml`` value. The paper's decoder (``dp`` with the conf's values) is always variant 0.

Selection is honest about the split: the variant with the best mean F (no trim) on the
``--tune_split`` tracks (valid) is chosen there and reported on the ``--report_split`` tracks
(test), which took no part in the choice; it is also reported on all tracks, labelled as tuned on
part of them. Paired comparisons over the report tracks (bootstrap interval of the mean
difference of F, Wilcoxon signed-rank test): the chosen variant against the paper's decoder and
against the reference trackers of stage 3.

Writes to ``<exp_dir>/variants/``: ``scores.csv`` (every variant × track, no trim: F, CMLt, AMLt,
estimated tempo and its class; a rerun scores only the (variant, track) pairs it does not hold),
``summary.json`` and ``summary.md`` (the sweep ranked on the tune split, the chosen variant on
every split, the paired tests, the per-track error table of the chosen variant), and the chosen
variant's beats in ``beats_best/<track_id>.beats``.
"""

import argparse
import csv
import itertools
import json
import os

import numpy as np
import yaml
from common import (
    LOCAL,
    REFERENCE_SYSTEMS,
    beats_file,
    corpus_label,
    load_manifest,
    parse_with_conf,
    phalar_decode,
    phalar_envelope,
    read_beat_times,
    write_beat_times,
)
from tqdm import tqdm

from phalar_asteroid.data.datasets.common import load_beats
from phalar_asteroid.eval.beat import (
    beat_metrics,
    beat_tempo,
    error_class,
    mean_ci,
    paired_comparison,
    tempo_class,
)
from phalar_asteroid.utils.io import atomic_output, write_json

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--manifest", required=True)
parser.add_argument("--reference_dir", required=True, help="Stage 3 beat files")
parser.add_argument("--exp_dir", required=True)
parser.add_argument("--sweep", default=os.path.join(LOCAL, "sweep.yml"), help="Variant grids")
parser.add_argument("--tune_split", default="valid", help="Split the best variant is chosen on")
parser.add_argument("--report_split", default="test", help="Split it is reported on")

#: Per-track columns of ``scores.csv`` besides the variant and the track.
SCORE_FIELDS = ("F", "CMLt", "AMLt", "est_tempo", "tempo_class", "error_class")
#: Settings that change the envelope (the rest only change its decoding).
ENVELOPE_KEYS = (
    "n_sigma",
    "min_count",
    "envelope_bpm_min",
    "envelope_bpm_max",
    "envelope_bpm_step",
    "smooth_seconds",
)
METRIC_KEYS = {
    "F": "F-measure",
    "CMLt": "Correct Metric Level Total",
    "AMLt": "Any Metric Level Total",
}


def expand_sweep(path: str, conf: dict) -> list:
    """The variants of a sweep file: ``[(variant id, settings)]``, the paper's decoder first.

    A variant's settings are ``{"decoder_kind", **envelope, **decoder}``; its id lists the values
    that differ from ``conf.yml`` (``dp`` alone is the paper's decoder).

    Raises:
        ValueError: naming the file and the key for an unknown key, a value that is not a
            non-empty list, or an unknown decoder kind.
    """
    base = {"decoder_kind": "dp", **conf["envelope"], **conf["decoder"]}
    with open(path) as fhandle:
        grids = yaml.safe_load(fhandle) or {}
    variants = {variant_id(base, base): base}
    for name, grid in grids.items():
        for key, values in (grid or {}).items():
            if key not in base:
                raise ValueError(f"{path}: grid {name!r} has unknown key {key!r}")
            if not isinstance(values, list) or not values:
                raise ValueError(f"{path}: {name}.{key} must be a non-empty list")
        keys = list(grid or {})
        for combination in itertools.product(*(grid[k] for k in keys)):
            settings = {**base, **dict(zip(keys, combination))}
            if settings["decoder_kind"] not in ("dp", "dbn"):
                raise ValueError(f"{path}: {name}.decoder_kind must be dp or dbn")
            variants.setdefault(variant_id(settings, base), settings)
    return list(variants.items())


def variant_id(settings: dict, base: dict) -> str:
    """``dp`` or ``dbn``, then ``key=value`` for every setting that differs from ``base``."""
    changed = [f"{k}={v}" for k, v in settings.items() if k != "decoder_kind" and v != base[k]]
    return " ".join([settings["decoder_kind"]] + changed)


def load_maps(manifest, exp_dir) -> dict:
    """Stage 4's similarity maps, by track id.

    Raises:
        FileNotFoundError: naming the first missing map (run stage 4).
    """
    maps = {}
    for track in manifest:
        path = os.path.join(exp_dir, "similarity", f"{track['track_id']}.npz")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Missing {path}: run stage 4 (phalar_beats.py)")
        with np.load(path) as stored:
            maps[track["track_id"]] = {k: stored[k] for k in stored.files}
    return maps


def decode_variant(stored: dict, settings: dict, envelopes: dict = None) -> np.ndarray:
    """Beats of one stored map with one variant's settings.

    Args:
        stored (dict): a map from :func:`load_maps`.
        settings (dict): the variant's settings.
        envelopes (dict, optional): cache of this map's envelopes by envelope settings, since
            many variants share one envelope and differ in the decoder only.
    """
    fps, offset = float(stored["fps"]), float(stored["offset"])
    key = tuple((k, settings[k]) for k in ENVELOPE_KEYS)
    if envelopes is None or key not in envelopes:
        similarity = stored["similarity"].astype(np.float64)
        envelope = phalar_envelope(similarity, stored["bpms"], fps, settings)
        if envelopes is None:
            envelopes = {}
        envelopes[key] = envelope
    return phalar_decode(
        envelopes[key], fps, offset, settings, settings["decoder_kind"], float(stored["duration"])
    )


def score(reference, estimate, ref_tempo, ev) -> dict:
    """The sweep's per-track scores (no trim) and tempo analysis of one estimate."""
    metrics = beat_metrics(reference, estimate, 0.0)
    row = {short: metrics[key] for short, key in METRIC_KEYS.items()}
    row["est_tempo"] = beat_tempo(estimate)
    return classify(row, ref_tempo, ev)


def classify(row: dict, ref_tempo: float, ev: dict) -> dict:
    """Adds the tempo and error classes to a row, with the conf's current tolerances (so that a
    cached row never keeps an older classification)."""
    tempo = tempo_class(row["est_tempo"], ref_tempo, ev["tempo_tolerance"])
    error = error_class(tempo, row["CMLt"], row["F"], ev["phase_min_score"])
    return {**row, "tempo_class": tempo, "error_class": error}


def read_scores(path: str) -> dict:
    """``scores.csv`` of an earlier run: ``{(variant, track_id): row}`` (empty when absent)."""
    if not os.path.isfile(path):
        return {}
    with open(path, newline="") as fhandle:
        rows = list(csv.DictReader(fhandle))
    for row in rows:
        for key in ("F", "CMLt", "AMLt", "est_tempo"):
            row[key] = float(row[key])
    return {(r["variant"], r["track_id"]): r for r in rows}


def sweep_scores(variants, manifest, maps, references, ev, path) -> dict:
    """Scores of every variant on every track, reusing those ``path`` already holds."""
    scores = read_scores(path)
    todo = [(v, s, t["track_id"]) for v, s in variants for t in manifest]
    todo = [(v, s, t) for v, s, t in todo if (v, t) not in scores]
    envelopes = {t["track_id"]: {} for t in manifest}
    for variant, settings, track_id in tqdm(todo, desc="variants"):
        reference, ref_tempo = references[track_id]
        estimate = decode_variant(maps[track_id], settings, envelopes[track_id])
        row = score(reference, estimate, ref_tempo, ev)
        scores[(variant, track_id)] = {"variant": variant, "track_id": track_id, **row}
    for (variant, track_id), row in scores.items():
        if track_id in references:
            scores[(variant, track_id)] = classify(row, references[track_id][1], ev)
    with atomic_output(path) as tmp:
        with open(tmp, "w", newline="") as fhandle:
            writer = csv.DictWriter(fhandle, fieldnames=["variant", "track_id", *SCORE_FIELDS])
            writer.writeheader()
            writer.writerows(scores[(v, t["track_id"])] for v, _ in variants for t in manifest)
    print(f"{len(variants)} variants on {len(manifest)} tracks ({len(todo)} pairs scored now)")
    return scores


def interval(values) -> dict:
    """Mean F with its 95 % bootstrap interval over tracks."""
    mean, low, high = mean_ci(values)
    return {"mean": mean, "low": low, "high": high, "n_tracks": len(values)}


def fmt(stats: dict) -> str:
    """``0.712 [0.650, 0.770]``."""
    return f"{stats['mean']:.3f} [{stats['low']:.3f}, {stats['high']:.3f}]"


def main(conf):
    args, ev = conf["main_args"], conf["evaluation"]
    manifest = load_manifest(args["manifest"])
    split_of = {t["track_id"]: t.get("split", "") for t in manifest}
    tune = [t for t in split_of if split_of[t] == args["tune_split"]]
    report = [t for t in split_of if split_of[t] == args["report_split"]]
    if len(tune) < 2 or len(report) < 2:
        print(
            f"Decoder variants skipped: they need >= 2 tracks in --tune_split "
            f"{args['tune_split']} and in --report_split {args['report_split']} (got "
            f"{len(tune)} and {len(report)})"
        )
        return
    variants = expand_sweep(args["sweep"], conf)
    references = {}
    for track in manifest:
        reference = load_beats(track["beats_path"]).times
        references[track["track_id"]] = (reference, track.get("tempo") or beat_tempo(reference))
    out_dir = os.path.join(args["exp_dir"], "variants")
    maps = load_maps(manifest, args["exp_dir"])
    scores = sweep_scores(
        variants, manifest, maps, references, ev, os.path.join(out_dir, "scores.csv")
    )
    # The stage 3 trackers, scored the same way on the same tracks.
    for system in REFERENCE_SYSTEMS:
        for track_id, (reference, ref_tempo) in references.items():
            estimate = read_beat_times(beats_file(args["reference_dir"], system, track_id))
            row = score(reference, estimate, ref_tempo, ev)
            scores[(system, track_id)] = {"variant": system, "track_id": track_id, **row}

    def f_of(variant, tracks):
        return [scores[(variant, t)]["F"] for t in tracks]

    paper = variants[0][0]
    ranked = sorted((v for v, _ in variants), key=lambda v: -np.mean(f_of(v, tune)))
    best = ranked[0]
    # The chosen variant with its beats continued over the last window, reported apart: it
    # assumes a steady tempo where PHALAR has no frame.
    extended_settings = {**dict(variants)[best], "extend_to_end": True}
    extended = variant_id(extended_settings, variants[0][1])
    for track_id, (reference, ref_tempo) in references.items():
        estimate = decode_variant(maps[track_id], extended_settings)
        row = score(reference, estimate, ref_tempo, ev)
        scores[(extended, track_id)] = {"variant": extended, "track_id": track_id, **row}
    splits = {
        f"{args['tune_split']} (tuning)": tune,
        f"{args['report_split']} (untouched by the choice)": report,
        f"{args['tune_split']}+{args['report_split']} (tuned on part of it)": tune + report,
    }
    systems = {
        "paper": paper,
        "best": best,
        "best_extended": extended,
        **{s: s for s in REFERENCE_SYSTEMS},
    }
    pairs = [("best", "paper"), ("best", "onset_dp"), ("best", "madmom")]
    pairs += [("best_extended", "paper"), ("best_extended", "onset_dp")]
    table = {
        label: {name: interval(f_of(v, tracks)) for name, v in systems.items()}
        for label, tracks in splits.items()
    }
    comparisons = {
        label: {
            f"{a} - {b}": paired_comparison(f_of(systems[a], tracks), f_of(systems[b], tracks))
            for a, b in pairs
        }
        for label, tracks in list(splits.items())[1:]
    }
    for track in manifest:
        estimate = decode_variant(maps[track["track_id"]], dict(variants)[best])
        write_beat_times(beats_file(out_dir, "beats_best", track["track_id"]), estimate)
    pieces = corpus_label(manifest.dataset, manifest.split)
    summary = {
        "pieces": pieces,
        "sweep": args["sweep"],
        "n_variants": len(variants),
        "tune_split": args["tune_split"],
        "report_split": args["report_split"],
        "paper_variant": paper,
        "best_variant": best,
        "best_settings": dict(variants)[best],
        "best_extended_variant": extended,
        "f_measure": table,
        "paired": comparisons,
        "ranking_on_tune_split": [
            {"variant": v, **{s: interval(f_of(v, t)) for s, t in splits.items()}} for v in ranked
        ],
    }
    write_json(summary, os.path.join(out_dir, "summary.json"), indent=1)
    write_markdown(summary, scores, manifest, references, ev, os.path.join(out_dir, "summary.md"))
    print(open(os.path.join(out_dir, "summary.md")).read().split("\n## Sweep")[0])


def write_markdown(summary, scores, manifest, references, ev, path) -> None:
    """The variants report: chosen variant on every split, paired tests, error table, sweep."""
    names = {
        "paper": f"PHALAR + DP as the paper (`{summary['paper_variant']}`)",
        "best": f"PHALAR, best on {summary['tune_split']} (`{summary['best_variant']}`)",
        "best_extended": "the same, beats continued over the last 4.8 s at the last period "
        "(`extend_to_end`, not the paper's)",
        "madmom": "madmom RNN + DBN (reference)",
        "onset_dp": "onset strength + DP (librosa baseline)",
    }
    labels = list(summary["f_measure"])
    lines = [
        f"Decoder and envelope variants ({summary['n_variants']}, `{summary['sweep']}`) on the "
        f"stored similarity maps; {summary['pieces']}. F-measure (±70 ms, no trim), mean over "
        "tracks with its 95 % percentile bootstrap interval.",
        "",
        "| system | " + " | ".join(f"F, {label}" for label in labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for key, name in names.items():
        cells = [fmt(summary["f_measure"][label][key]) for label in labels]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Paired over tracks: mean difference of F with its 95 % bootstrap interval, two-sided "
        "Wilcoxon signed-rank p, tracks where each side is better.",
        "",
        "| tracks | comparison | ΔF [95 % CI] | Wilcoxon p | better / worse |",
        "|---|---|---|---|---|",
    ]
    for label, tests in summary["paired"].items():
        for name, test in tests.items():
            lines.append(
                f"| {label} | {name} | {test['diff']:+.3f} [{test['low']:+.3f}, "
                f"{test['high']:+.3f}] | {test['p_wilcoxon']:.3g} | "
                f"{test['a_better']} / {test['b_better']} |"
            )
    columns = {
        "paper": summary["paper_variant"],
        "best": summary["best_variant"],
        "best_extended": summary["best_extended_variant"],
    }
    columns.update({s: s for s in REFERENCE_SYSTEMS})
    lines += [
        "",
        f"Per track (no trim): estimated / reference tempo, its class within "
        f"±{100 * ev['tempo_tolerance']:g} % (phase: correct tempo, CMLt or F < "
        f"{ev['phase_min_score']:g}), F.",
        "",
        "| track | split | reference BPM | " + " | ".join(columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for track in manifest:
        track_id = track["track_id"]
        cells = [track_id, track.get("split", ""), f"{references[track_id][1]:.1f}"]
        for variant in columns.values():
            row = scores[(variant, track_id)]
            ratio = row["est_tempo"] / references[track_id][1]
            cells.append(f"{ratio:.2f} {row['error_class']} (F {row['F']:.2f})")
        lines.append("| " + " | ".join(cells) + " |")
    labels_ranked = list(summary["ranking_on_tune_split"][0])[1:]
    lines += [
        "",
        f"## Sweep, ranked by mean F on {summary['tune_split']}",
        "",
        "| variant | " + " | ".join(f"F, {label}" for label in labels_ranked) + " |",
        "|---|" + "---|" * len(labels_ranked),
    ]
    for entry in summary["ranking_on_tune_split"]:
        cells = [fmt(entry[label]) for label in labels_ranked]
        lines.append(f"| `{entry['variant']}` | " + " | ".join(cells) + " |")
    with atomic_output(path) as tmp:
        with open(tmp, "w") as fhandle:
            fhandle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(parse_with_conf(parser))
