import json

import numpy as np
import pytest
from data_fixtures import (
    CHORALE_PROGRESSION,
    RAMP_FRAMES,
    RATE,
    SPARSE_SECONDS,
    chorale_stems,
    decode_ramp,
    make_cocochorales,
)

from phalar_asteroid.data.datasets import build_manifest
from phalar_asteroid.data.retrieval_lists import (
    ListPairDataset,
    load_candidate,
    load_lists,
    make_retrieval_lists,
)

BAR = 2.0  # seconds: 4/4 at 120 BPM in the chorale fixture
BEAT = 0.5


@pytest.fixture
def coco_test(coco_root, index_dir):
    return build_manifest("cocochorales", coco_root, "test", index_dir=index_dir)


@pytest.fixture(scope="module")
def chorales(chorale_root, tmp_path_factory):
    index_dir = str(tmp_path_factory.mktemp("chorale_index"))
    return build_manifest("cocochorales", chorale_root, "test", index_dir=index_dir)


def _build(manifest, path=None, **kwargs):
    options = dict(seeds=(0, 1), n_queries=6, ks=(4, 8), seconds=0.5)
    options.update(kwargs)
    return make_retrieval_lists(manifest, path, **options)


def test_other_track_lists(coco_test, tmp_path):
    path = tmp_path / "a.json"
    lists = _build(coco_test, str(path))
    assert load_lists(str(path)) == json.loads(json.dumps(lists))
    assert (lists["format_version"], lists["dataset"], lists["split"]) == (
        1,
        "cocochorales",
        "test",
    )
    assert (lists["protocol"], lists["seconds"], lists["sample_rate"]) == ("other-track", 0.5, RATE)
    queries, candidates = lists["queries"], lists["candidates"]
    assert len(queries) == 12 and [q["seed"] for q in queries] == [0] * 6 + [1] * 6
    positives = {q["positive"] for q in queries}
    for k in ("4", "8"):
        assert len(lists["distractors"][k]) == 12
        for query, distractors, effective in zip(
            queries, lists["distractors"][k], lists["effective_k"][k]
        ):
            assert effective == len(distractors) + 1 <= int(k)
            assert len(set(distractors)) == len(distractors)
            for index in distractors:
                assert candidates[index]["track_id"] != query["track_id"]
                assert index in positives
    assert lists["effective_k"]["4"] == [4] * 12


def test_lists_are_byte_identical_on_rebuild(coco_test, chorales, tmp_path):
    for protocol, manifest in (("other-track", coco_test), ("same-track", chorales)):
        first, second = tmp_path / f"{protocol}1.json", tmp_path / f"{protocol}2.json"
        _build(manifest, str(first), protocol=protocol, seconds=2.0)
        _build(manifest, str(second), protocol=protocol, seconds=2.0)
        assert first.read_bytes() == second.read_bytes()
        _build(manifest, str(first), protocol=protocol, seconds=2.0)
        assert first.read_bytes() == second.read_bytes()
    different = _build(coco_test, seeds=(5,))
    assert different["queries"] != _build(coco_test, seeds=(0,))["queries"]


def test_candidates_load_the_listed_stems_at_the_offset(coco_test):
    lists = _build(coco_test, n_queries=20, seeds=(0,))
    by_id = {t["track_id"]: t for t in coco_test}
    names = [s["name"] for s in coco_test[0]["stems"]]
    in_silence = 0
    for query in lists["queries"]:
        assert not set(query["anchor_stems"]) & set(query["positive_stems"])
        frame = int(round(query["offset"] * RATE))
        for side in ("anchor", "positive"):
            entry = lists["candidates"][query[side]]
            assert entry["offset"] == query["offset"] and entry["stems"] == query[f"{side}_stems"]
            clip = load_candidate(by_id, entry, lists["seconds"])
            mask, offset = decode_ramp(clip)
            assert offset == frame
            assert mask == sum(1 << names.index(name) for name in entry["stems"])
        # Silence filter: the sparse stem is never drawn while it is silent.
        if frame + 0.5 * RATE <= SPARSE_SECONDS * RATE:
            in_silence += 1
            assert names[3] not in query["anchor_stems"] + query["positive_stems"]
        assert 0 <= frame <= RAMP_FRAMES - 0.5 * RATE
    assert in_silence >= 3

    pairs = ListPairDataset(lists, coco_test)
    anchor, positive = pairs[0]
    assert anchor.shape == positive.shape == (RATE // 2,)


def _chord_at(t):
    return CHORALE_PROGRESSION[int(t // BAR) % len(CHORALE_PROGRESSION)][0]


@pytest.mark.parametrize("protocol", ["same-track", "same-track-offgrid"])
def test_same_track_lists(chorales, protocol):
    lists = _build(chorales, protocol=protocol, seconds=2.0, n_queries=8)
    candidates = lists["candidates"]
    shifted = 0
    for k in ("4", "8"):
        for query, distractors in zip(lists["queries"], lists["distractors"][k]):
            for index in distractors:
                entry = candidates[index]
                assert entry["track_id"] == query["track_id"]
                assert entry["stems"] == query["positive_stems"]
                assert 0 <= entry["offset"] <= 16.0 - 2.0
                shift = entry["offset"] - query["offset"]
                assert abs(shift) >= 2 * BAR - BEAT
                beats = abs(shift) / BEAT
                fraction = beats - np.floor(beats)
                if protocol == "same-track":
                    bars = abs(shift) / BAR
                    assert abs(bars - round(bars)) < 1e-3
                    # Different harmony: never a whole cycle of the 4-chord progression.
                    labels = [_chord_at(query["offset"] + u) for u in (0.1, 1.1)]
                    assert labels != [_chord_at(entry["offset"] + u) for u in (0.1, 1.1)]
                else:
                    assert 0.25 - 1e-3 <= fraction <= 0.75 + 1e-3
                shifted += 1
    assert shifted >= 20
    assert max(lists["effective_k"]["8"]) >= 4


def test_same_track_without_annotations(tmp_path):
    """Beats from librosa (4/4 assumed) and harmony from chroma when no annotation files exist."""
    root = str(tmp_path / "plain")
    make_cocochorales(root, {"test": [216001, 216002]}, chorale_stems)
    manifest = build_manifest("cocochorales", root, "test", index_dir=str(tmp_path / "idx"))
    assert all(t["beats_path"] is None and t["chords_path"] is None for t in manifest)
    lists = _build(manifest, protocol="same-track", seconds=2.0, n_queries=4, seeds=(0,))
    shifts = [
        lists["candidates"][index]["offset"] - query["offset"]
        for query, distractors in zip(lists["queries"], lists["distractors"]["8"])
        for index in distractors
    ]
    assert len(shifts) >= 6
    for shift in shifts:
        # Whole estimated bars (within one 32 ms frame), never a full progression cycle (8 s).
        assert abs(abs(shift) / BEAT - round(abs(shift) / BEAT)) < 0.07
        assert abs(abs(shift) - 8.0) > 0.1 and abs(shift) >= 2 * BAR - 0.1


def test_bad_arguments(coco_test, coco_root, index_dir):
    with pytest.raises(ValueError, match="protocol"):
        _build(coco_test, protocol="in-batch")
    train = build_manifest("cocochorales", coco_root, "train", index_dir=index_dir)
    with pytest.raises(ValueError, match="one dataset split"):
        _build(list(train) + list(coco_test))


def test_lists_with_too_few_candidates_warn(coco_test, recwarn):
    # One track: no other-track distractor, every query a trivial hit at every K.
    with pytest.warns(UserWarning) as caught:
        lists = _build(coco_test[:1])
    assert lists["effective_k"] == {"4": [1] * 12, "8": [1] * 12}
    message = str(caught[0].message)
    for fragment in ("cocochorales test", "1 track", "K=4: 12 of 12", "K=8: 12 of 12", "K 1"):
        assert fragment in message, message
    _build(coco_test, ks=(4,))  # two tracks, enough distractors for K=4: silent
    assert not [w for w in recwarn if "effective K" in str(w.message)]
