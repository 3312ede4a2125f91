"""Stage 4: 5-fold linear probes, split by recording (docs/protocols.md#chord-probe-protocol).

For every label mapping (``literal``, the reference's, and ``reduced``), every window length of
``window_seconds`` and every label rule of ``label_rules`` (``start``, the reference's: the chord
at the window's start; ``centre``; ``majority``: the chord covering most of the window), two
feature sets are probed on the same windows with the same labels:

- ``phalar``: the window's PHALAR embedding, CplxLinear(dim → 25) without bias, logits = real
  part;
- ``chroma_window``: the 20 ms chroma frames averaged over the same window (same start, same
  length), nn.Linear(12 → 25).

``chroma`` (the 20 ms chroma frames themselves, each labelled with the chord at its time) is
probed once per mapping as a labelled reference. A fresh probe per fold is trained with
cross-entropy and RAdam (``epochs`` passes over windows ``epoch_stride_seconds`` apart, i.e.
``epochs * hop / epoch_stride_seconds`` passes over windows ``hop`` apart: the same number of
optimisation steps as the reference's 20 ms grid, on the same audio) and scored on the held-out
recordings:

- frame accuracy over the labelled windows (windows without annotation are left out);
- mir_eval ``root`` and ``majmin`` of the decoded label sequence (window classes merged into
  intervals, placed at the time the rule labels: the window's start, or its centre for
  ``centre`` and ``majority``) against the full reference annotation, over their common span;
  the mean over the fold's recordings.

Every score is mean ± 1.96 · std(ddof=1) / sqrt(n_folds) over the folds
(docs/protocols.md#fold-confidence-interval). PHALAR and chroma are compared per configuration
over recordings (each is held out once): mean paired difference of frame accuracy ± 1.96 ·
std(ddof=1) / sqrt(n), and the two-sided Wilcoxon signed-rank p-value.

Writes ``<exp_dir>/results/<features>[_w<window>s_<rule>]_<mapping>.json`` (probes finished with
the same settings are skipped), then ``<exp_dir>/summary.md`` and ``summary.json``.
"""

import argparse
import json
import os

import numpy as np
import torch
from common import feature_dir, load_manifest, parse_with_conf, window_list

from phalar_asteroid.data.datasets.common import load_chords
from phalar_asteroid.eval.chords import (
    CHORD_CLASSES,
    LABEL_RULES,
    UNLABELLED,
    chord_scores,
    cross_validate,
    frames_to_intervals,
    label_classes,
    label_offset,
    mean_confidence,
    paired_difference,
    recording_accuracy,
    window_frames,
    window_labels,
    window_mean,
)
from phalar_asteroid.utils.io import atomic_output, write_json

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--manifest", required=True)
parser.add_argument("--chroma_dir", required=True, help="Stage 2 features")
parser.add_argument("--exp_dir", required=True)
parser.add_argument("--dataset", default="", help="Name printed in the table caption")

MAPPING_NAMES = {"literal": "literal (primary)", "reduced": "reduced (deviation)"}
RULE_NAMES = {"start": "start (reference)", "centre": "centre", "majority": "majority"}


def option_list(text: str, allowed, name: str) -> list:
    """Entries of a comma-separated option, each checked against ``allowed``."""
    items = [item for item in str(text).split(",") if item]
    unknown = [item for item in items if item not in allowed]
    if unknown or not items:
        raise ValueError(f"--{name} takes a comma-separated list of {allowed}, got {text!r}")
    return items


def cell(stat: dict, scale: float = 1.0, digits: int = 1) -> str:
    """``mean ± half-width`` of a result entry."""
    return f"{scale * stat['mean']:.{digits}f} ± {scale * stat['ci95']:.{digits}f}"


def load_features(folder: str, manifest) -> tuple:
    """Features of every recording, and their common frame period."""
    features, periods = {}, set()
    for track in manifest:
        path = os.path.join(folder, f"{track['track_id']}.npz")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Missing features {path}: run the stage that writes them")
        stored = np.load(path)
        features[track["track_id"]] = stored["features"]
        periods.add(float(stored["frame_period"]))
    if len(periods) != 1:
        raise ValueError(f"Features in {folder} have different frame periods: {periods}")
    return features, periods.pop()


def fold_chord_scores(fold: dict, chords: dict, period: float, offset: float) -> dict:
    """Mean mir_eval root / majmin over the held-out recordings of one fold."""
    scores = []
    for rec in fold["recordings"]:
        intervals, labels = frames_to_intervals(fold["predictions"][rec], period)
        scores.append(
            chord_scores(chords[rec].intervals, chords[rec].labels, offset + intervals, labels)
        )
    return {key: float(np.mean([s[key] for s in scores])) for key in ("root", "majmin")}


def run_probe(features, period, chords, setting, conf) -> dict:
    """Cross-validates one feature set under one labelling; returns the result record."""
    p = conf["probe"]
    window, rule, mapping = setting["window_seconds"], setting["rule"], setting["mapping"]
    # Sparser windows, more passes: as many optimisation steps as on the reference's 20 ms grid.
    epochs = p["epochs"] * window_frames(period, p["epoch_stride_seconds"], "hop_seconds")
    labels = {}
    for rec, x in features.items():
        classes = label_classes(chords[rec].labels, mapping)
        windows = window_labels(chords[rec].intervals, list(classes), len(x), period, window, rule)
        labels[rec] = np.array([UNLABELLED if c is None else c for c in windows], dtype=np.int64)
    folds = cross_validate(
        features,
        labels,
        n_folds=p["n_folds"],
        seed=p["seed"],
        epochs=epochs,
        batch_size=p["probe_batch_size"],
        lr=p["lr"],
        desc=f"{setting['features']} {window:g} s {rule} {mapping}",
    )
    accuracy = [f["accuracy"] for f in folds]
    offset = label_offset(rule, window)
    mir = [fold_chord_scores(f, chords, period, offset) for f in folds]
    annotated = np.concatenate([y[y != UNLABELLED] for y in labels.values()])
    counts = np.bincount(annotated, minlength=len(CHORD_CLASSES))
    record = {
        **setting,
        "epochs_run": epochs,
        "n_recordings": len(features),
        "n_frames": int(sum(len(y) for y in labels.values())),
        "n_annotated_frames": int(annotated.size),
        "frame_period": period,
        "n_features": int(next(iter(features.values())).shape[-1]),
        "class_counts": {c: int(n) for c, n in zip(CHORD_CLASSES, counts)},
        "majority_class_accuracy": float(counts.max() / max(annotated.size, 1)),
        "recording_accuracy": recording_accuracy(folds, labels),
        "folds": [
            {"fold": f["fold"], "recordings": f["recordings"], "accuracy": a, **m}
            for f, a, m in zip(folds, accuracy, mir)
        ],
    }
    for key, values in (
        ("accuracy", accuracy),
        ("root", [m["root"] for m in mir]),
        ("majmin", [m["majmin"] for m in mir]),
    ):
        mean, half = mean_confidence(values)
        record[key] = {"mean": mean, "ci95": half}
    return record


def cached_or_run(path: str, setting: dict, features_for, chords, conf) -> dict:
    """The record at ``path`` if it was made with ``setting``, else a fresh probe (saved).

    ``features_for(name, window_seconds)`` gives the features and their frame period.
    """
    if os.path.isfile(path):
        with open(path) as fhandle:
            record = json.load(fhandle)
        if all(record.get(key) == value for key, value in setting.items()):
            return record
    features = features_for(setting["features"], setting["window_seconds"])
    record = run_probe(*features, chords, setting, conf)
    write_json(record, path, indent=1)
    acc = record["accuracy"]
    print(
        f"{setting['features']} / {setting['window_seconds']:g} s / {setting['rule']} / "
        f"{setting['mapping']}: frame accuracy {100 * acc['mean']:.1f} ± {100 * acc['ci95']:.1f} %"
    )
    return record


def write_report(pairs, frame_records, exp_dir, dataset) -> str:
    """The results tables as ``summary.md`` and ``summary.json``; returns the markdown."""
    first = pairs[0][0]
    lines = [
        f"Linear chord probes on {dataset or 'the corpus'}: {first['n_recordings']} recordings, "
        f"{len(first['folds'])}-fold cross-validation by recording, windows every "
        f"{1000 * first['frame_period']:.0f} ms. Mean ± 1.96·std(ddof=1)/√folds over folds; "
        "PHALAR − chroma: mean paired difference over recordings ± 1.96·std(ddof=1)/√n, "
        "Wilcoxon signed-rank p. The chroma rows average the 20 ms chroma over the same window "
        "and take the same label.",
        "",
        "| mapping | window (s) | label rule | majority class (%) | PHALAR frame acc. (%) "
        "| chroma frame acc. (%) | PHALAR − chroma (pp) | p | PHALAR majmin | chroma majmin |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary = {}
    for phalar, chroma, paired in pairs:
        lines.append(
            f"| {MAPPING_NAMES.get(phalar['mapping'], phalar['mapping'])} "
            f"| {phalar['window_seconds']:g} | {RULE_NAMES[phalar['rule']]} "
            f"| {100 * phalar['majority_class_accuracy']:.1f} "
            f"| {cell(phalar['accuracy'], 100)} | {cell(chroma['accuracy'], 100)} "
            f"| {100 * paired['diff']:+.1f} ± {100 * paired['ci95']:.1f} | {paired['p_value']:.3f} "
            f"| {cell(phalar['majmin'], digits=3)} | {cell(chroma['majmin'], digits=3)} |"
        )
        key = f"w{phalar['window_seconds']:g}s_{phalar['rule']}_{phalar['mapping']}"
        keys = ("accuracy", "root", "majmin", "majority_class_accuracy")
        summary[key] = {
            "phalar": {k: phalar[k] for k in keys},
            "chroma_window": {k: chroma[k] for k in keys},
            "phalar_minus_chroma": paired,
        }
    lines += [
        "",
        "Reference: 20 ms chroma frames, each labelled with the chord at its time.",
        "",
        "| mapping | features + probe | frame acc. (%) | majority class (%) | mir_eval root "
        "| mir_eval majmin |",
        "|---|---|---|---|---|---|",
    ]
    for r in frame_records:
        lines.append(
            f"| {MAPPING_NAMES.get(r['mapping'], r['mapping'])} "
            f"| chroma_cqt (20 ms frames) + Linear({r['n_features']}→{len(CHORD_CLASSES)}) "
            f"| {cell(r['accuracy'], 100)} | {100 * r['majority_class_accuracy']:.1f} "
            f"| {cell(r['root'], digits=3)} | {cell(r['majmin'], digits=3)} |"
        )
        summary[f"chroma_frames_{r['mapping']}"] = {
            k: r[k] for k in ("accuracy", "root", "majmin", "majority_class_accuracy")
        }
    text = "\n".join(lines) + "\n"
    with atomic_output(os.path.join(exp_dir, "summary.md")) as tmp:
        with open(tmp, "w") as fhandle:
            fhandle.write(text)
    write_json(summary, os.path.join(exp_dir, "summary.json"), indent=1)
    return text


def main(conf):
    # Mini-batches of 64 frames through one linear layer: thread hand-offs cost more than they
    # save, and a busy machine makes idle OpenMP threads spin.
    torch.set_num_threads(1)
    args, win = conf["main_args"], conf["windows"]
    windows = window_list(win["window_seconds"])
    rules = option_list(win["label_rules"], LABEL_RULES, "label_rules")
    mappings = option_list(conf["probe"]["mappings"], tuple(MAPPING_NAMES), "mappings")
    manifest = load_manifest(args["manifest"])
    chords = {t["track_id"]: load_chords(t["chords_path"]) for t in manifest}
    chroma, chroma_period = load_features(args["chroma_dir"], manifest)
    # The chroma windows start on the PHALAR windows' grid and span as many seconds.
    stride = window_frames(win["hop_seconds"], chroma_period, "hop_seconds")
    spans = {w: window_frames(w, chroma_period) for w in windows}
    probe = {k: v for k, v in conf["probe"].items() if k != "mappings"}
    results = os.path.join(args["exp_dir"], "results")
    cache = {}

    def features_for(name, window):
        """The features of one feature set and window length, loaded or averaged once."""
        if (name, window) not in cache:
            if name == "phalar":
                folder = feature_dir(args["exp_dir"], window)
                cache[name, window] = load_features(folder, manifest)
                if abs(cache[name, window][1] - win["hop_seconds"]) > 1e-9:
                    raise ValueError(
                        f"{folder} holds windows every {cache[name, window][1]} s, "
                        f"not --hop_seconds {win['hop_seconds']}"
                    )
            elif name == "chroma_window":
                means = {r: window_mean(x, spans[window], stride) for r, x in chroma.items()}
                cache[name, window] = (means, stride * chroma_period)
            else:
                cache[name, window] = (chroma, chroma_period)
        return cache[name, window]

    pairs, frame_records = [], []
    for mapping in mappings:
        for window in windows:
            for rule in rules:
                records = []
                for name in ("phalar", "chroma_window"):
                    setting = {
                        "features": name,
                        "window_seconds": window,
                        "rule": rule,
                        "mapping": mapping,
                        "hop_seconds": win["hop_seconds"],
                        "probe": probe,
                    }
                    path = os.path.join(results, f"{name}_w{window:g}s_{rule}_{mapping}.json")
                    records.append(cached_or_run(path, setting, features_for, chords, conf))
                paired = paired_difference(*(r["recording_accuracy"] for r in records))
                pairs.append((*records, paired))
        setting = {
            "features": "chroma",
            "window_seconds": chroma_period,
            "rule": "start",
            "mapping": mapping,
            "probe": probe,
        }
        path = os.path.join(results, f"chroma_{mapping}.json")
        frame_records.append(cached_or_run(path, setting, features_for, chords, conf))
    print(write_report(pairs, frame_records, args["exp_dir"], args["dataset"]))


if __name__ == "__main__":
    main(parse_with_conf(parser))
