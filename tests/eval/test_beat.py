"""Zero-shot beat tracking pieces on hand-made inputs: envelope, decoders, metrics, similarity."""

import os

import numpy as np
import pytest
import torch

from phalar_asteroid.eval.beat import (
    beat_metrics,
    beat_tempo,
    dbn_beats,
    dp_beats,
    error_class,
    extend_beats,
    mean_ci,
    onset_envelope,
    onset_strength_beats,
    paired_comparison,
    similarity_map,
    smooth_envelope,
    tempo_class,
)
from phalar_asteroid.eval.templates import (
    click_times,
    embed_templates,
    load_templates,
    metronome_midi,
    render_templates,
    template_bpms,
    template_rows,
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


def test_dp_beats_tempo_prior_picks_the_metrical_level():
    # Strong impulses every 0.48 s with weak ones halfway: 62.5, 125 and 250 BPM all fit; the
    # prior's centre decides which level the DP tracks.
    env = np.zeros(1500)
    env[17::24], env[5::24] = 0.5, 1.0
    for start_bpm, period in [(60, 0.96), (120, 0.48), (240, 0.24)]:
        beats = dp_beats(env, fps=50, start_bpm=start_bpm)
        assert np.median(np.diff(beats)) == pytest.approx(period, abs=1e-9)


def test_dp_beats_tightness_trades_onsets_for_a_steady_period():
    # 40 impulses jittered by up to 4 frames around a 0.5 s grid.
    onsets = 5 + 25 * np.arange(40) + np.random.default_rng(0).integers(-4, 5, 40)
    env = np.zeros(1025)
    env[onsets] = 1.0
    loose = dp_beats(env, fps=50, tightness=1.0)
    strict = dp_beats(env, fps=50, tightness=1e4)
    np.testing.assert_array_equal(np.round(loose * 50).astype(int), onsets)  # every impulse
    assert np.diff(strict).std() < 1e-9 and np.diff(loose).std() > 0.05


def test_dbn_beats_tempo_range_excludes_the_true_tempo():
    env = 0.5 * impulse_envelope()  # 120 BPM
    assert np.median(np.diff(dbn_beats(env, fps=50))) == pytest.approx(0.5, abs=1e-9)
    # With 120 BPM out of its state space the DBN can only lock to another metrical level.
    slow = dbn_beats(env, fps=50, min_bpm=40, max_bpm=80)
    assert 60 / np.median(np.diff(slow)) == pytest.approx(60, abs=1.5)


def test_smooth_envelope_spreads_an_impulse_as_a_gaussian():
    env = np.zeros(41)
    env[20] = 2.0
    smooth = smooth_envelope(env, fps=50, sigma_seconds=0.04)  # sigma = 2 frames, cut at 8
    offsets = np.arange(-8, 9)
    kernel = np.exp(-0.5 * (offsets / 2.0) ** 2)
    expected = np.zeros(41)
    expected[12:29] = 2.0 * kernel / kernel.sum()
    np.testing.assert_allclose(smooth, expected, rtol=1e-12, atol=1e-15)
    assert smooth.sum() == pytest.approx(2.0)
    np.testing.assert_array_equal(smooth_envelope(env, 50, 0.0), env)
    # Zero outside the track: half of an impulse at the first frame spills out.
    edge = smooth_envelope(np.eye(1, 41).ravel(), fps=50, sigma_seconds=0.04)
    assert edge.sum() == pytest.approx(0.5 + 0.5 * kernel[8] / kernel.sum())
    with pytest.raises(ValueError, match="sigma_seconds"):
        smooth_envelope(env, 50, -0.01)


def test_extend_beats_continues_the_last_period():
    beats = np.array([1.0, 1.5, 2.0, 2.5, 3.0])
    np.testing.assert_allclose(extend_beats(beats, 4.6), [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5])
    np.testing.assert_allclose(extend_beats(beats, 4.5), [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5])
    # The period is the median of the last intervals: an early slow one does not count.
    np.testing.assert_allclose(
        extend_beats([0.0, 1.0, 1.4, 1.8, 2.2, 2.6], 3.1, 4), [0, 1, 1.4, 1.8, 2.2, 2.6, 3.0]
    )
    np.testing.assert_array_equal(extend_beats(beats, 3.2), beats)
    np.testing.assert_array_equal(extend_beats([1.0], 9.0), [1.0])


def test_beat_tempo_is_the_median_interval():
    assert beat_tempo([0.0, 0.5, 1.0, 1.6, 2.1]) == pytest.approx(120.0)
    assert np.isnan(beat_tempo([1.0]))


@pytest.mark.parametrize(
    "estimate, expected",
    [
        (100.0, "correct"),
        (103.9, "correct"),
        (96.1, "correct"),
        (104.5, "spurious"),
        (200.0, "double"),
        (207.0, "double"),
        (50.0, "half"),
        (300.0, "triple"),
        (33.4, "third"),
        (150.0, "3/2"),
        (66.7, "2/3"),
        (125.0, "spurious"),
        (175.0, "spurious"),
        (float("nan"), "no beats"),
    ],
)
def test_tempo_class_within_four_percent(estimate, expected):
    assert tempo_class(estimate, 100.0) == expected


def test_tempo_class_of_hand_made_beat_lists():
    reference = np.arange(0.0, 20.0, 0.5)  # 120 BPM
    cases = {
        "correct": reference + 0.25,  # on the off-beat: the tempo alone is right
        "double": np.arange(0.0, 20.0, 0.25),
        "half": np.arange(0.0, 20.0, 1.0),
        "3/2": np.arange(0.0, 20.0, 1 / 3),
        "2/3": np.arange(0.0, 20.0, 0.75),
        "spurious": np.arange(0.0, 20.0, 0.6),
    }
    ref_tempo = beat_tempo(reference)
    for expected, estimate in cases.items():
        assert tempo_class(beat_tempo(estimate), ref_tempo) == expected
    # The off-beat list has the right tempo but no correct-level continuity: a phase error.
    scores = beat_metrics(reference, cases["correct"])
    cmlt, f_measure = scores["Correct Metric Level Total"], scores["F-measure"]
    assert cmlt == 0.0 and f_measure == 0.0 and error_class("correct", cmlt, f_measure) == "phase"
    # At 60 BPM, 0.1 s late is within CMLt's 17.5 % of the interval but outside F's ±70 ms:
    # still a phase error.
    slow = np.arange(0.0, 20.0, 1.0)
    late = beat_metrics(slow, slow + 0.1)
    assert late["Correct Metric Level Total"] == 1.0 and late["F-measure"] == 0.0
    assert error_class("correct", 1.0, 0.0) == "phase"
    assert error_class("correct", 0.8, 0.9) == "correct"
    assert error_class("double", 0.0, 0.0) == "double"
    with pytest.raises(ValueError, match="reference_bpm"):
        tempo_class(100.0, 0.0)
    with pytest.raises(ValueError, match="tolerance"):
        tempo_class(100.0, 100.0, tolerance=0.25)


def test_mean_ci_and_paired_comparison_over_tracks():
    values = np.array([0.2, 0.4, 0.6, 0.8])
    mean, low, high = mean_ci(values)
    assert mean == pytest.approx(0.5) and 0.2 <= low < 0.5 < high <= 0.8
    assert mean_ci(np.full(5, 0.7)) == pytest.approx((0.7, 0.7, 0.7))
    a = np.array([0.9, 0.8, 0.7, 0.6, 0.9, 0.8, 0.7, 0.9])
    b = a - np.array([0.1, 0.2, 0.1, 0.3, 0.2, 0.1, 0.2, 0.1])
    test = paired_comparison(a, b)
    assert test["diff"] == pytest.approx(0.1625) and 0.1 <= test["low"] < 0.1625 < test["high"]
    # All 8 differences positive: the exact two-sided signed-rank p is 2 / 2**8.
    assert test["p_wilcoxon"] == pytest.approx(2 / 256)
    assert (test["a_better"], test["b_better"], test["n_tracks"]) == (8, 0, 8)
    same = paired_comparison(a, a)
    assert same["p_wilcoxon"] == 1.0 and same["diff"] == 0.0
    with pytest.raises(ValueError, match="paired scores"):
        paired_comparison(a, b[:5])


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
    assert template_bpms(30, 40, step=4) == [30, 34, 38]
    with pytest.raises(ValueError, match="bpm_min"):
        template_bpms(120, 100)
    with pytest.raises(ValueError, match="step"):
        template_bpms(30, 40, step=0)
    np.testing.assert_array_equal(template_rows(template_bpms(30, 40), [32, 36, 40]), [2, 6, 10])
    with pytest.raises(ValueError, match=r"\[41\] BPM"):
        template_rows(template_bpms(30, 40), [40, 41])
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
