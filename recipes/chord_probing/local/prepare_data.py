"""Stage 1: the recordings to probe, each with a chord annotation file.

Embedded band corpus (default): the Slakh-layout band tracks under ``--data_root`` with the
``chords.lab`` written from the score. GuitarSet (``--guitarset_root``, the common data root whose
``guitarset/`` folder is mirdata's ``data_home``): the 180 comp takes (``_solo_`` excluded) with
their microphone audio, labelled with mirdata's ``leadsheet_chords`` (the first JAMS chord
annotation), written to ``<out_dir>/chords/<track_id>.lab`` (docs/data.md#guitarset,
docs/protocols.md#chord-probing).

Unreadable audio files are skipped and counted. Writes ``<out_dir>/manifest.json`` (kept if it
exists) whose entries all have a ``chords_path``.
"""

import argparse
import os

from phalar_asteroid.data.datasets import Manifest, build_manifest, data_home, initialize
from phalar_asteroid.recipe_utils import band_manifest
from phalar_asteroid.utils.io import atomic_output

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data_root", default="", help="Embedded corpus root (holds slakh/)")
parser.add_argument("--guitarset_root", default="", help="Data root holding guitarset/")
parser.add_argument("--split", default="all", help="Band corpus split: train, valid, test or all")
parser.add_argument("--out_dir", required=True, help="Where manifest.json goes")


def chord_band_manifest(root: str, split: str, index_dir: str) -> Manifest:
    """The embedded band tracks, each of which must carry its ``chords.lab``."""
    manifest = band_manifest(root, split, index_dir)
    missing = [t["track_id"] for t in manifest if not t.get("chords_path")]
    if missing:
        raise FileNotFoundError(f"Band tracks without chords.lab under {root}: {missing}")
    return manifest


def write_lab(path: str, intervals, labels) -> None:
    """A ``start end label`` chord file, written under a temporary name and renamed."""
    with atomic_output(path) as tmp:
        with open(tmp, "w") as fhandle:
            for (start, end), label in zip(intervals, labels):
                fhandle.write(f"{start:.6f}\t{end:.6f}\t{label}\n")


def guitarset_manifest(root: str, out_dir: str, index_dir: str) -> Manifest:
    """GuitarSet comp takes with their lead-sheet chords written as ``.lab`` files."""
    home = data_home("guitarset", root)
    if not os.path.isdir(os.path.join(home, "annotation")):
        raise FileNotFoundError(f"No GuitarSet tree under --guitarset_root {root} ({home})")
    manifest = build_manifest(
        "guitarset", root, "all", strict=False, index_dir=index_dir, checksums=False
    )
    dataset = initialize("guitarset", home, index_dir=index_dir, checksums=False)
    tracks = []
    for track in manifest:
        if track["mode"] != "comp":
            continue
        chords = dataset.track(track["track_id"]).leadsheet_chords
        path = os.path.join(out_dir, "chords", f"{track['track_id']}.lab")
        write_lab(path, chords.intervals, chords.labels)
        tracks.append({**track, "chords_path": os.path.abspath(path)})
    return Manifest(tracks, "guitarset", "comp", manifest.skipped)


def main(args):
    path = os.path.join(args.out_dir, "manifest.json")
    if not os.path.isfile(path):
        index_dir = os.path.join(args.out_dir, "indexes")
        if args.guitarset_root:
            manifest = guitarset_manifest(args.guitarset_root, args.out_dir, index_dir)
        elif args.data_root:
            manifest = chord_band_manifest(args.data_root, args.split, index_dir)
        else:
            raise ValueError("Give --data_root (embedded band corpus) or --guitarset_root")
        manifest.save(path)
    manifest = Manifest.load(path)
    print(f"{path}: {len(manifest)} recordings, {len(manifest.skipped)} unreadable")


if __name__ == "__main__":
    main(parser.parse_args())
