"""Pieces shared by the dataset loaders: the error types, tree listing, tolerant metadata parsing,
index entries and files, the locally indexed Dataset base, and the optional beat / chord
annotations of the embedded corpus.

Reading goes through ``smart_open`` (as in mirdata), so a track's files may live at any URI it
opens. Building an index or a manifest lists folders and probes files, so it needs a local tree.
"""

import hashlib
import json
import os
from typing import Callable, Optional, TextIO

import numpy as np
import yaml
from mirdata import annotations, core, io, validate
from smart_open import open as smart_open

from ...utils.io import write_json

#: Committed indexes live here (never inside site-packages: only written on explicit request).
PACKAGE_INDEX_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "indexes")

#: Optional annotation files of the embedded (rendered) corpus, in the track folder.
BEATS_FILENAME = "beats.beats"
CHORDS_FILENAME = "chords.lab"


class DatasetError(ValueError):
    """A dataset tree, metadata file or audio file is unusable. The message names the path."""


class MissingFileError(DatasetError, FileNotFoundError):
    """A file of the dataset is missing: mirdata's ``IOError`` contract for loaders, and still a
    :class:`DatasetError` for the manifest builder, which reports or skips the track."""


def visible_entries(folder: str) -> list:
    """Sorted names in ``folder``, without hidden files such as macOS ``._*`` and ``.DS_Store``.

    Args:
        folder (str): directory to list.

    Returns:
        list: sorted entry names; empty when ``folder`` does not exist.
    """
    if not os.path.isdir(folder):
        return []
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


def visible_dirs(folder: str) -> list:
    """Sorted visible sub-directory names of ``folder`` (see :func:`visible_entries`)."""
    return [n for n in visible_entries(folder) if os.path.isdir(os.path.join(folder, n))]


def parse_yaml(text: str):
    """Parse YAML text with the safe loader."""
    return yaml.safe_load(text)


def load_metadata(path: str, parse: Callable[[str], object], required_key: str) -> dict:
    """Read a metadata file, retrying once without its first character.

    Some copies of the Slakh 16 kHz archive carry a stray leading character in ``metadata.yaml``
    (docs/data.md#stray-character-in-slakh-metadata). That character either breaks parsing or glues
    itself to the first key, so a parse counts as good only when it gives a mapping holding
    ``required_key``.

    Args:
        path (str): metadata file (YAML or JSON).
        parse (callable): text -> object, e.g. :func:`parse_yaml` or ``json.loads``.
        required_key (str): a key every valid file of this kind has at its top level.

    Returns:
        dict: the parsed metadata.

    Raises:
        MissingFileError: when the file is missing.
        DatasetError: when it cannot be parsed even after the retry.
    """
    try:
        with smart_open(path, "rb") as fhandle:
            raw = fhandle.read()
    except FileNotFoundError:
        raise MissingFileError(f"missing metadata file: {path}") from None
    # A junk byte that is not UTF-8 becomes U+FFFD, which the retry strips like any other char.
    text = raw.decode("utf-8-sig", errors="replace")
    for candidate in (text, text[1:]):
        try:
            data = parse(candidate)
        except (yaml.YAMLError, ValueError):
            continue
        if isinstance(data, dict) and required_key in data:
            return data
    raise DatasetError(f"unparsable metadata file (no '{required_key}' key): {path}")


def try_load_metadata(path: str, parse: Callable[[str], object], required_key: str):
    """Like :func:`load_metadata` but returns None instead of raising (index building)."""
    try:
        return load_metadata(path, parse, required_key)
    except DatasetError:
        return None


class IndexEntries:
    """Builds ``[relative_path, md5]`` index entries, hashing each file at most once.

    Args:
        data_home (str): the dataset's mirdata ``data_home``; paths are relative to it.
        checksums (bool): compute md5s with :func:`mirdata.validate.md5`. Without them the entries
            hold ``None`` and ``Dataset.validate()`` reports every file as an invalid checksum.
    """

    def __init__(self, data_home: str, checksums: bool = True):
        self.data_home = data_home
        self.checksums = checksums
        self._md5 = {}

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` (relative to ``data_home``) is an existing file."""
        return os.path.isfile(os.path.join(self.data_home, rel))

    def expected(self, rel: str) -> list:
        """Entry for a file the dataset must have: kept even when missing, so that
        ``validate()`` and the manifest builder report it."""
        if rel not in self._md5:
            present = self.checksums and self.exists(rel)
            self._md5[rel] = validate.md5(os.path.join(self.data_home, rel)) if present else None
        return [rel, self._md5[rel]]

    def optional(self, rel: str) -> list:
        """Entry for a file that may legitimately be absent: ``[None, None]`` when it is."""
        return self.expected(rel) if self.exists(rel) else [None, None]


def default_index_dir(data_home: str) -> str:
    """Per-tree index folder in the user cache (``$XDG_CACHE_HOME`` or ``~/.cache``).

    The folder name hashes the absolute ``data_home`` so that two trees of the same dataset (say
    the real one and a rendered one) never share an index.

    Args:
        data_home (str): the dataset's mirdata ``data_home``.

    Returns:
        str: ``<cache>/phalar_asteroid/indexes/<hash>``.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha1(os.path.abspath(data_home).encode("utf-8")).hexdigest()[:16]
    return os.path.join(cache, "phalar_asteroid", "indexes", digest)


def local_indexes(filename: str, version: str) -> dict:
    """A mirdata ``INDEXES`` mapping with one index and no URL, for :class:`LocalDataset`.

    ``core.Index`` without a URL points at a ``tests/indexes`` folder beside mirdata
    (docs/data.md#sample-indexes):
    :class:`LocalDataset` replaces that folder right after construction.

    Args:
        filename (str): index file name.
        version (str): version name; ``"default"`` aliases it.

    Returns:
        dict: ``{"default": version, version: core.Index}``.
    """
    return {"default": version, version: core.Index(filename=filename)}


def _file_entries(index: dict):
    """Every ``[path, md5]`` entry of an index (the ``tracks`` lists of multitracks excluded)."""
    for group in ("tracks", "multitracks"):
        for files in index.get(group, {}).values():
            yield from (entry for key, entry in files.items() if key != "tracks")


def index_needs_build(path: str, checksums: bool) -> bool:
    """Whether the index file is missing, or lacks the md5s that are asked for.

    An index built with md5s has one for every file present at the time, so one with none at all
    was built without them (or over a tree with no file, which is rebuilt at no cost).

    Args:
        path (str): index file.
        checksums (bool): whether md5s are needed.

    Returns:
        bool: True when the index must be (re)built.
    """
    if not os.path.isfile(path):
        return True
    if not checksums:
        return False
    with open(path, encoding="utf-8") as fhandle:
        index = json.load(fhandle)
    return not any(md5 is not None for _, md5 in _file_entries(index))


def build_index(
    make_index: Callable[[str, bool], dict], data_home: str, path: str, checksums: bool
):
    """Index the local tree at ``data_home`` with a loader's ``make_index`` and write it to ``path``.

    The index holds mirdata's keys only (``version``, ``tracks``, ``multitracks``), since
    ``Dataset.validate()`` returns one dict per top-level key.
    """
    write_json(make_index(data_home, checksums), path, indent=1, sort_keys=True)


class LocalDataset(core.Dataset):
    """A mirdata ``Dataset`` over an index that its loader's ``make_index`` builds from the tree.

    Without ``index_dir`` the index lives in the tree's folder of the user cache
    (:func:`default_index_dir`). A missing index is built, with md5s, on first use, so that
    ``Dataset(data_home).track_ids`` works as for a mirdata loader once the data is in place;
    without the data the error says what to run.

    Args:
        data_home (str or None): the dataset's mirdata ``data_home`` (None: mirdata's default).
        version (str): index version (``"default"`` aliases ``index_version``).
        index_dir (str or None): folder holding the index file.
        index_filename (str): index file name.
        index_version (str): the index's version name.
        make_index (callable): ``(data_home, checksums) -> dict``, the loader's index builder.
        **kwargs: ``core.Dataset`` arguments (``name``, ``track_class``, ``bibtex``, ...).
    """

    def __init__(
        self, data_home, version, index_dir, index_filename, index_version, make_index, **kwargs
    ):
        indexes = local_indexes(index_filename, index_version)
        super().__init__(data_home, version, indexes=indexes, **kwargs)
        # data_home is resolved (mirdata's default when None) only now.
        folder = default_index_dir(self.data_home) if index_dir is None else index_dir
        self._index_data.indexes_dir = folder
        self.index_path = self._index_data.get_path()
        self._make_index = make_index

    @core.cached_property
    def _index(self) -> dict:
        if not os.path.isfile(self.index_path):
            try:
                build_index(self._make_index, self.data_home, self.index_path, checksums=True)
            except DatasetError as err:
                raise FileNotFoundError(
                    f"No {self.name} index at {self.index_path} and none can be built ({err}). "
                    f"Put the data under {self.data_home} ({self._download_info}), then run "
                    f"phalar_asteroid.data.datasets.initialize({self.name!r}, {self.data_home!r})"
                ) from None
        with open(self.index_path, encoding="utf-8") as fhandle:
            return json.load(fhandle)


#: Asteroid-style licence dicts of the embedded corpus: its rendered tracks carry these instead
#: of the licences of the dataset whose layout they take (see :func:`corpus_of`).
EMBEDDED_LICENSES = [
    {
        "title": "music21 corpus",
        "title_link": "https://www.music21.org/music21docs/about/referenceCorpus.html",
        "author": "music21 contributors",
        "author_link": "https://www.music21.org",
        "license": "public-domain scores",
        "license_link": "https://www.music21.org/music21docs/about/referenceCorpus.html",
        "non_commercial": False,
    },
    {
        "title": "TimGM6mb soundfont",
        "title_link": "https://github.com/craffel/pretty-midi",
        "author": "Tim Brechbill",
        "author_link": "https://musescore.org",
        "license": "GPL-2.0 (as distributed with MuseScore)",
        "license_link": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
        "non_commercial": False,
    },
]


def corpus_of(beats_path: Optional[str], chords_path: Optional[str]) -> str:
    """``"embedded"`` for a track rendered from the embedded corpus, else ``"original"``.

    Only the rendered trees carry ``beats.beats`` / ``chords.lab``; the real MoisesDB, Slakh and
    CocoChorales releases have neither, so their presence identifies the corpus (and its
    licences, :data:`EMBEDDED_LICENSES`).
    """
    return "original" if beats_path is None and chords_path is None else "embedded"


def relative_split(rel_path: str) -> str:
    """Second component of an index path (``<root>/<split>/<track>/...``): the split folder."""
    return os.path.normpath(rel_path).split(os.sep)[1]


@io.coerce_to_string_io
def load_beats(fhandle: TextIO) -> annotations.BeatData:
    """Load a GTZAN-format beat file: ``time<TAB>position_in_bar`` (second column optional).

    Args:
        fhandle (str or file-like): path or handle of a ``.beats`` file.

    Returns:
        BeatData: beat times in seconds, positions as ``bar_index`` (1 = downbeat) or None.
    """
    table = np.loadtxt(fhandle, ndmin=2)
    positions = table[:, 1].astype(int) if table.shape[1] > 1 else None
    return annotations.BeatData(table[:, 0], "s", positions, "bar_index")


@io.coerce_to_string_io
def load_chords(fhandle: TextIO) -> annotations.ChordData:
    """Load a ``.lab`` chord file: ``start<TAB>end<TAB>HarteLabel`` per line.

    Args:
        fhandle (str or file-like): path or handle of a ``.lab`` file.

    Returns:
        ChordData: intervals in seconds and Harte labels.
    """
    rows = [line.split() for line in fhandle if line.strip()]
    intervals = np.array([[float(r[0]), float(r[1])] for r in rows]).reshape(-1, 2)
    return annotations.ChordData(intervals, "s", [r[2] for r in rows], "harte")


class ScoreAnnotations:
    """Mixin for MultiTracks: the beats and chords the embedded-corpus renderer writes beside a
    track's audio (``beats_path`` / ``chords_path``; None, hence no annotation, for real data)."""

    @core.cached_property
    def beats(self):
        """BeatData or None: beat times and positions in the bar, from the score."""
        return load_beats(self.beats_path)

    @core.cached_property
    def chords(self):
        """ChordData or None: one Harte label per beat span, from the score."""
        return load_chords(self.chords_path)
