"""Tiny synthetic dataset trees in the real layouts, generated into ``tmp_path``.

Ramp trees encode position and identity in the audio: stem k of a track holds
``RAMP_WEIGHTS[k] * (n + 1) / RAMP_FRAMES`` at sample n (zero where the stem is silent), so the
slope of any submix gives the set of stems it contains and its level gives the offset.
"""

import json
import os

import numpy as np
import pretty_midi
import soundfile as sf
import yaml

RATE = 16000
RAMP_SECONDS = 3.0
RAMP_FRAMES = int(RAMP_SECONDS * RATE)
RAMP_WEIGHTS = (1 / 16, 2 / 16, 4 / 16, 8 / 16)
#: The last ramp stem is silent during its first SPARSE_SECONDS.
SPARSE_SECONDS = 1.5

CHORALE_TEMPO = 120.0  # beats per minute: a bar of 4/4 lasts 2 s
CHORALE_BARS = 8
CHORALE_PROGRESSION = (
    ("C:maj", (60, 64, 67)),
    ("F:maj", (65, 69, 72)),
    ("G:maj", (67, 71, 74)),
    ("A:min", (69, 72, 76)),
)


def write_audio(path, audio, rate, subtype="FLOAT"):
    """Write ``audio`` (T,) or (T, C), creating the folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, audio, rate, subtype=subtype)


def write_yaml(path, data):
    """Write ``data`` as YAML, creating the folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fhandle:
        yaml.safe_dump(data, fhandle)


def ramp_stems(sparse_last=True):
    """(4, RAMP_FRAMES) float32 ramps; the last one silent at the start when ``sparse_last``."""
    ramp = (np.arange(RAMP_FRAMES) + 1) / RAMP_FRAMES
    stems = np.stack([w * ramp for w in RAMP_WEIGHTS]).astype(np.float32)
    if sparse_last:
        stems[-1, : int(SPARSE_SECONDS * RATE)] = 0.0
    return stems


def decode_ramp(clip):
    """Stem set (bit mask over RAMP_WEIGHTS) and native offset of a submix of ramp stems.

    Uses the end of the clip, where every stem of the set is active.
    """
    slope = (float(clip[-1]) - float(clip[-11])) / 10 * RAMP_FRAMES
    mask = int(round(slope * 16))
    weight = mask / 16
    offset = int(round(float(clip[-1]) * RAMP_FRAMES / weight - 1)) - (len(clip) - 1)
    return mask, offset


def chorale_stems(seconds_per_beat=60.0 / CHORALE_TEMPO, bars=CHORALE_BARS):
    """Three voices of a 4-chord progression, one chord per bar, a decaying note per beat."""
    n = int(bars * 4 * seconds_per_beat * RATE)
    t = np.arange(n) / RATE
    beat = int(seconds_per_beat * RATE)
    envelope = np.exp(-np.arange(beat) / (0.15 * RATE))
    stems = np.zeros((3, n), dtype=np.float32)
    for index in range(bars * 4):
        _, notes = CHORALE_PROGRESSION[(index // 4) % len(CHORALE_PROGRESSION)]
        span = slice(index * beat, (index + 1) * beat)
        for voice, pitch in enumerate(notes):
            freq = 440.0 * 2 ** ((pitch - 69) / 12)
            stems[voice, span] = 0.2 * envelope * np.sin(2 * np.pi * freq * t[span])
    return stems


def write_chorale_annotations(folder, seconds_per_beat=60.0 / CHORALE_TEMPO, bars=CHORALE_BARS):
    """``beats.beats`` (time, position in bar) and ``chords.lab`` (one chord per bar)."""
    with open(os.path.join(folder, "beats.beats"), "w") as fhandle:
        for index in range(bars * 4):
            fhandle.write(f"{index * seconds_per_beat:.6f}\t{index % 4 + 1}\n")
    bar = 4 * seconds_per_beat
    with open(os.path.join(folder, "chords.lab"), "w") as fhandle:
        for index in range(bars):
            label = CHORALE_PROGRESSION[index % len(CHORALE_PROGRESSION)][0]
            fhandle.write(f"{index * bar:.6f}\t{(index + 1) * bar:.6f}\t{label}\n")


COCO_INSTRUMENTS = ("violin", "violin", "viola", "cello")
COCO_PROGRAMS = (40, 40, 41, 42)


def make_cocochorales(root, pieces, stems_fn=ramp_stems, annotated=False):
    """CocoChorales tree under ``root/cocochorales``.

    Args:
        pieces (dict): split -> list of piece numbers.
        stems_fn (callable): () -> (n_voices, T) audio.
        annotated (bool): add ``beats.beats`` and ``chords.lab`` (embedded flavour).

    Returns:
        dict: the piece folders, keyed by piece id.
    """
    folders = {}
    for split, numbers in pieces.items():
        for number in numbers:
            piece = f"string_track{number:06d}"
            folder = os.path.join(root, "cocochorales", "main_dataset", split, piece)
            stems = stems_fn()
            for voice, audio in enumerate(stems):
                name = f"{voice}_{COCO_INSTRUMENTS[voice]}"
                write_audio(os.path.join(folder, "stems_audio", f"{name}.wav"), audio, RATE)
            write_audio(os.path.join(folder, "mix.wav"), stems.sum(axis=0), RATE)
            voices = range(len(stems))
            write_yaml(
                os.path.join(folder, "metadata.yaml"),
                {
                    "midi_file": "mix.mid",
                    "tempo": CHORALE_TEMPO,
                    "ensemble": "string",
                    "instrument_name": {v: COCO_INSTRUMENTS[v] for v in voices},
                    "midi_program_number": {v: COCO_PROGRAMS[v] for v in voices},
                    "overall_gain": 0.5,
                },
            )
            if annotated:
                write_chorale_annotations(folder)
            folders[piece] = folder
    return folders


SLAKH_STEMS = {
    "S00": {"inst_class": "Piano", "program_num": 0, "is_drum": False},
    "S01": {"inst_class": "Bass", "program_num": 33, "is_drum": False},
    "S02": {"inst_class": "Drums", "program_num": 128, "is_drum": True},
    "S03": {"inst_class": "Guitar", "program_num": 25, "is_drum": False},
}


#: Pitch of the notes in the MIDI of every Slakh stem (drums: kick and snare).
SLAKH_PITCHES = {"S00": (60, 64), "S01": (36, 38), "S02": (36, 38), "S03": (55, 59), "S04": (72,)}


def slakh_instrument(key, meta):
    """A pretty_midi instrument with one half-second note per pitch of ``SLAKH_PITCHES[key]``."""
    drum = bool(meta.get("is_drum"))
    program = 0 if drum else meta.get("program_num", 0)
    instrument = pretty_midi.Instrument(program=program, is_drum=drum, name=key)
    for index, pitch in enumerate(SLAKH_PITCHES[key]):
        start = 0.5 * index
        instrument.notes.append(pretty_midi.Note(100, pitch, start, start + 0.5))
    return instrument


def write_midi(path, instruments):
    """Write a MIDI file holding ``instruments``, creating the folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    midi.instruments.extend(instruments)
    midi.write(path)


def make_slakh(root, tracks, ext="flac", all_src=True):
    """Slakh 16 kHz tree under ``root/slakh``: 4 ramp stems plus a MIDI-only stem S04.

    Every stem has a MIDI file (notes from :data:`SLAKH_PITCHES`); ``all_src.mid`` holds them all.

    Args:
        tracks (dict): split folder name -> list of track numbers.
        ext (str): stem file extension.
        all_src (bool): write ``all_src.mid`` (optional in the index).

    Returns:
        dict: track folders keyed by ``TrackNNNNN``.
    """
    folders = {}
    for split, numbers in tracks.items():
        for number in numbers:
            name = f"Track{number:05d}"
            folder = os.path.join(root, "slakh", "slakh2100_redux_16k", split, name)
            stems_meta = {}
            for index, (key, meta) in enumerate(SLAKH_STEMS.items()):
                write_audio(
                    os.path.join(folder, "stems", f"{key}.{ext}"),
                    ramp_stems()[index],
                    RATE,
                    subtype="FLOAT" if ext == "wav" else "PCM_24",
                )
                stems_meta[key] = {"audio_rendered": True, "midi_program_name": key, **meta}
            stems_meta["S04"] = {"audio_rendered": False, "inst_class": "Sound Effects"}
            instruments = {key: slakh_instrument(key, meta) for key, meta in stems_meta.items()}
            for key, instrument in instruments.items():
                write_midi(os.path.join(folder, "MIDI", f"{key}.mid"), [instrument])
            if all_src:
                write_midi(os.path.join(folder, "all_src.mid"), list(instruments.values()))
            write_yaml(
                os.path.join(folder, "metadata.yaml"),
                {
                    "UUID": f"uuid{number}",
                    "audio_dir": "WRONG/stems",
                    "overall_gain": 0.7,
                    "stems": stems_meta,
                },
            )
            folders[name] = folder
    return folders


MOISES_STEMS = (
    ("bass", "bass_guitar", 110.0),
    ("drums", "drum_machine", 220.0),
    ("drums", "snare", 330.0),
    ("vocals", "lead_female", 440.0),
)
MOISES_RATE = 44100


def make_moisesdb(root, n_songs, seconds=2.0, splits=None):
    """MoisesDB tree under ``root/moisesdb`` with 44.1 kHz stereo sine sources.

    Args:
        n_songs (int): number of songs.
        seconds (float): source length (the last source is 10 ms shorter).
        splits (list or None): per-song ``split`` written into ``data.json`` (embedded flavour).

    Returns:
        dict: song folders keyed by song id.
    """
    folders = {}
    t = np.arange(int(seconds * MOISES_RATE)) / MOISES_RATE
    for number in range(n_songs):
        song = f"{number:08x}-0000-4000-8000-000000000000"
        folder = os.path.join(root, "moisesdb", "moisesdb_v0.1", song)
        stems = {}
        for index, (family, track_type, freq) in enumerate(MOISES_STEMS):
            source = f"src{number}-{index}"
            audio = 0.1 * np.sin(2 * np.pi * freq * t)
            if index == len(MOISES_STEMS) - 1:
                audio = audio[: -int(0.01 * MOISES_RATE)]
            stereo = np.stack([audio, 0.5 * audio], axis=1)
            write_audio(
                os.path.join(folder, family, f"{source}.wav"), stereo, MOISES_RATE, "PCM_16"
            )
            entry = {
                "id": source,
                "trackType": track_type,
                "type": "audio/x-wav",
                "extension": "wav",
                "has_bleed": index == 0,
            }
            stems.setdefault(family, []).append(entry)
        data = {
            "id": song,
            "song": f"Song {number}",
            "artist": "Nobody",
            "genre": "pop",
            "stems": [{"id": f"stem-{f}", "stemName": f, "tracks": s} for f, s in stems.items()],
        }
        if splits is not None:
            data["split"] = splits[number]
        with open(os.path.join(folder, "data.json"), "w") as fhandle:
            json.dump(data, fhandle)
        folders[song] = folder
    return folders


GTZAN_RATE = 22050


def make_gtzan(root, genres=("country", "hiphop"), per_genre=2):
    """GTZAN tree under ``root/gtzan_genre`` with beats and tempo files.

    Returns:
        list: track ids.
    """
    home = os.path.join(root, "gtzan_genre")
    ids = []
    for genre in genres:
        for number in range(per_genre):
            track_id = f"{genre}.{number:05d}"
            clicks = np.zeros(int(1.0 * GTZAN_RATE), dtype=np.float32)
            clicks[:: GTZAN_RATE // 2] = 0.5
            write_audio(
                os.path.join(home, "gtzan_genre", "genres", genre, f"{track_id}.wav"),
                clicks,
                GTZAN_RATE,
                "PCM_16",
            )
            annotation = f"gtzan_{genre}_{number:05d}"
            beats_dir = os.path.join(home, "gtzan_tempo_beat-main", "beats")
            tempo_dir = os.path.join(home, "gtzan_tempo_beat-main", "tempo")
            os.makedirs(beats_dir, exist_ok=True)
            os.makedirs(tempo_dir, exist_ok=True)
            with open(os.path.join(beats_dir, f"{annotation}.beats"), "w") as fhandle:
                fhandle.write("0.0\t1\n0.5\t2\n")
            with open(os.path.join(tempo_dir, f"{annotation}.bpm"), "w") as fhandle:
                fhandle.write("120.5\n")
            ids.append(track_id)
    return ids


GUITARSET_IDS = ("00_BN1-129-Eb_comp", "01_Jazz2-110-Bb_solo")
GUITARSET_RATE = 44100
#: MIDI pitch of the open strings, low E to high e (JAMS ``data_source`` 0..5).
GUITAR_OPEN_STRINGS = (40, 45, 50, 55, 59, 64)
#: Seconds of every fixture excerpt; each string plays one note over its second half.
GUITARSET_SECONDS = 1.0
#: Audio files: index key -> (folder, file name suffix, channels).
GUITARSET_AUDIO = {
    "audio_mic": ("audio_mono-mic", "_mic.wav", 1),
    "audio_mix": ("audio_mono-pickup_mix", "_mix.wav", 1),
    "audio_hex": ("audio_hex-pickup_original", "_hex.wav", 6),
    "audio_hex_cln": ("audio_hex-pickup_debleeded", "_hex_cln.wav", 6),
}


def _jams_string_annotations(string):
    """``pitch_contour`` (sparse JAMS arrays) and ``note_midi`` annotations of one string."""
    source = {"data_source": str(string)}
    hop = 256 / GUITARSET_RATE
    times = [round(0.5 + k * hop, 6) for k in range(10)]
    freq = 440.0 * 2 ** ((GUITAR_OPEN_STRINGS[string] - 69) / 12)
    contour = {
        "namespace": "pitch_contour",
        "annotation_metadata": source,
        "data": {
            "time": times,
            "duration": [0.0] * len(times),
            "value": [{"index": 0, "frequency": freq, "voiced": True} for _ in times],
            "confidence": [None] * len(times),
        },
    }
    note = {
        "namespace": "note_midi",
        "annotation_metadata": source,
        "data": [
            {
                "time": 0.5,
                "duration": 0.5,
                "value": float(GUITAR_OPEN_STRINGS[string]),
                "confidence": None,
            }
        ],
    }
    return [contour, note]


def guitarset_jams():
    """A JAMS document with every namespace mirdata's GuitarSet reads: ``beat_position``,
    ``chord`` (lead sheet then inferred), ``key_mode``, and per string ``pitch_contour`` and
    ``note_midi``."""
    beats = [
        {
            "time": 0.5 * k,
            "duration": 0.0,
            "value": {"position": k + 1, "measure": 1, "num_beats": 4, "beat_units": 4},
            "confidence": None,
        }
        for k in range(2)
    ]
    annotations = [
        {"namespace": "beat_position", "annotation_metadata": {}, "data": beats},
        {
            "namespace": "chord",
            "data": [{"time": 0.0, "duration": 1.0, "value": "Eb:maj7", "confidence": 1}],
        },
        {
            "namespace": "chord",
            "data": [{"time": 0.0, "duration": 1.0, "value": "Eb:maj7/3", "confidence": 1}],
        },
        {
            "namespace": "key_mode",
            "data": [{"time": 0.0, "duration": 1.0, "value": "Eb:major", "confidence": 1}],
        },
    ]
    for string in range(len(GUITAR_OPEN_STRINGS)):
        annotations.extend(_jams_string_annotations(string))
    return {"annotations": annotations, "file_metadata": {"duration": GUITARSET_SECONDS}}


def make_guitarset(root, complete=GUITARSET_IDS[:1]):
    """GuitarSet tree under ``root/guitarset``: full JAMS files and audio.

    Args:
        complete (sequence of str): ids that get every audio variant; the others have only the
            microphone audio (the other recordings are optional).

    Returns:
        str: the ``data_home``.
    """
    home = os.path.join(root, "guitarset")
    frames = int(GUITARSET_SECONDS * GUITARSET_RATE)
    for track_id in GUITARSET_IDS:
        keys = GUITARSET_AUDIO if track_id in complete else ("audio_mic",)
        for key in keys:
            folder, suffix, channels = GUITARSET_AUDIO[key]
            audio = np.full((frames, channels), 0.01, np.float32)
            path = os.path.join(home, folder, f"{track_id}{suffix}")
            write_audio(path, audio, GUITARSET_RATE, "PCM_16")
        os.makedirs(os.path.join(home, "annotation"), exist_ok=True)
        with open(os.path.join(home, "annotation", f"{track_id}.jams"), "w") as fhandle:
            json.dump(guitarset_jams(), fhandle)
    return home
