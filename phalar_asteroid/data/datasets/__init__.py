"""Dataset loaders built on mirdata's core classes, and the manifests derived from them.

From a data root to a manifest::

    from phalar_asteroid.data.datasets import build_manifest
    manifest = build_manifest("slakh16k", "/data", "train")   # list of plain dicts
    manifest.save("slakh16k_train.json")

``initialize(name, data_home)`` gives the mirdata ``Dataset`` itself (tracks, multitracks,
``validate()``). See :mod:`.registry` for the folder layout and split names.
"""

from .common import PACKAGE_INDEX_DIR, DatasetError
from .manifest import Manifest, probe_audio
from .registry import (
    DATASETS,
    build_manifest,
    canonical_split,
    data_home,
    dataset_licenses,
    ensure_index,
    initialize,
)

__all__ = [
    "DATASETS",
    "PACKAGE_INDEX_DIR",
    "DatasetError",
    "Manifest",
    "build_manifest",
    "canonical_split",
    "data_home",
    "dataset_licenses",
    "ensure_index",
    "initialize",
    "probe_audio",
]
