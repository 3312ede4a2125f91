"""Stage 1 (demo only): listening-test items from the rendered corpus, rated by SIMULATED listeners.

Every demo track gives ``segments_per_track`` mixes of ``segment_seconds`` (all stems but one
pitched stem, the loudest one that plays in every segment), and each mix four items that pair it
with a stem:

- ``aligned``: the track's own stem over the same span;
- ``shifted``: the same stem starting ``k + u`` beats late (``k`` in {0, 1}, ``u`` drawn in
  ``[shift_beats_min, shift_beats_max]``): off the beat;
- ``transposed``: the aligned stem pitch-shifted (``librosa.effects.pitch_shift``) by a number of
  semitones drawn from ``semitones``;
- ``other_track``: the chosen stem of another demo track, same segment.

The simulated listener hears coherence as rhythm and key fit, computed from how the item was
built (not from the audio): ``fit = (beat_f + key_score) / 2``, where ``beat_f`` is
``mir_eval.beat.f_measure`` of the stem's beats against the mix's beats over the item (70 ms
window) and ``key_score`` is ``mir_eval.key.weighted_score`` of the stem's key against the mix's
(1 same, 0.5 a fifth up, 0.3 relative, 0.2 parallel, 0 otherwise). Listener ``l`` (own offset
``o_l ~ N(0, offset_sd)`` and gain ``g_l ~ U[scale_low, scale_high]``) rates a random subset of
``items_per_listener`` items ``round(c + o_l + g_l * h * (4 (fit - 1/2) + e))``, clipped to the
scale, with ``c`` and ``h`` the centre and a quarter of the range of the scale and
``e ~ N(0, listener_noise)``.

Writes ``<out_dir>/`` at once (a temporary folder renamed when complete; kept when it exists):
``items.csv`` (``item,mix,stem`` and how each item was built, its ``fit`` included),
``ratings.csv`` (``listener,item,rating``), ``audio/`` (16 kHz float WAV) and ``info.json``.
"""

import argparse
import csv
import os

import librosa
import mir_eval
import numpy as np
import soundfile as sf
import yaml
from common import SIMULATED_NOTE, band_manifest, parse_with_conf

from phalar_asteroid.data.datasets.stems import load_stems
from phalar_asteroid.data.silence import SILENCE_DB, rms_db
from phalar_asteroid.utils.io import atomic_output, write_json

SAMPLE_RATE = 16000
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
CONDITIONS = ("aligned", "shifted", "transposed", "other_track")
#: Headroom of a stem above the silence floor for it to count as playing in a segment.
ACTIVE_MARGIN_DB = 20.0

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data_root", required=True, help="Embedded band corpus root (holds slakh/)")
parser.add_argument("--split", default="valid,test", help="Band corpus split(s) to use")
parser.add_argument("--out_dir", required=True, help="Where the demo test goes")


def track_key(track: dict) -> str:
    """The key written in a rendered track's ``metadata.yaml``, as mir_eval spells it."""
    folder = os.path.dirname(os.path.dirname(track["stems"][0]["path"]))
    with open(os.path.join(folder, "metadata.yaml")) as fhandle:
        key = yaml.safe_load(fhandle).get("key")
    if not key:
        raise ValueError(f"{folder}/metadata.yaml: no key (render the corpus again)")
    return key.replace(":", " ")


def transpose_key(key: str, semitones: int) -> str:
    """``"F major"`` moved up by ``semitones``, in sharp spelling."""
    tonic, mode = key.split()
    pitch = mir_eval.key.KEY_TO_SEMITONE[tonic.lower()]
    return f"{PITCH_CLASSES[(pitch + semitones) % 12]} {mode}"


def segment_starts(duration: float, seconds: float, room: float, count: int) -> np.ndarray:
    """``count`` evenly spaced starts that leave ``room`` seconds after each segment."""
    last = duration - seconds - room
    if last < 0:
        return np.zeros(0)
    return np.linspace(0.0, last, count) if count > 1 else np.zeros(1)


def prepare_track(track: dict, demo: dict) -> dict:
    """A track's audio, beats, key, chosen stem and segments (None when no stem plays in all)."""
    audio = load_stems(track, 0, track["duration"], sample_rate=SAMPLE_RATE)
    beats = np.loadtxt(track["beats_path"], ndmin=2)[:, 0]
    period = float(np.median(np.diff(beats)))
    room = (1 + demo["shift_beats_max"]) * period
    starts = segment_starts(
        audio.shape[1] / SAMPLE_RATE, demo["segment_seconds"], room, demo["segments_per_track"]
    )
    length = round(demo["segment_seconds"] * SAMPLE_RATE)
    if len(starts) == 0:
        return None
    spans = [audio[:, round(s * SAMPLE_RATE) :][:, :length] for s in starts]
    levels = np.min([rms_db(span) for span in spans], axis=0)  # quietest segment, per stem
    pitched = [i for i, stem in enumerate(track["stems"]) if not stem.get("is_drum")]
    best = max(pitched, key=lambda i: levels[i], default=None)
    if best is None or levels[best] < SILENCE_DB + ACTIVE_MARGIN_DB:
        return None
    return dict(
        track_id=track["track_id"],
        audio=audio,
        stem=best,
        stem_name=track["stems"][best]["name"],
        beats=beats,
        period=period,
        key=track_key(track),
        starts=starts,
    )


def clip_at(track: dict, row: int, start: float, seconds: float) -> np.ndarray:
    """``seconds`` of one stem row (or of all rows but ``-row - 1``) from ``start``."""
    first, length = round(start * SAMPLE_RATE), round(seconds * SAMPLE_RATE)
    if row >= 0:
        return track["audio"][row, first : first + length]
    keep = np.arange(len(track["audio"])) != -row - 1
    return track["audio"][keep, first : first + length].sum(axis=0)


def beats_in(track: dict, start: float, seconds: float) -> np.ndarray:
    """A track's beats between ``start`` and ``start + seconds``, in the item's time."""
    beats = track["beats"] - start
    return beats[(beats >= 0) & (beats < seconds)]


def build_items(tracks: list, demo: dict, rng) -> tuple:
    """Every item's description and the audio to write (``{file name: waveform}``)."""
    seconds, items, audio = demo["segment_seconds"], [], {}
    semitones = [int(s) for s in str(demo["semitones"]).split(",")]
    for t, track in enumerate(tracks):
        others = [o for o in range(len(tracks)) if o != t]
        for k, start in enumerate(track["starts"]):
            base = f"{track['track_id']}_s{k}"
            mix_file = f"{base}_mix.wav"
            audio[mix_file] = clip_at(track, -track["stem"] - 1, start, seconds)
            mix_beats = beats_in(track, start, seconds)
            for condition in CONDITIONS:
                source, stem_start, shift, steps = track, start, 0.0, 0
                if condition == "shifted":
                    shift = rng.integers(0, 2) + rng.uniform(
                        demo["shift_beats_min"], demo["shift_beats_max"]
                    )
                    stem_start = start + shift * track["period"]
                elif condition == "other_track":
                    source = tracks[others[rng.integers(len(others))]]
                    stem_start = source["starts"][min(k, len(source["starts"]) - 1)]
                stem = clip_at(source, source["stem"], stem_start, seconds)
                key = source["key"]
                if condition == "transposed":
                    steps = int(rng.choice(semitones))
                    stem = librosa.effects.pitch_shift(stem, sr=SAMPLE_RATE, n_steps=steps)
                    key = transpose_key(key, steps)
                stem_file = f"{base}_{condition}_stem.wav"
                audio[stem_file] = stem
                beat_f = mir_eval.beat.f_measure(mix_beats, beats_in(source, stem_start, seconds))
                key_score = mir_eval.key.weighted_score(track["key"], key)
                items.append(
                    dict(
                        item=f"{base}_{condition}",
                        mix=f"audio/{mix_file}",
                        stem=f"audio/{stem_file}",
                        condition=condition,
                        mix_track=track["track_id"],
                        stem_track=source["track_id"],
                        stem_name=source["stem_name"],
                        start_seconds=round(float(start), 3),
                        shift_beats=round(float(shift), 3),
                        semitones=steps,
                        mix_key=track["key"],
                        stem_key=key,
                        beat_f=round(float(beat_f), 4),
                        key_score=float(key_score),
                        fit=round(float((beat_f + key_score) / 2), 4),
                    )
                )
    return items, audio


def simulate_ratings(items: list, demo: dict, scale: tuple, rng) -> list:
    """``(listener, item, rating)`` rows of the simulated listeners (see the module docstring)."""
    low, high = scale
    centre, quarter = (low + high) / 2, (high - low) / 4
    fit = np.array([item["fit"] for item in items])
    per_listener = min(demo["items_per_listener"], len(items))
    rows = []
    for listener in range(demo["n_listeners"]):
        offset = rng.normal(0.0, demo["offset_sd"])
        gain = rng.uniform(demo["scale_low"], demo["scale_high"])
        chosen = np.sort(rng.choice(len(items), per_listener, replace=False))
        noise = rng.normal(0.0, demo["listener_noise"], per_listener)
        latent = centre + offset + gain * quarter * (4 * (fit[chosen] - 0.5) + noise)
        ratings = np.clip(np.round(latent), low, high)
        rows += [(f"sim{listener:02d}", items[i]["item"], int(r)) for i, r in zip(chosen, ratings)]
    return rows


def write_csv(path: str, header, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fhandle:
        writer = csv.writer(fhandle)
        writer.writerow(header)
        writer.writerows(rows)


def main(conf):
    args, demo, statistics = conf["main_args"], conf["demo"], conf["statistics"]
    if os.path.isfile(os.path.join(args["out_dir"], "ratings.csv")):
        print(f"{args['out_dir']}: demo test kept (delete the folder to build it again)")
        return
    manifest = band_manifest(args["data_root"], args["split"])
    tracks = [t for t in map(lambda track: prepare_track(track, demo), manifest) if t]
    if len(tracks) < 2:
        raise ValueError(
            f"{args['data_root']} ({args['split']}): {len(tracks)} usable tracks of "
            f"{len(manifest)}, the demo needs two (render more with --n_tracks, or longer ones)"
        )
    rng = np.random.default_rng(demo["demo_seed"])
    items, audio = build_items(tracks, demo, rng)
    scale = (statistics["scale_min"], statistics["scale_max"])
    ratings = simulate_ratings(items, demo, scale, rng)
    with atomic_output(args["out_dir"], folder=True) as tmp:
        os.makedirs(os.path.join(tmp, "audio"))
        for name, wav in audio.items():
            sf.write(os.path.join(tmp, "audio", name), wav, SAMPLE_RATE, subtype="FLOAT")
        write_csv(os.path.join(tmp, "items.csv"), list(items[0]), [i.values() for i in items])
        write_csv(os.path.join(tmp, "ratings.csv"), ("listener", "item", "rating"), ratings)
        info = {
            "note": SIMULATED_NOTE,
            "simulated": True,
            "data_root": os.path.abspath(args["data_root"]),
            "split": args["split"],
            "tracks": [t["track_id"] for t in tracks],
            "n_items": len(items),
            "n_ratings": len(ratings),
            "demo": demo,
            "scale": scale,
        }
        write_json(info, os.path.join(tmp, "info.json"), indent=1)
    counts = {c: sum(i["condition"] == c for i in items) for c in CONDITIONS}
    print(
        f"{args['out_dir']}: {len(items)} items from {len(tracks)} tracks {counts}, "
        f"{len(ratings)} ratings by {demo['n_listeners']} simulated listeners"
    )
    print(SIMULATED_NOTE)


if __name__ == "__main__":
    main(parse_with_conf(parser))
