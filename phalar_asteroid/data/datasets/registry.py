"""Registry of the dataset loaders: ``initialize`` (mirdata objects) and ``build_manifest``.

mirdata has no plugin mechanism (docs/data.md#common-conventions), so our names dispatch to our modules, which
are imported lazily. Each module provides ``SPLITS``, ``INDEX_FILENAME``, ``make_index``,
``Dataset``, ``track_ids``, ``manifest_track``, and its licence: ``LICENSE_INFO`` (mirdata's text,
also the ``license`` of its Asteroid-style ``LICENSES`` dicts).

Folders: ``root`` is the common data root and every dataset's mirdata ``data_home`` is a
sub-folder of it (docs/data.md#common-conventions)::

    <root>/moisesdb/moisesdb_v0.1/...            moisesdb
    <root>/cocochorales/main_dataset/...          cocochorales
    <root>/slakh/slakh2100_redux_16k/...          slakh16k
    <root>/gtzan_genre/gtzan_genre/genres/...     gtzan_genre
    <root>/guitarset/annotation/...               guitarset

Splits are named ``train``, ``valid`` and ``test`` whatever the dataset calls them (Slakh's
``validation`` is ``valid``); GTZAN and GuitarSet have only ``all``.
"""

import importlib
import os
import warnings
from typing import Optional

import mirdata

from .common import (
    EMBEDDED_LICENSES,
    DatasetError,
    build_index,
    default_index_dir,
    index_needs_build,
)
from .manifest import Manifest, finalize_track

#: registry name -> (module, folder under the data root)
DATASETS = {
    "moisesdb": ("moisesdb", "moisesdb"),
    "cocochorales": ("cocochorales", "cocochorales"),
    "slakh16k": ("slakh", "slakh"),
    "gtzan_genre": ("gtzan", "gtzan_genre"),
    "guitarset": ("guitarset", "guitarset"),
}

SPLIT_ALIASES = {"validation": "valid", "val": "valid"}


def _module(name: str):
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    return importlib.import_module(f"{__package__}.{DATASETS[name][0]}")


def data_home(name: str, root: str) -> str:
    """The mirdata ``data_home`` of dataset ``name`` under the common data root.

    Args:
        name (str): registry name.
        root (str): common data root.

    Returns:
        str: ``<root>/<folder>``.
    """
    _module(name)
    return os.path.join(root, DATASETS[name][1])


def canonical_split(name: str, split: str) -> str:
    """Canonical split name (``train``/``valid``/``test`` or ``all``), accepting aliases.

    Raises:
        ValueError: if the dataset has no such split.
    """
    split = SPLIT_ALIASES.get(split, split)
    splits = _module(name).SPLITS
    if split not in splits:
        raise ValueError(f"{name} has no split {split!r}; expected one of {sorted(splits)}")
    return split


def dataset_licenses(name: str, corpus: str = "original") -> list:
    """Asteroid-style licence dicts of a dataset's tracks, from its loader module.

    Args:
        name (str): registry name.
        corpus (str): the tracks' ``corpus`` (see :func:`~.common.corpus_of`); tracks rendered
            from the embedded corpus carry :data:`~.common.EMBEDDED_LICENSES` instead.

    Returns:
        list of dict: ``{"title", "title_link", "author", "author_link", "license",
        "license_link", "non_commercial"}`` per licence.
    """
    module = _module(name)
    return list(EMBEDDED_LICENSES if corpus == "embedded" else module.LICENSES)


def ensure_index(
    name: str,
    data_home: str,
    index_dir: Optional[str] = None,
    rebuild: bool = False,
    checksums: bool = True,
) -> str:
    """Build the index of a local tree unless a suitable one already exists.

    An index without md5s is rebuilt when they are asked for (see
    :func:`~.common.index_needs_build`).

    Args:
        name (str): registry name.
        data_home (str): the dataset's mirdata ``data_home``.
        index_dir (str or None): where the index lives; None means a per-tree folder in the
            user cache (:func:`~.common.default_index_dir`). Pass the package's ``indexes/``
            folder (``PACKAGE_INDEX_DIR``) only to produce an index to commit.
        rebuild (bool): rebuild even if the index file exists.
        checksums (bool): compute md5s (needed for ``validate()``; slow on full datasets).

    Returns:
        str: the index directory.
    """
    module = _module(name)
    index_dir = default_index_dir(data_home) if index_dir is None else index_dir
    path = os.path.join(index_dir, module.INDEX_FILENAME)
    if rebuild or index_needs_build(path, checksums):
        build_index(module.make_index, data_home, path, checksums)
    return index_dir


def initialize(
    name: str,
    data_home: str,
    index_dir: Optional[str] = None,
    rebuild: bool = False,
    checksums: bool = True,
):
    """Load a dataset as a mirdata ``core.Dataset``, indexing the local tree first if needed.

    Names outside :data:`DATASETS` go to ``mirdata.initialize`` unchanged (with mirdata's own,
    downloaded index: see docs/data.md#index-location).

    Args:
        name (str): ``moisesdb``, ``cocochorales``, ``slakh16k``, ``gtzan_genre``,
            ``guitarset``, or any other mirdata dataset.
        data_home (str): the dataset's mirdata ``data_home`` (see :func:`data_home`).
        index_dir (str or None): see :func:`ensure_index`.
        rebuild (bool): rebuild the index even if it exists.
        checksums (bool): compute md5s when building the index.

    Returns:
        mirdata.core.Dataset: the dataset; ``validate()`` checks the tree against the index.
    """
    if name not in DATASETS:
        return mirdata.initialize(name, data_home)
    index_dir = ensure_index(name, data_home, index_dir, rebuild, checksums)
    return _module(name).Dataset(data_home, index_dir=index_dir)


def build_manifest(
    name: str,
    root: str,
    split: str,
    strict: bool = True,
    index_dir: Optional[str] = None,
    rebuild_index: bool = False,
    checksums: bool = False,
) -> Manifest:
    """Build the validated manifest of one dataset split.

    Every stem is checked for existence and probed with ``soundfile`` (no md5s). Bad tracks
    (empty folder, missing or unparsable metadata, missing, corrupt, truncated or empty audio)
    raise :class:`DatasetError` naming the path, or with ``strict=False`` are skipped with a
    warning and recorded in ``manifest.skipped``.

    Args:
        name (str): registry name.
        root (str): common data root (see the module docstring).
        split (str): ``train``, ``valid``, ``test`` (aliases accepted) or ``all``.
        strict (bool): raise on the first bad track instead of skipping it.
        index_dir (str or None): see :func:`ensure_index`.
        rebuild_index (bool): rebuild the index even if it exists.
        checksums (bool): compute md5s when building the index (off: manifests only need the
            existence and ``soundfile`` checks, and hashing a full dataset is slow).

    Returns:
        Manifest: the track entries, sorted by track id.
    """
    split = canonical_split(name, split)
    module = _module(name)
    dataset = initialize(name, data_home(name, root), index_dir, rebuild_index, checksums)
    tracks, skipped = [], []
    for track_id in module.track_ids(dataset, module.SPLITS[split]):
        try:
            entry = finalize_track(name, module.manifest_track(dataset, track_id))
        except DatasetError as err:
            if strict:
                raise
            warnings.warn(f"{name}: skipping track {track_id}: {err}")
            skipped.append({"track_id": track_id, "error": str(err)})
            continue
        tracks.append({**entry, "split": split})
    if skipped:
        warnings.warn(f"{name} {split}: skipped {len(skipped)} of {len(tracks) + len(skipped)}")
    return Manifest(tracks, dataset=name, split=split, skipped=skipped)
