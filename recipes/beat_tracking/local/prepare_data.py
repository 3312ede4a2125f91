"""Stage 1: the list of tracks to track, with their reference beats.

Embedded band corpus (default): the Slakh-layout band tracks under ``--data_root`` with the
``beats.beats`` written from the score. GTZAN (``--gtzan_root``, the common data root whose
``gtzan_genre/`` folder is mirdata's ``data_home``, holding ``gtzan_genre/genres/`` and
``gtzan_tempo_beat-main/``): mirdata's ``gtzan_genre`` beats (docs/data.md#gtzan); its tempo is
read from the ``.bpm`` file by our loader (docs/data.md#gtzan-tempo-on-numpy-2).

Unreadable audio files (e.g. the Kaggle copy of ``jazz.00054``) are skipped and counted; tracks
without a reference beat file are kept out as well and counted separately. Writes
``<out_dir>/manifest.json`` (kept if it exists).
"""

import argparse
import os

from phalar_asteroid.data.datasets import Manifest, build_manifest
from phalar_asteroid.recipe_utils import band_manifest

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--data_root", default="", help="Embedded corpus root (holds slakh/)")
parser.add_argument("--gtzan_root", default="", help="Data root holding gtzan_genre/ (GTZAN)")
parser.add_argument("--split", default="all", help="Band corpus split: train, valid, test or all")
parser.add_argument("--out_dir", required=True, help="Where manifest.json goes")


def gtzan_manifest(root: str, index_dir: str) -> Manifest:
    """All GTZAN clips under the common data root ``root``."""
    audio = os.path.join(root, "gtzan_genre", "gtzan_genre", "genres")
    if not os.path.isdir(audio):
        raise FileNotFoundError(f"No GTZAN audio under --gtzan_root {root} (expected {audio})")
    return build_manifest(
        "gtzan_genre", root, "all", strict=False, index_dir=index_dir, checksums=False
    )


def main(args):
    path = os.path.join(args.out_dir, "manifest.json")
    if os.path.isfile(path):
        manifest = Manifest.load(path)
    else:
        index_dir = os.path.join(args.out_dir, "indexes")
        if args.gtzan_root:
            manifest = gtzan_manifest(args.gtzan_root, index_dir)
        elif args.data_root:
            manifest = band_manifest(args.data_root, args.split, index_dir)
        else:
            raise ValueError("Give --data_root (embedded band corpus) or --gtzan_root")
        without_beats = [t for t in manifest if not t.get("beats_path")]
        manifest = Manifest(
            [t for t in manifest if t.get("beats_path")],
            dataset=manifest.dataset,
            split=manifest.split,
            skipped=manifest.skipped
            + [{"track_id": t["track_id"], "error": "no reference beats"} for t in without_beats],
        )
        manifest.save(path)
    unreadable = sum(1 for s in manifest.skipped if s["error"] != "no reference beats")
    print(
        f"{path}: {len(manifest)} tracks, {unreadable} unreadable, "
        f"{len(manifest.skipped) - unreadable} without reference beats"
    )


if __name__ == "__main__":
    main(parser.parse_args())
