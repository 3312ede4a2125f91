"""Tests of the embedded corpus renderer: layouts, audio, determinism, resume and annotations."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from pathlib import Path

import librosa
import mir_eval
import numpy as np
import pytest
import soundfile
import yaml
from mirdata.datasets.gtzan_genre import load_beats
from music21 import chord, meter, note, stream

from phalar_asteroid.data.render import main, render_corpus
from phalar_asteroid.data.render_annotations import harte_label
from phalar_asteroid.eval.chords import CHORD_CLASSES
from phalar_asteroid.data.render_meter import Meter
from phalar_asteroid.data.render_score import load_piece

SEED = 4  # its first three tracks are short Bach chorales: quick to parse
N_TRACKS = 3
SECONDS = 6.0
SAMPLE_RATE = 16000
EXTRA_FIELDS = {"tempo_bpm", "key", "time_signature", "beat_unit", "source_piece"}
COCO_FIELDS = {
    "midi_file",
    "tempo",
    "ensemble",
    "instrument_name",
    "midi_program_number",
    "stem_integrated_loudness",
    "normalization_factor",
    "target_peak",
    "normalized",
    "overall_gain",
}
SLAKH_FIELDS = {
    "UUID",
    "audio_dir",
    "midi_dir",
    "normalization_factor",
    "normalized",
    "overall_gain",
    "target_peak",
    "stems",
}
SLAKH_STEM_FIELDS = {
    "audio_rendered",
    "inst_class",
    "is_drum",
    "program_num",
    "midi_program_name",
    "integrated_loudness",
    "plugin_name",
    "midi_saved",
}
MOISESDB_STEMS = {
    "vocals",
    "bass",
    "drums",
    "other",
    "guitar",
    "other_plucked",
    "percussion",
    "piano",
    "other_keys",
    "bowed_strings",
    "wind",
}
COCO_DIR = Path("cocochorales", "main_dataset")
SLAKH_DIR = Path("slakh", "slakh2100_redux_16k")
MOISES_DIR = Path("moisesdb", "moisesdb_v0.1")


def md5_tree(root: Path) -> dict[str, str]:
    """md5 of every file under ``root``, keyed by relative path."""
    return {
        str(path.relative_to(root)): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def files_under(folder: Path) -> set[str]:
    """Relative paths of the files under ``folder``."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def coco_tracks(root: Path) -> list[Path]:
    """CocoChorales-layout track folders under a corpus root."""
    return sorted((root / COCO_DIR).glob("*/*_track*"))


def slakh_tracks(root: Path) -> list[Path]:
    """Slakh-layout track folders under a corpus root."""
    return sorted((root / SLAKH_DIR).glob("*/Track*"))


def read_audio(path: Path) -> np.ndarray:
    """Samples of a 16 kHz mono file (asserting both)."""
    info = soundfile.info(path)
    assert (info.samplerate, info.channels) == (SAMPLE_RATE, 1), path
    return soundfile.read(path, dtype="float64")[0]


@pytest.fixture(scope="module")
def native(tmp_path_factory) -> tuple[Path, dict]:
    """A three-track native-layout corpus of 6 s excerpts and its render summary."""
    out = tmp_path_factory.mktemp("native")
    return out, render_corpus(out, N_TRACKS, SEED, workers=1, max_seconds=SECONDS)


def test_native_summary_and_track_folders(native):
    out, summary = native
    assert summary["tracks_planned"] == N_TRACKS
    assert summary["tracks_rendered"] == N_TRACKS
    assert summary["tracks_skipped"] == summary["tracks_failed"] == 0
    assert summary["audio_seconds"] == pytest.approx(N_TRACKS * SECONDS)
    # Track 0 is a train chorale, 1 a validation band track, 2 a test chorale.
    coco = [str(p.relative_to(out / COCO_DIR)) for p in coco_tracks(out)]
    assert [re.sub(r"^\w+?_", "ENS_", Path(p).name) for p in coco] == [
        "ENS_track000002",
        "ENS_track000001",
    ]
    assert [Path(p).parent.name for p in coco] == ["test", "train"]
    assert [str(p.relative_to(out / SLAKH_DIR)) for p in slakh_tracks(out)] == [
        "validation/Track00001"
    ]


def test_cocochorales_layout(native):
    out, _ = native
    for track in coco_tracks(out):
        metadata = yaml.safe_load((track / "metadata.yaml").read_text())
        assert set(metadata) == COCO_FIELDS | EXTRA_FIELDS
        assert metadata["ensemble"] in {"string", "brass", "woodwind", "random"}
        assert track.name.startswith(metadata["ensemble"] + "_track")
        assert (metadata["normalization_factor"], metadata["target_peak"]) == (-13.0, -1.0)
        assert metadata["normalized"] is True
        assert metadata["tempo"] == metadata["tempo_bpm"]
        voices = metadata["instrument_name"]
        assert list(voices) == list(range(len(voices))) and len(voices) >= 3
        assert set(metadata["midi_program_number"]) == set(voices)
        assert set(metadata["stem_integrated_loudness"]) == set(voices)
        stems = {f"{v}_{name}" for v, name in voices.items()}
        expected = {"metadata.yaml", "mix.wav", "mix.mid", "beats.beats", "chords.lab"}
        expected |= {f"stems_audio/{s}.wav" for s in stems} | {f"stems_MIDI/{s}.mid" for s in stems}
        assert files_under(track) == expected


def test_slakh_layout(native):
    out, _ = native
    (track,) = slakh_tracks(out)
    metadata = yaml.safe_load((track / "metadata.yaml").read_text())
    assert set(metadata) == SLAKH_FIELDS | EXTRA_FIELDS
    assert metadata["audio_dir"] == f"{track.name}/stems"
    assert metadata["midi_dir"] == f"{track.name}/MIDI"
    assert re.fullmatch(r"[0-9a-f]{32}", metadata["UUID"])
    stems = metadata["stems"]
    assert list(stems) == [f"S{i:02d}" for i in range(len(stems))]
    for entry in stems.values():
        assert set(entry) == SLAKH_STEM_FIELDS
        assert entry["audio_rendered"] and entry["midi_saved"] and entry["plugin_name"] == "None"
        assert entry["is_drum"] == (entry["program_num"] == 128)
        assert 0 <= entry["program_num"] <= 128
    classes = [entry["inst_class"] for entry in stems.values()]
    assert classes[-2:] == ["Bass", "Drums"]
    expected = {"metadata.yaml", "mix.flac", "all_src.mid", "beats.beats", "chords.lab"}
    expected |= {f"stems/{s}.flac" for s in stems} | {f"MIDI/{s}.mid" for s in stems}
    assert files_under(track) == expected


def test_stems_are_16k_mono_and_sum_to_the_mix(native):
    out, _ = native
    layouts = [(t, "stems_audio/*.wav", "mix.wav") for t in coco_tracks(out)]
    layouts += [(t, "stems/*.flac", "mix.flac") for t in slakh_tracks(out)]
    for track, pattern, mix_name in layouts:
        stems = [read_audio(path) for path in sorted(track.glob(pattern))]
        mix = read_audio(track / mix_name)
        assert all(len(s) == len(mix) == SECONDS * SAMPLE_RATE for s in stems)
        assert np.abs(mix - np.sum(stems, axis=0)).max() <= 1e-4
        assert 0.5 < np.abs(mix).max() <= 10 ** (-1 / 20) + 1e-4  # target peak -1 dBFS
        assert min(np.sqrt(np.mean(s**2)) for s in stems) > 1e-3


def test_moisesdb_layout(tmp_path):
    summary = render_corpus(tmp_path, 2, SEED, layout="moisesdb", workers=1, max_seconds=SECONDS)
    assert summary["tracks_rendered"] == 2
    songs = sorted((tmp_path / MOISES_DIR).iterdir())
    assert len(songs) == 2
    families = set()
    for song in songs:
        data = json.loads((song / "data.json").read_text())
        assert {"id", "song", "artist", "genre", "stems"} <= set(data)
        assert data["id"] == song.name and uuid.UUID(song.name)
        expected = {"data.json", "beats.beats", "chords.lab"}
        for stem in data["stems"]:
            assert set(stem) == {"id", "stemName", "tracks"}
            assert stem["stemName"] in MOISESDB_STEMS
            families.add(stem["stemName"])
            for source in stem["tracks"]:
                assert set(source) == {"id", "trackType", "type", "extension", "has_bleed"}
                assert (source["type"], source["extension"]) == ("audio/x-wav", "wav")
                expected.add(f"{stem['stemName']}/{source['id']}.wav")
                assert len(read_audio(song / f"{stem['stemName']}/{source['id']}.wav")) == (
                    SECONDS * SAMPLE_RATE
                )
        assert files_under(song) == expected
    assert {"drums", "bass"} <= families


def test_same_seed_same_bytes_other_seed_differs(native, tmp_path):
    out, _ = native
    again = tmp_path / "again"
    # Two workers, and a shorter corpus: the plan of 2 tracks is the start of the plan of 3.
    render_corpus(again, 2, SEED, workers=2, max_seconds=SECONDS)
    reference, repeat = md5_tree(out), md5_tree(again)
    assert len(repeat) > 20
    assert repeat == {path: reference[path] for path in repeat}

    other = tmp_path / "other"
    render_corpus(other, 1, SEED + 1, workers=1, max_seconds=SECONDS)
    mixes = {digest for path, digest in md5_tree(other).items() if "mix." in path}
    assert mixes and not mixes & set(reference.values())


def test_rerun_skips_finished_tracks_and_cleans_temp_folders(native, tmp_path):
    out, _ = native
    copy = tmp_path / "corpus"
    shutil.copytree(out, copy)
    stale = copy / SLAKH_DIR / "train" / ".tmp-Track00042"
    stale.mkdir(parents=True)
    (stale / "S00.flac").write_bytes(b"half written")
    shutil.rmtree(slakh_tracks(copy)[0])

    summary = render_corpus(copy, N_TRACKS, SEED, workers=1, max_seconds=SECONDS)
    assert summary["tracks_skipped"] == N_TRACKS - 1
    assert summary["tracks_rendered"] == 1
    assert summary["stale_temp_removed"] == 1
    assert not stale.exists()
    assert md5_tree(copy) == md5_tree(out)

    summary = render_corpus(copy, N_TRACKS, SEED, workers=1, max_seconds=SECONDS)
    assert (summary["tracks_skipped"], summary["tracks_rendered"]) == (N_TRACKS, 0)


def test_other_settings_in_a_finished_folder_are_refused(native):
    out, _ = native
    with pytest.raises(ValueError, match="seed"):
        render_corpus(out, N_TRACKS, SEED + 1, workers=1, max_seconds=SECONDS)


def test_beats_follow_tempo_and_time_signature(native):
    out, _ = native
    for track in coco_tracks(out) + slakh_tracks(out):
        metadata = yaml.safe_load((track / "metadata.yaml").read_text())
        beats = load_beats(str(track / "beats.beats"))
        numerator, denominator = map(int, metadata["time_signature"].split("/"))
        bar_quarters = numerator * 4 / denominator
        n_beats = round(bar_quarters / metadata["beat_unit"])
        spacing = 60.0 / metadata["tempo_bpm"] * metadata["beat_unit"]
        assert len(beats.times) >= SECONDS / spacing - 2
        assert beats.times[0] >= 0 and beats.times[-1] < SECONDS
        np.testing.assert_allclose(np.diff(beats.times), spacing, atol=2e-6)
        positions = beats.positions.astype(int)
        assert 1 in positions and set(positions) <= set(range(1, n_beats + 1))
        np.testing.assert_array_equal(positions[1:], positions[:-1] % n_beats + 1)


def test_chord_labels_are_in_the_25_class_vocabulary(native):
    out, _ = native
    vocabulary = set(CHORD_CLASSES)  # the chord probe's literal classes
    for track in coco_tracks(out) + slakh_tracks(out):
        intervals, labels = mir_eval.io.load_labeled_intervals(str(track / "chords.lab"))
        mir_eval.chord.validate(labels, labels)
        assert set(labels) <= vocabulary
        assert len({label for label in labels if label != "N"}) >= 2
        assert intervals[0, 0] == 0.0 and intervals[-1, 1] == pytest.approx(SECONDS)
        np.testing.assert_allclose(intervals[1:, 0], intervals[:-1, 1])
        assert np.all(intervals[:, 1] > intervals[:, 0])


def test_drum_onsets_land_on_the_beats(native):
    out, _ = native
    (track,) = slakh_tracks(out)
    stems = yaml.safe_load((track / "metadata.yaml").read_text())["stems"]
    (drum_id,) = [stem_id for stem_id, entry in stems.items() if entry["is_drum"]]
    drums = read_audio(track / "stems" / f"{drum_id}.flac")
    assert np.sqrt(np.mean(drums**2)) > 0.01
    onsets = librosa.onset.onset_detect(y=drums, sr=SAMPLE_RATE, hop_length=160, units="time")
    beats = load_beats(str(track / "beats.beats")).times
    errors = np.array([np.abs(onsets - beat).min() for beat in beats])
    assert np.mean(errors < 0.03) >= 0.8


def test_bad_out_names_the_path(tmp_path, capsys):
    target = tmp_path / "a_file"
    target.write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=re.escape(str(target))):
        render_corpus(target, 1, SEED)
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(target), "--n-tracks", "1"])
    assert exit_info.value.code == 2
    assert str(target) in capsys.readouterr().err


def make_part(time_signature: str, lengths: list[float], pickup: float = 0.0) -> stream.Part:
    """A one-voice part with one measure per length (quarters), the first a pickup if asked."""
    part = stream.Part()
    for number, length in enumerate(lengths):
        measure = stream.Measure(number=number)
        if number == 0:
            measure.timeSignature = meter.TimeSignature(time_signature)
            measure.paddingLeft = pickup
        measure.append(note.Note("C4", quarterLength=length))
        part.append(measure)
    return part


def test_meter_keeps_downbeats_through_pickups_and_split_bars():
    # A one-beat pickup, a full bar, a bar split in two by a repeat sign, a final 3-beat bar.
    grid = Meter.from_part(make_part("4/4", [1, 4, 2, 2, 4, 3], pickup=3))
    offsets, positions = zip(*grid.beats())
    assert offsets == tuple(float(t) for t in range(16))
    assert positions == (4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3)
    assert [grid.strength(t) for t in (1.0, 2.0, 2.5, 7.0, 9.0)] == [2, 1, 0, 1, 2]


@pytest.mark.parametrize(
    "signature, beat, positions",
    [
        ("4/2", 2.0, [1, 2, 3, 4, 1, 2, 3, 4]),
        ("6/8", 1.5, [1, 2, 1, 2]),
        ("3/4", 1.0, [1, 2, 3] * 2),
    ],
)
def test_beat_unit_follows_the_time_signature(signature, beat, positions):
    bar = meter.TimeSignature(signature).barDuration.quarterLength
    grid = Meter.from_part(make_part(signature, [bar, bar]))
    offsets, found = zip(*grid.beats())
    assert list(found) == positions
    np.testing.assert_allclose(np.diff(offsets), beat)


def test_repeats_are_expanded_before_beats_are_counted():
    # bwv104.6 has a repeated first section: 40 written quarters, 56 played.
    piece = load_piece("bach/bwv104.6.mxl", limit=1000.0)
    assert piece.end == pytest.approx(56.0)
    assert len(piece.meter.beats()) == 56
    assert piece.chords[-1][1] == pytest.approx(56.0)


@pytest.mark.parametrize(
    "pitches, label",
    [
        (["C4", "E4", "G4"], "C:maj"),
        (["A3", "C4", "E4", "G4"], "A:min"),
        (["B-2", "D4", "F4"], "A#:maj"),
        (["G#3", "B3", "D4"], "G#:min"),
        (["C4", "G4"], None),
    ],
)
def test_harte_label(pitches, label):
    assert harte_label(chord.Chord(pitches)) == label
