"""Instrumentation of rendered tracks and the taxonomies of the datasets they imitate.

Chorale tracks get CocoChorales' four ensembles (string, brass, woodwind, and random picks of the
same 13 chamber instruments by register). Band tracks get General MIDI keys, guitars, pads and
leads, an electric bass and the drum kit. The names of each program in Slakh's ``inst_class`` and
MoisesDB's ``stemName`` taxonomies are derived here from the General MIDI program families.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pretty_midi

DRUM_PROGRAM = 128  # Slakh's program_num for drum kits (General MIDI channel 10)


@dataclass(frozen=True)
class Instrument:
    """An instrument of a track.

    Attributes:
        name: file-name form, e.g. ``"violin"`` or ``"electric_bass_finger"``.
        program: 0-based General MIDI program; 128 for the drum kit.
    """

    name: str
    program: int

    @property
    def is_drum(self) -> bool:
        """Whether this is the drum kit."""
        return self.program == DRUM_PROGRAM


# CocoChorales' instruments (MIDI-DDSP's 13) with their General MIDI programs.
CHAMBER = {
    "violin": 40,
    "viola": 41,
    "cello": 42,
    "double_bass": 43,
    "flute": 73,
    "oboe": 68,
    "clarinet": 71,
    "saxophone": 65,
    "bassoon": 70,
    "trumpet": 56,
    "horn": 60,
    "trombone": 57,
    "tuba": 58,
}
# Other General MIDI programs of the same family that may voice each chamber instrument, so that
# one instrument name does not always come with one sample set. The file names keep the name.
CHAMBER_ALTERNATIVES = {
    "violin": (110, 48, 49),
    "viola": (48, 49),
    "cello": (48, 49),
    "double_bass": (32, 48),
    "flute": (72, 74, 75),
    "oboe": (69,),
    "clarinet": (64, 66),
    "saxophone": (64, 66, 67),
    "bassoon": (69, 67),
    "trumpet": (59, 61),
    "horn": (61, 62),
    "trombone": (61, 63),
    "tuba": (58, 62),
}
# Chance that a chamber instrument is voiced by one of its alternatives instead of its own program.
ALTERNATIVE_TIMBRE_PROBABILITY = 0.5
# Soprano, alto, tenor, bass instruments of the fixed ensembles.
ENSEMBLES = {
    "string": ("violin", "violin", "viola", "cello"),
    "brass": ("trumpet", "horn", "trombone", "tuba"),
    "woodwind": ("flute", "oboe", "clarinet", "bassoon"),
}
RANDOM_ENSEMBLE = "random"
# Chamber instruments whose range suits each register, for the random ensemble.
REGISTER_CHOICES = (
    ("violin", "flute", "oboe", "clarinet", "trumpet", "saxophone"),
    ("violin", "viola", "oboe", "clarinet", "saxophone", "horn", "trumpet"),
    ("viola", "cello", "clarinet", "saxophone", "horn", "trombone", "bassoon"),
    ("cello", "double_bass", "bassoon", "trombone", "tuba"),
)
BAND_LEADS = (0, 4, 26, 56, 65, 73, 80, 81)
BAND_COMPING = (0, 1, 4, 5, 16, 24, 25, 27, 29, 48, 49, 50, 61, 88, 89)
BAND_BASSES = (33, 34, 35, 38)

# Slakh's inst_class for each General MIDI family of eight programs.
SLAKH_CLASSES = (
    "Piano",
    "Chromatic Percussion",
    "Organ",
    "Guitar",
    "Bass",
    "Strings",
    "Strings (continued)",
    "Brass",
    "Reed",
    "Pipe",
    "Synth Lead",
    "Synth Pad",
    "Synth Effects",
    "Ethnic",
    "Percussive",
    "Sound Effects",
)
# MoisesDB's stemName for each General MIDI family, with the exceptions below.
MOISESDB_FAMILIES = (
    "piano",
    "other_keys",
    "other_keys",
    "guitar",
    "bass",
    "bowed_strings",
    "bowed_strings",
    "wind",
    "wind",
    "wind",
    "other_keys",
    "other_keys",
    "other",
    "other_plucked",
    "percussion",
    "other",
)
MOISESDB_EXCEPTIONS = {
    46: "other_plucked",  # orchestral harp
    47: "percussion",  # timpani
    52: "vocals",  # choir aahs
    53: "vocals",  # voice oohs
    54: "vocals",  # synth voice
    55: "other",  # orchestra hit
    109: "wind",  # bagpipe
    110: "bowed_strings",  # fiddle
    111: "wind",  # shanai
}


def voice_registers(n_voices: int) -> list[int]:
    """Register (0 soprano .. 3 bass) of each voice, spreading any number of voices over four.

    Args:
        n_voices: number of voices, top first.

    Returns:
        One register index per voice.
    """
    if n_voices == 1:
        return [0]
    return [round(i * 3 / (n_voices - 1)) for i in range(n_voices)]


def chamber_ensemble(
    n_voices: int,
    name: str,
    rng: np.random.Generator,
    timbre_rng: np.random.Generator | None = None,
) -> list[Instrument]:
    """Instruments of a CocoChorales-style ensemble for a piece's voices.

    Args:
        n_voices: number of voices, top first.
        name: ``"string"``, ``"brass"``, ``"woodwind"`` or ``"random"``.
        rng: the track's random generator (used by the random ensemble).
        timbre_rng: when given, each instrument name of the track is voiced, with probability
            ``ALTERNATIVE_TIMBRE_PROBABILITY``, by one of its ``CHAMBER_ALTERNATIVES`` programs
            (the same one for every voice of that name). A stream of its own, so that the draws
            of everything else stay as they were.

    Returns:
        One instrument per voice.
    """
    names = []
    for register in voice_registers(n_voices):
        if name == RANDOM_ENSEMBLE:
            choices = REGISTER_CHOICES[register]
            names.append(choices[int(rng.integers(len(choices)))])
        else:
            names.append(ENSEMBLES[name][register])
    programs = {instrument: CHAMBER[instrument] for instrument in names}
    if timbre_rng is not None:
        for instrument in sorted(programs):
            alternatives = CHAMBER_ALTERNATIVES[instrument]
            if timbre_rng.random() < ALTERNATIVE_TIMBRE_PROBABILITY:
                programs[instrument] = int(alternatives[timbre_rng.integers(len(alternatives))])
    return [Instrument(instrument, programs[instrument]) for instrument in names]


def band_instruments(n_voices: int, rng: np.random.Generator) -> list[Instrument]:
    """Instruments for the harmony voices of a band track: a lead on top, comping below.

    Args:
        n_voices: number of voices, top first.
        rng: the track's random generator.

    Returns:
        One instrument per voice.
    """
    programs = [int(rng.choice(BAND_LEADS))]
    programs += [int(rng.choice(BAND_COMPING)) for _ in range(n_voices - 1)]
    return [gm_instrument(program) for program in programs]


def bass_instrument(rng: np.random.Generator) -> Instrument:
    """An electric or synth bass for a band track."""
    return gm_instrument(int(rng.choice(BAND_BASSES)))


def drum_kit() -> Instrument:
    """The General MIDI standard drum kit."""
    return Instrument("drums", DRUM_PROGRAM)


def gm_instrument(program: int) -> Instrument:
    """A pitched General MIDI instrument named after its program, e.g. ``electric_piano_1``."""
    return Instrument(snake_name(pretty_midi.program_to_instrument_name(program)), program)


def snake_name(text: str) -> str:
    """Lower-case ``text`` and join its words with underscores."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def midi_program_name(instrument: Instrument) -> str:
    """General MIDI program name as Slakh writes it, ``"Drums"`` for the kit."""
    if instrument.is_drum:
        return "Drums"
    return pretty_midi.program_to_instrument_name(instrument.program)


def slakh_class(instrument: Instrument) -> str:
    """Slakh's ``inst_class`` of an instrument."""
    if instrument.is_drum:
        return "Drums"
    return SLAKH_CLASSES[instrument.program // 8]


def moisesdb_stem(instrument: Instrument) -> str:
    """MoisesDB's ``stemName`` family of an instrument."""
    if instrument.is_drum:
        return "drums"
    program = instrument.program
    return MOISESDB_EXCEPTIONS.get(program, MOISESDB_FAMILIES[program // 8])


def moisesdb_track_type(instrument: Instrument) -> str:
    """MoisesDB-style ``trackType``: ``drum_kit`` or the instrument's snake-case GM name."""
    if instrument.is_drum:
        return "drum_kit"
    return snake_name(pretty_midi.program_to_instrument_name(instrument.program))
