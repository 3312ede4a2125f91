"""Metronome templates for zero-shot beat tracking (docs/protocols.md#metronome-templates).

One 5 s woodblock click track per integer tempo (30–240 BPM by default), rendered offline through
the embedded corpus's synthesiser (``midirenderer`` with the ``TimGM6mb.sf2`` soundfont inside
``pretty_midi``) instead of the reference's FluidSynth with GeneralUser-GS, so no system library
is needed. The sounds therefore differ slightly from the reference's templates.
"""

import os

import numpy as np
import pretty_midi
import soundfile as sf
import torch
from tqdm import tqdm

from ..data.render import SAMPLE_RATE, build_midi, synthesize
from ..utils.io import atomic_output

#: General MIDI program 115 (0-based): Woodblock.
WOODBLOCK = 115
#: 125 quarter notes per minute at the renderer's 960 ticks per quarter is 2000 ticks/s, so the
#: 0.02 s first click falls exactly on a tick.
MIDI_TEMPO = 125.0


def template_bpms(bpm_min: int = 30, bpm_max: int = 240, step: int = 1) -> list:
    """Integer tempi from ``bpm_min`` to ``bpm_max`` inclusive, ``step`` apart (211 by default)."""
    if not 0 < bpm_min <= bpm_max:
        raise ValueError(f"Need 0 < bpm_min <= bpm_max, got bpm_min={bpm_min}, bpm_max={bpm_max}")
    if int(step) < 1:
        raise ValueError(f"Need a template step >= 1 BPM, got {step}")
    return list(range(int(bpm_min), int(bpm_max) + 1, int(step)))


def template_rows(bpms, chosen) -> np.ndarray:
    """Rows of a tempo × time similarity map (templates ``bpms``) that hold the ``chosen`` tempi.

    Lets a smaller template set be tried on a stored map without embedding anything again.

    Args:
        bpms (array-like): tempo of each row of the map.
        chosen (array-like): tempi to keep, e.g. :func:`template_bpms` with another range or step.

    Returns:
        np.ndarray: int64 row indices, in the order of ``chosen``.

    Raises:
        ValueError: naming the chosen tempi the map does not hold.
    """
    row_of = {int(bpm): row for row, bpm in enumerate(np.asarray(bpms).tolist())}
    missing = [int(bpm) for bpm in chosen if int(bpm) not in row_of]
    if missing:
        raise ValueError(f"No template for {missing} BPM in the map ({len(row_of)} templates)")
    return np.array([row_of[int(bpm)] for bpm in chosen], dtype=np.int64)


def click_times(bpm: float, duration: float = 5.0, first_click: float = 0.02) -> np.ndarray:
    """Onset times of a metronome: ``first_click + k * 60 / bpm`` before ``duration``.

    Returns:
        np.ndarray: click times in seconds.
    """
    period = 60.0 / bpm
    return first_click + period * np.arange(int(np.ceil((duration - first_click) / period)))


def metronome_midi(
    bpm: float,
    duration: float = 5.0,
    first_click: float = 0.02,
    program: int = WOODBLOCK,
    pitch: int = 69,
    velocity: int = 120,
) -> pretty_midi.PrettyMIDI:
    """A one-note-per-beat MIDI metronome (A4 at velocity 120 on the woodblock by default).

    Each note is held until the next click, as the reference's synthesiser loop does.

    Args:
        bpm (float): clicks per minute.
        duration (float): length in seconds.
        first_click (float): time of the first click in seconds.
        program (int): 0-based General MIDI program.
        pitch (int): MIDI note number.
        velocity (int): MIDI velocity.

    Returns:
        pretty_midi.PrettyMIDI: the metronome.
    """
    times = click_times(bpm, duration, first_click)
    instrument = pretty_midi.Instrument(program=program, name="metronome")
    ends = np.minimum(np.append(times[1:], duration), duration)
    instrument.notes = [
        pretty_midi.Note(velocity=velocity, pitch=pitch, start=float(s), end=float(e))
        for s, e in zip(times, ends)
    ]
    return build_midi([instrument], tempo=MIDI_TEMPO, duration=duration)


def render_metronome(
    bpm: float, duration: float = 5.0, first_click: float = 0.02, peak: float = 0.8
) -> np.ndarray:
    """Renders a metronome to mono 16 kHz audio, peak-normalised.

    Args:
        bpm (float): clicks per minute.
        duration (float): length in seconds (the render is cut or zero-padded to it).
        first_click (float): time of the first click.
        peak (float): absolute peak after normalisation.

    Returns:
        np.ndarray: float32 ``(round(duration * 16000),)``.
    """
    audio = synthesize(
        metronome_midi(bpm, duration, first_click), int(round(duration * SAMPLE_RATE))
    )
    top = np.abs(audio).max()
    if top == 0:
        raise RuntimeError(f"The {bpm} BPM metronome rendered silent")
    return (audio * (peak / top)).astype(np.float32)


def template_path(folder: str, bpm: int) -> str:
    """Path of the cached template WAV of one tempo."""
    return os.path.join(folder, f"metronome_{int(bpm):03d}bpm.wav")


def render_templates(
    folder: str, bpms, duration: float = 5.0, first_click: float = 0.02, peak: float = 0.8
) -> list:
    """Renders the missing templates of ``bpms`` into ``folder`` (16-bit WAV, temp + rename).

    Args:
        folder (str): cache folder.
        bpms (iterable of int): tempi.
        duration (float): template length in seconds.
        first_click (float): time of the first click.
        peak (float): peak amplitude.

    Returns:
        list of str: the WAV paths, in the order of ``bpms``.
    """
    os.makedirs(folder, exist_ok=True)
    paths = [template_path(folder, bpm) for bpm in bpms]
    missing = [(bpm, path) for bpm, path in zip(bpms, paths) if not os.path.isfile(path)]
    for bpm, path in tqdm(missing, desc="metronome templates"):
        audio = render_metronome(bpm, duration, first_click, peak)
        with atomic_output(path) as tmp:
            sf.write(tmp, audio, SAMPLE_RATE, subtype="PCM_16")
    return paths


def load_templates(folder: str, bpms) -> np.ndarray:
    """Reads cached templates.

    Returns:
        np.ndarray: float32 ``(len(bpms), samples)``.

    Raises:
        FileNotFoundError: naming the first missing template (run :func:`render_templates`).
        ValueError: when a template has the wrong rate or the lengths differ.
    """
    waves = []
    for bpm in bpms:
        path = template_path(folder, bpm)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Missing metronome template {path}: render it first")
        audio, rate = sf.read(path, dtype="float32")
        if rate != SAMPLE_RATE or audio.ndim != 1:
            raise ValueError(f"{path}: expected mono {SAMPLE_RATE} Hz, got {rate} Hz {audio.shape}")
        waves.append(audio)
    if len({len(w) for w in waves}) > 1:
        raise ValueError(f"Templates in {folder} differ in length")
    return np.stack(waves)


@torch.no_grad()
def embed_templates(model, waves, batch_size: int = 32) -> torch.Tensor:
    """Embeds all templates from one spectrogram batch, with right LSP padding (as the windows).

    The spectrogram (and so a ``db_floor="batch"`` floor) is computed over all templates at once,
    as in the reference; only the backbone runs in chunks of ``batch_size`` to bound memory.

    Args:
        model (PHALAR): the model, put in eval mode here.
        waves (np.ndarray or torch.Tensor): ``(n_templates, samples)`` at the model's rate.
        batch_size (int): templates per backbone call.

    Returns:
        torch.Tensor: complex ``(n_templates, dim)`` embeddings (the layout of ``embed``) on the
        CPU.
    """
    model.eval()
    spec = model.spectrogram(model.prepare_input(waves))
    emb = model.embed_spectrogram(spec, lsp_padding="right", batch_size=batch_size)
    return model.to_user_layout(emb).cpu()
