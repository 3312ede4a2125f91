"""Stage 4: 5-fold linear probes, split by recording (docs/protocols.md#chord-probe-protocol).

For every feature set (``phalar``: CplxLinear(dim → 25) without bias, logits = real part;
``chroma``: nn.Linear(12 → 25); ``chroma_window``: the same chroma averaged over the
``window_seconds`` a PHALAR window spans, start-aligned — a control that shows how much of the gap
between the two comes from the window length alone) and every label mapping (``literal``, the
reference's, and ``reduced``), a fresh probe per fold is trained with cross-entropy and RAdam, and scored on the
held-out recordings:

- frame accuracy over the annotated frames (frames outside every chord segment are left out);
- mir_eval ``root`` and ``majmin`` of the decoded label sequence (frame classes merged into
  intervals) against the full reference annotation, cropped to the frames' span; the mean over
  the fold's recordings.

Writes ``<exp_dir>/results/<features>_<mapping>.json`` (combinations finished with the same probe
settings are skipped),
then the table: ``<exp_dir>/summary.md`` and ``summary.json``. Every score is given as
mean ± 1.96 · std(ddof=1) / sqrt(n_folds) over the folds
(docs/protocols.md#fold-confidence-interval); ``literal`` is the reference's label mapping
(primary), ``reduced`` the labelled deviation (enharmonic respelling, maj/min reduction).
"""

import argparse
import json
import os

import numpy as np
import torch
from common import FEATURES, load_manifest, parse_with_conf

from phalar_asteroid.data.datasets.common import load_chords
from phalar_asteroid.utils.io import atomic_output, write_json
from phalar_asteroid.eval.chords import (
    CHORD_CLASSES,
    UNLABELLED,
    chord_scores,
    cross_validate,
    frame_labels,
    frames_to_intervals,
    label_classes,
    mean_confidence,
    window_mean,
)

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--manifest", required=True)
parser.add_argument("--chroma_dir", required=True, help="Stage 2 features")
parser.add_argument("--exp_dir", required=True)
parser.add_argument("--dataset", default="", help="Name printed in the table caption")


MAPPING_NAMES = {"literal": "literal (primary)", "reduced": "reduced (deviation)"}


def feature_name(record: dict) -> str:
    """Table label of a feature set and its probe."""
    dim, classes = record["n_features"], len(CHORD_CLASSES)
    if record["features"] == "phalar":
        return f"PHALAR + CplxLinear({dim}→{classes}), real part"
    if record["features"] == "chroma_window":
        seconds = record["window_seconds"]
        return f"chroma_cqt, mean over the {seconds:g} s window + Linear({dim}→{classes}) (control)"
    return f"chroma_cqt + Linear({dim}→{classes})"


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


def window_features(features: dict, period: float, seconds: float) -> dict:
    """Every recording's frames averaged over the span of a PHALAR window of ``seconds``."""
    window = max(1, round(seconds / period))
    return {rec: window_mean(x, window) for rec, x in features.items()}


def fold_chord_scores(fold: dict, chords: dict, period: float) -> dict:
    """Mean mir_eval root / majmin over the held-out recordings of one fold."""
    scores = [
        chord_scores(
            chords[rec].intervals,
            chords[rec].labels,
            *frames_to_intervals(fold["predictions"][rec], period),
        )
        for rec in fold["recordings"]
    ]
    return {key: float(np.mean([s[key] for s in scores])) for key in ("root", "majmin")}


def run_probe(features, period, chords, mapping, conf, name) -> dict:
    """Cross-validates one feature set under one label mapping; returns the result record."""
    p = conf["probe"]
    labels = {
        rec: label_classes(
            frame_labels(chords[rec].intervals, chords[rec].labels, len(x), period), mapping
        )
        for rec, x in features.items()
    }
    folds = cross_validate(
        features,
        labels,
        n_folds=p["n_folds"],
        seed=p["seed"],
        epochs=p["epochs"],
        batch_size=p["probe_batch_size"],
        lr=p["lr"],
        desc=f"{name} {mapping}",
    )
    accuracy = [f["accuracy"] for f in folds]
    mir = [fold_chord_scores(f, chords, period) for f in folds]
    annotated = np.concatenate([y[y != UNLABELLED] for y in labels.values()])
    counts = np.bincount(annotated, minlength=len(CHORD_CLASSES))
    record = {
        "features": name,
        "mapping": mapping,
        "probe": {k: v for k, v in p.items() if k != "mappings"},
        "n_recordings": len(features),
        "n_frames": int(sum(len(y) for y in labels.values())),
        "n_annotated_frames": int(annotated.size),
        "frame_period": period,
        "n_features": int(next(iter(features.values())).shape[-1]),
        "class_counts": {c: int(n) for c, n in zip(CHORD_CLASSES, counts)},
        "majority_class_accuracy": float(counts.max() / max(annotated.size, 1)),
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


def write_report(records, exp_dir, dataset) -> str:
    """The results table as ``summary.md`` and ``summary.json``; returns the markdown."""
    first = records[0]
    lines = [
        f"Linear chord probes on {dataset or 'the corpus'}: {first['n_recordings']} recordings, "
        f"{len(first['folds'])}-fold cross-validation by recording, frames every "
        f"{1000 * first['frame_period']:.0f} ms. Mean ± 1.96·std(ddof=1)/√folds over folds.",
        "",
        "| features + probe | label mapping | frame accuracy (%) | majority class (%) "
        "| mir_eval root | mir_eval majmin |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {feature_name(r)} | {MAPPING_NAMES.get(r['mapping'], r['mapping'])} "
            f"| {cell(r['accuracy'], 100)} | {100 * r['majority_class_accuracy']:.1f} "
            f"| {cell(r['root'], digits=3)} | {cell(r['majmin'], digits=3)} |"
        )
    text = "\n".join(lines) + "\n"
    with atomic_output(os.path.join(exp_dir, "summary.md")) as tmp:
        with open(tmp, "w") as fhandle:
            fhandle.write(text)
    keys = ("accuracy", "root", "majmin", "majority_class_accuracy", "n_recordings")
    summary = {f"{r['features']}_{r['mapping']}": {k: r[k] for k in keys} for r in records}
    write_json(summary, os.path.join(exp_dir, "summary.json"), indent=1)
    return text


def main(conf):
    # Mini-batches of 64 frames through one linear layer: thread hand-offs cost more than they
    # save, and a busy machine makes idle OpenMP threads spin.
    torch.set_num_threads(1)
    args = conf["main_args"]
    manifest = load_manifest(args["manifest"])
    chords = {t["track_id"]: load_chords(t["chords_path"]) for t in manifest}
    folders = {"phalar": os.path.join(args["exp_dir"], "features"), "chroma": args["chroma_dir"]}
    chroma, period = load_features(folders["chroma"], manifest)
    seconds = conf["windows"]["window_seconds"]
    loaded = {
        "chroma": (chroma, period),
        "chroma_window": (window_features(chroma, period, seconds), period),
    }
    mappings = [m for m in conf["probe"]["mappings"].split(",") if m]
    settings = {k: v for k, v in conf["probe"].items() if k != "mappings"}
    records = []
    for mapping in mappings:
        for name in FEATURES:
            path = os.path.join(args["exp_dir"], "results", f"{name}_{mapping}.json")
            if os.path.isfile(path):
                with open(path) as fhandle:
                    record = json.load(fhandle)
                if record.get("probe") == settings:
                    records.append(record)
                    continue
            if name not in loaded:
                loaded[name] = load_features(folders[name], manifest)
            record = run_probe(*loaded[name], chords, mapping, conf, name)
            if name == "chroma_window":
                record["window_seconds"] = seconds
            write_json(record, path, indent=1)
            acc = record["accuracy"]
            print(
                f"{name} / {mapping}: frame accuracy {100 * acc['mean']:.1f} ± "
                f"{100 * acc['ci95']:.1f} %"
            )
            records.append(record)
    print(write_report(records, args["exp_dir"], args["dataset"]))


if __name__ == "__main__":
    main(parse_with_conf(parser))
