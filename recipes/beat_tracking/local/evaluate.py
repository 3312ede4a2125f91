"""Stage 5: score every system with the same mir_eval code, and report.

Two conventions, both always labelled (docs/protocols.md#beat-metrics):

- primary: nothing trimmed (``min_beat_time = 0``), as the PHALAR reference's F-measure;
- secondary: beats before ``trim_seconds`` (5 s, mir_eval's default) dropped from both lists.

Writes to ``<exp_dir>``: ``per_track.csv`` (one row per track, system and convention, every
``mir_eval.beat.evaluate`` metric plus reference and estimated tempo), ``summary.json``,
``summary.md`` (means over tracks) and ``figure_<track_id>.png`` (the PHALAR envelope of one track
with reference, PHALAR and madmom beats).
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
    load_manifest,
    parse_with_conf,
    read_beat_times,
)
from tqdm import tqdm  # noqa: E402

from phalar_asteroid.data.datasets.common import load_beats  # noqa: E402
from phalar_asteroid.eval.beat import SUMMARY_METRICS, beat_metrics  # noqa: E402
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
SHORT = {
    "F-measure": "F",
    "Correct Metric Level Total": "CMLt",
    "Any Metric Level Total": "AMLt",
}


def tempo(beats: np.ndarray) -> float:
    """Tempo in BPM from the median beat interval (NaN with fewer than two beats)."""
    return 60.0 / float(np.median(np.diff(beats))) if len(beats) > 1 else float("nan")


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


def score_tracks(manifest, folders, trims) -> list:
    """One row per track, system and trimming convention."""
    rows = []
    for track in tqdm(manifest, desc="scoring"):
        reference = load_beats(track["beats_path"]).times
        for system, folder in folders.items():
            path = beats_file(folder, system, track["track_id"])
            if not os.path.isfile(path):
                raise FileNotFoundError(f"Missing {path}: run the stage that writes {system}")
            estimate = read_beat_times(path)
            for trim in trims:
                rows.append(
                    {
                        "track_id": track["track_id"],
                        "system": system,
                        "min_beat_time": trim,
                        "ref_tempo": track.get("tempo") or tempo(reference),
                        "est_tempo": tempo(estimate),
                        "n_ref_beats": len(reference),
                        "n_est_beats": len(estimate),
                        **beat_metrics(reference, estimate, trim),
                    }
                )
    return rows


def summarise(rows, systems, trims) -> dict:
    """Mean of every summary metric per system and convention."""
    summary = {}
    for system in systems:
        summary[system] = {}
        for trim in trims:
            chosen = [r for r in rows if r["system"] == system and r["min_beat_time"] == trim]
            summary[system][convention(trim)] = {
                m: float(np.mean([r[m] for r in chosen])) for m in SUMMARY_METRICS
            }
    return summary


def markdown_table(summary, trims) -> str:
    """The summary as a markdown table, each column naming its trimming convention."""
    header = ["system"] + [f"{SHORT[m]}, {convention(t)}" for t in trims for m in SUMMARY_METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for system, by_trim in summary.items():
        cells = [f"{by_trim[convention(t)][m]:.3f}" for t in trims for m in SUMMARY_METRICS]
        lines.append("| " + " | ".join([SYSTEM_NAMES[system]] + cells) + " |")
    return "\n".join(lines)


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
    rows = score_tracks(manifest, folders, trims)
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
    report = {
        "dataset": manifest.dataset,
        "split": manifest.split,
        "n_tracks": len(manifest),
        "n_unreadable": len(unreadable),
        "n_without_reference": len(manifest.skipped) - len(unreadable),
        "f_measure_window_s": 0.07,
        "conventions": {convention(t): {"min_beat_time": t} for t in trims},
        "throughput": throughput,
        "systems": summary,
    }
    write_json(report, os.path.join(exp_dir, "summary.json"), indent=1)
    table = markdown_table(summary, trims)
    text = (
        f"Zero-shot beat tracking on {manifest.dataset} ({manifest.split}): {len(manifest)} tracks, "
        f"{len(unreadable)} unreadable files left out. Means over tracks; F-measure within "
        f"±70 ms.\n\n{table}\n"
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
