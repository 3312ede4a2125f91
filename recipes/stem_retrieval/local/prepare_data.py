"""Stage 1: manifests of every split and the fixed retrieval lists (docs/protocols.md#fixed-lists).

Writes, under ``--out_dir``:

- ``manifests/<dataset>_<split>.json`` for train, valid and test;
- ``lists/<dataset>_test_<protocol>.json``: the test lists (seeds × queries, K = 8/16/64);
- ``lists/<dataset>_valid_other-track.json``: the fixed validation pairs (seed 0).

Existing files are kept (delete them to rebuild), so the stage can be re-run after an
interruption. Dataset roots are given as ``name=root`` pairs, ``root`` being the common data root
that holds the dataset's folder (e.g. ``<root>/slakh/slakh2100_redux_16k``). A track with a bad
file stops the stage with one line naming the file, or with ``--strict false`` is skipped with a
warning and recorded in the manifest's ``skipped``.
"""

import argparse
import os

from tqdm import tqdm

from phalar_asteroid.data.datasets import DatasetError, Manifest, build_manifest
from phalar_asteroid.data.retrieval_lists import make_retrieval_lists

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--roots", required=True, help="Comma-separated name=root pairs")
parser.add_argument("--out_dir", default="data")
parser.add_argument("--protocols", default="other-track,same-track")
parser.add_argument("--seeds", default="0,1,2")
parser.add_argument(
    "--same_track_seeds", default="", help="Seeds of the same-track lists (default: --seeds)"
)
parser.add_argument("--same_track_ks", default="", help="K of the same-track lists (default: --ks)")
parser.add_argument(
    "--same_track_queries",
    type=int,
    default=0,
    help="Queries per seed of the same-track lists (default: --n_queries); the first queries of "
    "a seed do not depend on the count, so they are the first other-track queries",
)
parser.add_argument("--n_queries", type=int, default=1024, help="Test queries per seed")
parser.add_argument("--ks", default="8,16,64")
parser.add_argument("--val_queries", type=int, default=256, help="Validation pairs (seed 0)")
parser.add_argument("--seconds", type=float, default=5.0, help="Clip length of the lists")
parser.add_argument(
    "--strict",
    default="true",
    choices=("true", "false"),
    help="true: stop at the first bad track, naming its file; false: skip it with a warning",
)


def parse_roots(spec: str) -> dict:
    """``"a=/x,b=/y"`` -> ``{"a": "/x", "b": "/y"}``."""
    roots = {}
    for item in filter(None, spec.split(",")):
        if "=" not in item:
            raise ValueError(f"--roots entries are name=root, got {item!r}")
        name, root = item.split("=", 1)
        if not os.path.isdir(root):
            raise FileNotFoundError(f"Data root of {name} does not exist: {root}")
        roots[name] = root
    return roots


def build_split(name: str, root: str, split: str, strict: bool, index_dir: str) -> Manifest:
    """The manifest of one split; a bad tree or (strict) track stops the stage in one line.

    Args:
        name (str): registry name of the dataset.
        root (str): its common data root.
        split (str): ``train``, ``valid`` or ``test``.
        strict (bool): stop at a bad track instead of skipping it with a warning.
        index_dir (str): folder of the dataset's index.

    Returns:
        Manifest: the split's tracks (and the skipped ones).

    Raises:
        SystemExit: with the dataset, the split and the loader's message (which names the file).
    """
    try:
        return build_manifest(name, root, split, strict=strict, index_dir=index_dir)
    except DatasetError as err:
        hint = " (--strict false skips bad tracks)" if strict else ""
        raise SystemExit(f"{name} {split}: {err}{hint}") from None


def has_pairs(manifest) -> bool:
    return any(len(track["stems"]) >= 2 for track in manifest)


def main(args):
    ints = lambda s: tuple(int(v) for v in s.split(",") if v)  # noqa: E731
    os.makedirs(os.path.join(args.out_dir, "manifests"), exist_ok=True)
    os.makedirs(os.path.join(args.out_dir, "lists"), exist_ok=True)
    jobs = []
    for name, root in parse_roots(args.roots).items():
        index_dir = os.path.join(args.out_dir, "indexes", name)
        for split in ("train", "valid", "test"):
            path = os.path.join(args.out_dir, "manifests", f"{name}_{split}.json")
            if not os.path.isfile(path):
                build_split(name, root, split, args.strict == "true", index_dir).save(path)
            print(f"{path}: {len(Manifest.load(path))} tracks")
        for protocol in filter(None, args.protocols.split(",")):
            seeds, ks, n_queries = ints(args.seeds), ints(args.ks), args.n_queries
            if protocol.startswith("same-track"):
                # Same-track lists hold one clip per distractor: the expensive part of stage 4.
                seeds = ints(args.same_track_seeds) or seeds
                ks = ints(args.same_track_ks) or ks
                n_queries = args.same_track_queries or n_queries
            jobs.append((name, "test", protocol, seeds, n_queries, ks))
        jobs.append((name, "valid", "other-track", (0,), args.val_queries, ()))
    for name, split, protocol, seeds, n_queries, ks in tqdm(jobs, desc="retrieval lists"):
        out = os.path.join(args.out_dir, "lists", f"{name}_{split}_{protocol}.json")
        manifest = Manifest.load(os.path.join(args.out_dir, "manifests", f"{name}_{split}.json"))
        if os.path.isfile(out) or not has_pairs(manifest):
            continue
        make_retrieval_lists(
            manifest,
            out,
            protocol=protocol,
            seeds=seeds,
            n_queries=n_queries,
            ks=ks,
            seconds=args.seconds,
        )


if __name__ == "__main__":
    main(parser.parse_args())
