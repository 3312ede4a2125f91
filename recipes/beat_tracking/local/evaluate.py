"""Stage 5: score every system with the same mir_eval code, and report.

Two conventions, both always labelled (docs/protocols.md#beat-metrics):

- primary: nothing trimmed (``min_beat_time = 0``), as the PHALAR reference's F-measure;
- secondary: beats before ``trim_seconds`` (5 s, mir_eval's default) dropped from both lists.

Writes to ``<exp_dir>``: ``per_track.csv`` (one row per track, system and convention, every
``mir_eval.beat.evaluate`` metric plus reference and estimated tempo, their ratio, its metrical
class and the error class), ``summary.json``, ``summary.md`` (means over tracks with a bootstrap
interval of F, then the per-track error table) and ``figure_<track_id>.png`` (the PHALAR envelope
of one track with reference, PHALAR and madmom beats). Every output names the pieces it scores:
held out from the encoder's training, or not (``corpus_label``).
"""

import argparse
import csv
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from common import (  # noqa: E402
    PHALAR_SYSTEMS,
    REFERENCE_SYSTEMS,
    beats_file,
    corpus_label,
    load_manifest,
    parse_with_conf,
    read_beat_times,
)
from tqdm import tqdm  # noqa: E402

from phalar_asteroid.data.datasets.common import load_beats  # noqa: E402
from phalar_asteroid.eval.beat import (  # noqa: E402
    SUMMARY_METRICS,
    beat_metrics,
    beat_tempo,
    error_class,
    mean_ci,
    tempo_class,
)
from phalar_asteroid.utils.io import atomic_output, write_json  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--manifest", required=True)
parser.add_argument("--reference_dir", required=True, help="Stage 3 beat files")
parser.add_argument("--exp_dir", required=True)

SYSTEM_NAMES = {
    "phalar_dp": "PHALAR zero-shot + DP (librosa), as the paper",
    "phalar_dbn": "PHALAR zero-shot + DBN (madmom)",
    "madmom": "madmom RNN + DBN (reference)",
    "onset_dp": "onset strength + DP (librosa baseline)",
}
SHORT_SYSTEM = {
    "phalar_dp": "PHALAR + DP",
    "phalar_dbn": "PHALAR + DBN",
    "madmom": "madmom",
    "onset_dp": "onset + DP",
}
SHORT = {
    "F-measure": "F",
    "Correct Metric Level Total": "CMLt",
    "Any Metric Level Total": "AMLt",
}


def convention(min_beat_time: float) -> str:
    """Column label of a trimming convention."""
    if min_beat_time == 0:
        return "no trim (min_beat_time = 0, primary)"
    return f"{min_beat_time:g} s trim (min_beat_time = {min_beat_time:g})"


def system_folders(args) -> dict:
    """Where each system's beat files live."""
    folders = {s: args["reference_dir"] for s in REFERENCE_SYSTEMS}
    folders.update({s: os.path.join(args["exp_dir"], "beats") for s in PHALAR_SYSTEMS})
    return folders


def score_tracks(manifest, folders, trims, ev) -> list:
    """One row per track, system and trimming convention, with the tempo error analysis."""
    rows = []
    for track in tqdm(manifest, desc="scoring"):
        reference = load_beats(track["beats_path"]).times
        ref_tempo = track.get("tempo") or beat_tempo(reference)
        for system, folder in folders.items():
            path = beats_file(folder, system, track["track_id"])
            if not os.path.isfile(path):
                raise FileNotFoundError(f"Missing {path}: run the stage that writes {system}")
            estimate = read_beat_times(path)
            est_tempo = beat_tempo(estimate)
            tempo = tempo_class(est_tempo, ref_tempo, ev["tempo_tolerance"])
            for trim in trims:
                scores = beat_metrics(reference, estimate, trim)
                cmlt = scores["Correct Metric Level Total"]
                rows.append(
                    {
                        "track_id": track["track_id"],
                        "split": track.get("split", ""),
                        "system": system,
                        "min_beat_time": trim,
                        "ref_tempo": ref_tempo,
                        "est_tempo": est_tempo,
                        "tempo_ratio": est_tempo / ref_tempo,
                        "tempo_class": tempo,
                        "error_class": error_class(
                            tempo, cmlt, scores["F-measure"], ev["phase_min_score"]
                        ),
                        "n_ref_beats": len(reference),
                        "n_est_beats": len(estimate),
                        **scores,
                    }
                )
    return rows


def summarise(rows, systems, trims) -> dict:
    """Mean of every summary metric per system and convention, and the 95 % bootstrap interval
    over tracks of the F-measure (``F-measure 95% CI``)."""
    summary = {}
    for system in systems:
        summary[system] = {}
        for trim in trims:
            chosen = [r for r in rows if r["system"] == system and r["min_beat_time"] == trim]
            means = {m: float(np.mean([r[m] for r in chosen])) for m in SUMMARY_METRICS}
            if len(chosen) > 1:
                means["F-measure 95% CI"] = list(mean_ci([r["F-measure"] for r in chosen])[1:])
            summary[system][convention(trim)] = means
    return summary


def markdown_table(summary, trims) -> str:
    """The summary as a markdown table, each column naming its trimming convention."""
    header = ["system"] + [f"{SHORT[m]}, {convention(t)}" for t in trims for m in SUMMARY_METRICS]
    header.insert(2, "F 95 % bootstrap CI, no trim")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for system, by_trim in summary.items():
        cells = [f"{by_trim[convention(t)][m]:.3f}" for t in trims for m in SUMMARY_METRICS]
        interval = by_trim[convention(trims[0])].get("F-measure 95% CI")
        cells.insert(1, f"[{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "n/a")
        lines.append("| " + " | ".join([SYSTEM_NAMES[system]] + cells) + " |")
    return "\n".join(lines)


def error_table(rows, systems) -> str:
    """Per-track markdown table: estimated / reference tempo ratio, its class and F (no trim)."""
    primary = {(r["track_id"], r["system"]): r for r in rows if r["min_beat_time"] == 0}
    tracks = list(dict.fromkeys(r["track_id"] for r in rows))
    header = ["track", "split", "reference BPM"] + [SHORT_SYSTEM[s] for s in systems]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for track_id in tracks:
        first = primary[(track_id, systems[0])]
        cells = [track_id, first["split"], f"{first['ref_tempo']:.1f}"]
        for system in systems:
            row = primary[(track_id, system)]
            cells.append(
                f"{row['tempo_ratio']:.2f} {row['error_class']} (F {row['F-measure']:.2f})"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def error_counts(rows, systems) -> dict:
    """``{system: {error class: tracks}}`` under the primary convention."""
    counts = {}
    for system in systems:
        chosen = [
            r["error_class"] for r in rows if r["system"] == system and r["min_beat_time"] == 0
        ]
        counts[system] = {name: chosen.count(name) for name in sorted(set(chosen))}
    return counts


def plot_track(track, folders, exp_dir) -> str:
    """Figure of one track: PHALAR's onset envelope above the beats of every system."""
    track_id = track["track_id"]
    stored = np.load(os.path.join(exp_dir, "envelopes", f"{track_id}.npz"))
    envelope, fps, offset = stored["envelope"], float(stored["fps"]), float(stored["offset"])
    rows = {"reference": load_beats(track["beats_path"]).times}
    rows.update({s: read_beat_times(beats_file(folders[s], s, track_id)) for s in SYSTEM_NAMES})
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, 4.5), sharex=True, gridspec_kw={"height_ratios": [2, 1.4]}
    )
    top.plot(np.arange(len(envelope)) / fps + offset, envelope, color="0.2", lw=1)
    top.set_ylabel("PHALAR envelope")
    top.set_title(f"Zero-shot beat tracking, {track_id} (envelope frame i at i / fps + offset)")
    bottom.eventplot(
        list(rows.values()),
        lineoffsets=np.arange(len(rows))[::-1],
        linelengths=0.8,
        colors=["tab:green", "tab:red", "tab:orange", "tab:blue", "tab:gray"],
    )
    bottom.set_yticks(np.arange(len(rows))[::-1], list(rows))
    bottom.set_xlabel("time (s)")
    fig.tight_layout()
    path = os.path.join(exp_dir, f"figure_{track_id}.png")
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return path


def main(conf):
    args, ev = conf["main_args"], conf["evaluation"]
    manifest = load_manifest(args["manifest"])
    if not len(manifest):
        raise ValueError(f"{args['manifest']} lists no track with reference beats")
    trims = (0.0, float(ev["trim_seconds"]))
    folders = system_folders(args)
    rows = score_tracks(manifest, folders, trims, ev)
    exp_dir = args["exp_dir"]
    with atomic_output(os.path.join(exp_dir, "per_track.csv")) as tmp:
        with open(tmp, "w", newline="") as fhandle:
            writer = csv.DictWriter(fhandle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    summary = summarise(rows, list(SYSTEM_NAMES), trims)
    unreadable = [s for s in manifest.skipped if s["error"] != "no reference beats"]
    throughput_path = os.path.join(exp_dir, "throughput.json")
    throughput = None
    if os.path.isfile(throughput_path):
        with open(throughput_path) as fhandle:
            throughput = json.load(fhandle)
    systems = list(SYSTEM_NAMES)
    pieces = corpus_label(manifest.dataset, manifest.split)
    report = {
        "dataset": manifest.dataset,
        "split": manifest.split,
        "pieces": pieces,
        "n_tracks": len(manifest),
        "n_unreadable": len(unreadable),
        "n_without_reference": len(manifest.skipped) - len(unreadable),
        "f_measure_window_s": 0.07,
        "conventions": {convention(t): {"min_beat_time": t} for t in trims},
        "throughput": throughput,
        "tempo_tolerance": ev["tempo_tolerance"],
        "phase_min_score": ev["phase_min_score"],
        "systems": summary,
        "error_classes": error_counts(rows, systems),
    }
    write_json(report, os.path.join(exp_dir, "summary.json"), indent=1)
    counts = "; ".join(
        f"{SHORT_SYSTEM[s]}: "
        + ", ".join(f"{n} {c}" for c, n in report["error_classes"][s].items())
        for s in systems
    )
    text = (
        f"Zero-shot beat tracking on {manifest.dataset} ({manifest.split}; {pieces}): "
        f"{len(manifest)} tracks, {len(unreadable)} unreadable files left out. Means over tracks; "
        f"F-measure within ±70 ms; F's interval is a 95 % percentile bootstrap over tracks.\n\n"
        f"{markdown_table(summary, trims)}\n\n"
        f"Errors per track (no trim): estimated / reference tempo (median beat interval), its "
        f"class within ±{100 * ev['tempo_tolerance']:g} % (correct, double, half, triple, third, "
        f"3/2, 2/3, else spurious; phase: correct tempo but CMLt or F < {ev['phase_min_score']:g}) "
        f"and F.\n\n{error_table(rows, systems)}\n\nTracks per class: {counts}.\n"
    )
    with atomic_output(os.path.join(exp_dir, "summary.md")) as tmp:
        with open(tmp, "w") as fhandle:
            fhandle.write(text)
    figure_id = ev["figure_track"] or manifest[0]["track_id"]
    by_id = manifest.by_id()
    if figure_id not in by_id:
        raise ValueError(f"--figure_track {figure_id} is not in {args['manifest']}")
    figure = plot_track(by_id[figure_id], folders, exp_dir)
    print(text + f"\nPer-track scores: {exp_dir}/per_track.csv; figure: {figure}")


if __name__ == "__main__":
    main(parse_with_conf(parser))
