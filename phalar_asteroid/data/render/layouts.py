"""Write rendered tracks in the on-disk layouts of CocoChorales, Slakh2100 and MoisesDB.

The native layout puts chorale tracks in CocoChorales' layout and band tracks in Slakh2100's
(redux, 16 kHz); the ``moisesdb`` layout puts every track in MoisesDB's. Each track folder also
holds ``beats.beats`` and ``chords.lab``, and its metadata file carries the score-derived fields
(tempo_bpm, key, time_signature, beat_unit, source_piece). Stored stems already include the
overall gain, so every mix is the plain sum of its stems.
"""

from __future__ import annotations

import json
import os
import posixpath
import uuid

import pretty_midi
import yaml

from .annotations import write_beats, write_chords
from .instruments import midi_program_name, moisesdb_stem, moisesdb_track_type, slakh_class
from .plan import TrackPlan
from .synth import NORMALIZATION_FACTOR, TARGET_PEAK, midi_bytes, write_audio
from .track import RenderedTrack

LAYOUTS = ("native", "moisesdb")
COCOCHORALES_ROOT = ("cocochorales", "main_dataset")
SLAKH_ROOT = ("slakh", "slakh2100_redux_16k")
MOISESDB_ROOT = ("moisesdb", "moisesdb_v0.1")
SLAKH_SPLITS = {"train": "train", "valid": "validation", "test": "test"}
# uuid5 namespace of the embedded corpus: ids depend only on the plan, never on the machine.
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "phalar_asteroid/data/render")
ARTISTS = {
    "bach": "Johann Sebastian Bach",
    "palestrina": "Giovanni Pierluigi da Palestrina",
    "haydn": "Joseph Haydn",
    "mozart": "Wolfgang Amadeus Mozart",
}
GENRES = {"chorale": "classical", "band": "pop", "slow_band": "pop"}


def layout_roots(out_dir: str, layout: str) -> list[str]:
    """Folders whose children are track folders in a layout.

    Args:
        out_dir: corpus root.
        layout: ``"native"`` or ``"moisesdb"``.

    Returns:
        The split folders (native) or the MoisesDB song folder.
    """
    if layout == "moisesdb":
        return [os.path.join(out_dir, *MOISESDB_ROOT)]
    coco = [os.path.join(out_dir, *COCOCHORALES_ROOT, split) for split in SLAKH_SPLITS]
    slakh = [os.path.join(out_dir, *SLAKH_ROOT, split) for split in SLAKH_SPLITS.values()]
    return coco + slakh


def track_dir(out_dir: str, layout: str, plan: TrackPlan) -> str:
    """Final folder of a track.

    Args:
        out_dir: corpus root.
        layout: ``"native"`` or ``"moisesdb"``.
        plan: the track's plan.

    Returns:
        e.g. ``cocochorales/main_dataset/train/string_track000001``,
        ``slakh/slakh2100_redux_16k/validation/Track00002`` or
        ``moisesdb/moisesdb_v0.1/<song uuid>`` under ``out_dir``.
    """
    if layout == "moisesdb":
        return os.path.join(out_dir, *MOISESDB_ROOT, str(_song_uuid(plan)))
    if plan.flavour == "chorale":
        name = f"{plan.ensemble}_track{plan.number:06d}"
        return os.path.join(out_dir, *COCOCHORALES_ROOT, plan.split, name)
    return os.path.join(out_dir, *SLAKH_ROOT, SLAKH_SPLITS[plan.split], f"Track{plan.number:05d}")


def write_track(folder: str, track: RenderedTrack, layout: str, name: str) -> None:
    """Write a track's files into an existing, empty folder.

    Args:
        folder: where to write (a temporary folder that is renamed afterwards).
        track: the rendered track.
        layout: ``"native"`` or ``"moisesdb"``.
        name: the track folder's final name (Slakh records it in its metadata).
    """
    if layout == "moisesdb":
        _write_moisesdb(folder, track)
    elif track.plan.flavour == "chorale":
        _write_cocochorales(folder, track)
    else:
        _write_slakh(folder, track, name)
    write_beats(os.path.join(folder, "beats.beats"), track.beats)
    write_chords(os.path.join(folder, "chords.lab"), track.chords)


def _write_cocochorales(folder: str, track: RenderedTrack) -> None:
    """CocoChorales: ``mix.wav``, ``mix.mid``, ``stems_audio/``, ``stems_MIDI/``, metadata."""
    os.mkdir(os.path.join(folder, "stems_audio"))
    os.mkdir(os.path.join(folder, "stems_MIDI"))
    for voice, stem in enumerate(track.stems):
        stem_name = f"{voice}_{stem.instrument.name}"
        write_audio(os.path.join(folder, "stems_audio", f"{stem_name}.wav"), stem.audio)
        _write_midi(os.path.join(folder, "stems_MIDI", f"{stem_name}.mid"), stem.midi)
    write_audio(os.path.join(folder, "mix.wav"), track.mix)
    _write_midi(os.path.join(folder, "mix.mid"), track.midi)
    metadata = {
        "midi_file": "mix.mid",
        "tempo": track.tempo,
        "ensemble": track.plan.ensemble,
        "instrument_name": {v: stem.instrument.name for v, stem in enumerate(track.stems)},
        "midi_program_number": {v: stem.instrument.program for v, stem in enumerate(track.stems)},
        "stem_integrated_loudness": {
            v: _rounded(stem.loudness) for v, stem in enumerate(track.stems)
        },
        "normalization_factor": NORMALIZATION_FACTOR,
        "target_peak": TARGET_PEAK,
        "normalized": True,
        "overall_gain": _rounded(track.overall_gain),
        **track.annotation_fields(),
    }
    _write_yaml(os.path.join(folder, "metadata.yaml"), metadata)


def _write_slakh(folder: str, track: RenderedTrack, name: str) -> None:
    """Slakh2100: ``mix.flac``, ``all_src.mid``, ``stems/SNN.flac``, ``MIDI/SNN.mid``, metadata."""
    os.mkdir(os.path.join(folder, "stems"))
    os.mkdir(os.path.join(folder, "MIDI"))
    stems = {}
    for index, stem in enumerate(track.stems):
        stem_id = f"S{index:02d}"
        write_audio(os.path.join(folder, "stems", f"{stem_id}.flac"), stem.audio)
        _write_midi(os.path.join(folder, "MIDI", f"{stem_id}.mid"), stem.midi)
        stems[stem_id] = {
            "audio_rendered": True,
            "inst_class": slakh_class(stem.instrument),
            "integrated_loudness": _rounded(stem.loudness),
            "is_drum": stem.instrument.is_drum,
            "midi_program_name": midi_program_name(stem.instrument),
            "midi_saved": True,
            # Slakh writes "None" for patches that are not plug-in presets.
            "plugin_name": "None",
            "program_num": stem.instrument.program,
        }
    write_audio(os.path.join(folder, "mix.flac"), track.mix)
    _write_midi(os.path.join(folder, "all_src.mid"), track.midi)
    metadata = {
        "UUID": _song_uuid(track.plan).hex,
        "audio_dir": f"{name}/stems",
        "midi_dir": f"{name}/MIDI",
        "normalization_factor": NORMALIZATION_FACTOR,
        "normalized": True,
        "overall_gain": _rounded(track.overall_gain),
        "stems": stems,
        "target_peak": TARGET_PEAK,
        **track.annotation_fields(),
    }
    _write_yaml(os.path.join(folder, "metadata.yaml"), metadata)


def _write_moisesdb(folder: str, track: RenderedTrack) -> None:
    """MoisesDB: ``data.json`` and ``<stemName>/<source uuid>.wav``, one stem entry per family."""
    song = _song_uuid(track.plan)
    families: dict[str, list[dict]] = {}
    for index, stem in enumerate(track.stems):
        family = moisesdb_stem(stem.instrument)
        source = uuid.uuid5(song, f"source/{index}")
        os.makedirs(os.path.join(folder, family), exist_ok=True)
        write_audio(os.path.join(folder, family, f"{source}.wav"), stem.audio)
        families.setdefault(family, []).append(
            {
                "id": str(source),
                "trackType": moisesdb_track_type(stem.instrument),
                "type": "audio/x-wav",
                "extension": "wav",
                "has_bleed": False,
            }
        )
    composer, title = _composer_and_title(track.plan.piece)
    data = {
        "id": str(song),
        "song": f"{title} ({track.plan.ensemble})",
        "artist": ARTISTS[composer],
        "genre": GENRES[track.plan.flavour],
        "stems": [
            {"id": str(uuid.uuid5(song, f"stem/{family}")), "stemName": family, "tracks": tracks}
            for family, tracks in families.items()
        ],
        "split": track.plan.split,
        **track.annotation_fields(),
    }
    with open(os.path.join(folder, "data.json"), "w", encoding="utf-8") as fhandle:
        fhandle.write(json.dumps(data, indent=2) + "\n")


def _composer_and_title(piece: str) -> tuple[str, str]:
    """Composer folder and title of a corpus path, e.g. ``("haydn", "opus1no1 movement1")``."""
    parts = posixpath.splitext(piece)[0].split("/")
    return parts[0], " ".join(parts[1:])


def _song_uuid(plan: TrackPlan) -> uuid.UUID:
    """Deterministic id of a track: the same plan always gets the same uuid."""
    return uuid.uuid5(UUID_NAMESPACE, f"{plan.seed}/{plan.flavour}/{plan.number}")


def _rounded(value: float) -> float:
    """Round metadata floats so the YAML stays readable."""
    return round(float(value), 4)


def _write_midi(path: str, midi: pretty_midi.PrettyMIDI) -> None:
    """Write a standard MIDI file."""
    with open(path, "wb") as fhandle:
        fhandle.write(midi_bytes(midi))


def _write_yaml(path: str, data: dict) -> None:
    """Write YAML with sorted keys, so the bytes depend only on the content."""
    with open(path, "w", encoding="utf-8") as fhandle:
        fhandle.write(yaml.safe_dump(data, sort_keys=True, default_flow_style=False))
