"""Tests of the on-disk layouts: CocoChorales, Slakh2100 and MoisesDB files and metadata."""

from __future__ import annotations

import json
import re
import uuid

import yaml
from render_fixtures import (
    MOISES_DIR,
    SAMPLE_RATE,
    SECONDS,
    SEED,
    coco_tracks,
    files_under,
    read_audio,
    slakh_tracks,
)

from phalar_asteroid.data.render import render_corpus

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
