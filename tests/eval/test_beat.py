"""Zero-shot beat tracking pieces on hand-made inputs: envelope, decoders, metrics, similarity."""

import os

import numpy as np
import pytest
import torch

from phalar_asteroid.eval.beat import (
    beat_metrics,
    dbn_beats,
    dp_beats,
    onset_envelope,
    onset_strength_beats,
    similarity_map,
)
from phalar_asteroid.eval.templates import (
    click_times,
    embed_templates,
    load_templates,
    metronome_midi,
    render_templates,
    template_bpms,
)
from phalar_asteroid.models import PHALAR
from phalar_asteroid.nn.complex import to_complex


def test_onset_envelope_keeps_edges_and_drops_isolated_spikes():
    sim = np.zeros((8, 40))
    sim[2:5, 10:] = 1.0  # a step in three neighbouring tempi: d = 1 at i = 9 and 10
    sim[6, 25] = 1.0  # one isolated impulse: d = +1 at i = 24, eroded away
    env = onset_envelope(sim)
    expected = np.zeros(40)
    expected[9] = expected[10] = 3.0
    np.testing.assert_array_equal(env, expected)


def test_onset_envelope_erosion_counts_neighbours_not_the_cell():
    # Impulses placing d = +1 at (10, 10), (12, 10) and (11, 12): none of them has 3 mask cells
    # around it, but the cell (11, 11) between them does, so (as in the reference code) it
    # survives the erosion and the dilation brings the three back.
    sim = np.zeros((20, 40))
    sim[10, 11] = sim[12, 11] = sim[11, 13] = 1.0
    env = onset_envelope(sim)
    expected = np.zeros(40)
    expected[10], expected[12] = 2.0, 1.0
    np.testing.assert_array_equal(env, expected)


def test_onset_envelope_threshold_scales_with_spread():
    rng = np.random.default_rng(0)
    sim = 0.01 * rng.standard_normal((30, 200))
    sim[:, 100:] += 1.0  # the same edge in every tempo
    env = onset_envelope(sim)
    assert env.shape == (200,)
    assert set(np.flatnonzero(env > 1.0)) == {99, 100}
    assert env[np.r_[0:97, 103:200]].max() == 0.0


def test_onset_envelope_rejects_bad_shape():
    with pytest.raises(ValueError, match="n_templates, n_windows"):
        onset_envelope(np.zeros(10))


def phase_error(beats, first, period=0.5):
    """Distance of every beat to the grid ``first + k * period``."""
    phase = (beats - first) % period
    return np.minimum(phase, period - phase)


def impulse_envelope(period_frames=25, n_frames=1000, first=5):
    env = np.zeros(n_frames)
    env[first::period_frames] = 1.0
    return env


def test_dp_beats_period_and_offset():
    beats = dp_beats(impulse_envelope(), fps=50, offset=0.02)
    assert len(beats) >= 30
    np.testing.assert_allclose(np.diff(beats), 0.5, atol=1e-9)
    # impulses at frame 5 + 25 k, i.e. 0.1 + 0.5 k s, plus the 0.02 s offset
    assert phase_error(beats, 0.12).max() < 1e-9


def test_dp_beats_rejects_fractional_hop():
    with pytest.raises(ValueError, match="whole hop"):
        dp_beats(impulse_envelope(), fps=48, sample_rate=16000)


def test_dbn_beats_period_and_offset():
    beats = dbn_beats(0.5 * impulse_envelope(), fps=50, offset=0.02)
    assert np.median(np.diff(beats)) == pytest.approx(0.5, abs=1e-9)
    assert phase_error(beats, 0.12).max() < 1e-9
    assert dbn_beats(np.zeros(100), fps=50).size == 0


def test_onset_strength_baseline_on_clicks():
    sr = 16000
    wav = np.zeros(10 * sr, dtype=np.float32)
    for t in np.arange(0.25, 9.9, 0.5):
        i = int(t * sr)
        wav[i : i + 160] = np.hanning(160)
    beats = onset_strength_beats(wav, sr)
    assert np.median(np.diff(beats)) == pytest.approx(0.5, abs=0.021)


def test_beat_metrics_with_and_without_trimming():
    reference = np.arange(1.0, 11.0)  # 10 beats
    estimate = np.array([1.05, 2.1, 3.0, 4.0, 5.2, 6.0, 7.0, 8.0])
    # Untrimmed: 6 matches within 70 ms (1.05, 3, 4, 6, 7, 8); P = 6/8, R = 6/10.
    assert beat_metrics(reference, estimate, 0.0)["F-measure"] == pytest.approx(2 / 3)
    # Trimmed at 5 s: reference 5..10 (6 beats), estimate 5.2, 6, 7, 8; P = 3/4, R = 3/6.
    trimmed = beat_metrics(reference, estimate, 5.0)
    assert trimmed["F-measure"] == pytest.approx(0.6)
    assert set(trimmed) >= {"Correct Metric Level Total", "Any Metric Level Total"}
    perfect = beat_metrics(reference, reference, 0.0)
    assert perfect["F-measure"] == 1.0 and perfect["Correct Metric Level Total"] == 1.0
    # Double tempo is wrong at the correct metric level but right at any metric level; the
    # doubled reference (1, 1.5, ..., 10) has 19 beats against 20 estimated, hence 19/20.
    double = beat_metrics(reference, np.arange(1.0, 10.6, 0.5), 0.0)
    assert double["Correct Metric Level Total"] == 0.0
    assert double["Any Metric Level Total"] == pytest.approx(0.95)


def test_similarity_map_is_hermitian_all_pairs():
    torch.manual_seed(0)
    model = PHALAR(backbone_width=4, depth=3, lsp_channels=8, lsp_components=4, embed_dim=16).eval()
    a, b = torch.randn(3, 2, 16), torch.randn(5, 2, 16)
    sim = similarity_map(model, to_complex(a), to_complex(b))
    assert sim.shape == (3, 5) and sim.dtype == np.float64
    np.testing.assert_allclose(
        sim, similarity_map(model, to_complex(b), to_complex(a)).T, rtol=1e-5, atol=1e-6
    )
    with torch.no_grad():
        hermitian = model.similarity(a, b, form="hermitian").numpy()
    np.testing.assert_allclose(sim, hermitian, rtol=1e-5, atol=1e-6)


def test_metronome_templates(tmp_path):
    assert len(template_bpms()) == 211 and template_bpms(100, 102) == [100, 101, 102]
    with pytest.raises(ValueError, match="bpm_min"):
        template_bpms(120, 100)
    np.testing.assert_allclose(click_times(120), 0.02 + 0.5 * np.arange(10))
    midi = metronome_midi(120)
    (instrument,) = midi.instruments
    assert instrument.program == 115 and not instrument.is_drum
    assert {(n.pitch, n.velocity) for n in instrument.notes} == {(69, 120)}
    np.testing.assert_allclose([n.start for n in instrument.notes], click_times(120), atol=1e-3)

    paths = render_templates(str(tmp_path), [60, 150])
    waves = load_templates(str(tmp_path), [60, 150])
    assert waves.shape == (2, 80000) and waves.dtype == np.float32
    np.testing.assert_allclose(np.abs(waves).max(axis=1), 0.8, atol=1e-3)
    # Energy arrives with each click: the 60 BPM template is silent before 0.02 s and between
    # the end of a click's decay and the next click.
    onsets = np.flatnonzero(np.abs(waves[0]) > 0.05)
    assert onsets[0] / 16000 == pytest.approx(0.02, abs=0.005)
    assert np.abs(waves[0, : int(0.019 * 16000)]).max() < 1e-3
    mtime = os.stat(paths[0]).st_mtime_ns
    render_templates(str(tmp_path), [60, 150])  # cached: not rendered again
    assert os.stat(paths[0]).st_mtime_ns == mtime
    with pytest.raises(FileNotFoundError, match="metronome_090bpm.wav"):
        load_templates(str(tmp_path), [90])


def test_embed_templates_matches_single_clips():
    torch.manual_seed(0)
    model = PHALAR(backbone_width=2, depth=3, lsp_channels=8, lsp_components=4, embed_dim=16)
    waves = torch.randn(3, 80000) * 0.1
    batched = embed_templates(model, waves, batch_size=2)
    assert batched.shape == (3, 16) and batched.is_complex() and not model.training
    with torch.no_grad():
        single = model.embed_spectrogram(model.spectrogram(waves[1:2]), lsp_padding="right")
    torch.testing.assert_close(batched[1:2], to_complex(single), rtol=1e-4, atol=1e-5)
