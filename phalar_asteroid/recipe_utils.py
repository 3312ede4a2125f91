"""Helpers shared by the recipes' stage scripts (manifests, devices); confs: :mod:`.utils.config`."""

import os

import torch

from .data.datasets import Manifest, build_manifest

SPLITS = ("train", "valid", "test")


def load_manifest(path: str) -> Manifest:
    """A recipe's track list, with a hint when the stage that writes it has not run.

    Raises:
        FileNotFoundError: naming the missing file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Missing manifest {path}: run the recipe's data stage first")
    return Manifest.load(path)


def pick_device(use_gpu: bool) -> torch.device:
    """CUDA when asked for and available (``--id`` sets CUDA_VISIBLE_DEVICES), else CPU."""
    return torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")


def band_manifest(root: str, split: str, index_dir: str = None) -> Manifest:
    """Band tracks (Slakh layout) of some splits, or of all three (``all``), of the embedded corpus.

    Args:
        root (str): corpus root holding ``slakh/``.
        split (str): ``train``, ``valid``, ``test``, a comma-separated list of them (e.g.
            ``valid,test``: the pieces a model trained on the train split has never heard) or
            ``all``.
        index_dir (str, optional): where the mirdata index is written.

    Returns:
        Manifest: the tracks, with the skipped ones of every split.
    """
    if not os.path.isdir(os.path.join(root, "slakh")):
        raise FileNotFoundError(f"No band corpus under {root} (expected {root}/slakh/)")
    splits = SPLITS if split == "all" else tuple(split.split(","))
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise ValueError(f"split={split!r}: expected 'all' or a comma-separated list of {SPLITS}")
    parts = [build_manifest("slakh16k", root, s, strict=False, index_dir=index_dir) for s in splits]
    return Manifest(
        [t for part in parts for t in part],
        dataset="slakh16k",
        split=split,
        skipped=[s for part in parts for s in part.skipped],
    )
