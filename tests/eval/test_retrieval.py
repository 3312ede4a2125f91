"""Retrieval metrics on hand-made scores, the list and in-batch protocols, and the baselines."""

import math

import numpy as np
import pytest
import torch

from phalar_asteroid.eval.baselines import ChromaCorrelation, OnsetCorrelation
from phalar_asteroid.eval.retrieval import (
    ModelScorer,
    accuracy_ci95,
    embed_clips,
    evaluate_in_batch,
    evaluate_list,
    paired_comparison,
    positive_ranks,
    summarize_ranks,
)
from phalar_asteroid.models import PHALAR


def test_ranks_count_ties_against_the_query():
    true = torch.tensor([5.0, 1.0, 2.0, 0.0])
    distractors = torch.tensor([[1.0, 2.0, 4.9], [1.0, 0.0, 0.0], [3.0, 2.0, 9.0], [1.0, 2.0, 3.0]])
    assert positive_ranks(true, distractors).tolist() == [1, 2, 4, 4]
    # Padding entries (mask False) never count.
    mask = torch.tensor([[True] * 3, [False, True, True], [True, False, False], [True] * 3])
    assert positive_ranks(true, distractors, mask).tolist() == [1, 1, 2, 4]


def test_summary_numbers():
    ranks = np.array([1, 1, 2, 4])
    out = summarize_ranks(ranks, np.array([4, 4, 4, 2]))
    assert out["top1"] == 0.5
    assert out["mrr"] == pytest.approx((1 + 1 + 0.5 + 0.25) / 4)
    assert out["ci95"] == pytest.approx(1.959963984540054 * math.sqrt(0.25 / 4))
    assert out["chance"] == pytest.approx((0.25 * 3 + 0.5) / 4)
    assert out["n_queries"] == 4 and out["mean_k"] == 3.5
    assert accuracy_ci95([1, 1, 1]) == (1.0, 0.0)
    with pytest.raises(ValueError):
        accuracy_ci95([])


class DotScorer:
    """Scores scalar 'embeddings' by their product: a hand-made score table."""

    def pair_scores(self, q, c):
        return q * c

    def score_matrix(self, q, c):
        return q[:, None] * c[None, :]


def _toy_list():
    # Clips 0-3 are anchors (value 1), 4-7 their positives, 8-9 extra distractors.
    candidates = [{"track_id": f"t{i}", "offset": 0.0, "stems": ["a"]} for i in range(10)]
    queries = [{"anchor": i, "positive": 4 + i, "seed": 0, "track_id": f"t{i}"} for i in range(4)]
    return {
        "candidates": candidates,
        "queries": queries,
        "ks": [3],
        "distractors": {"3": [[5, 8], [4, 9], [8, 9], []]},
        "effective_k": {"3": [3, 3, 3, 1]},
    }


def test_evaluate_list_by_hand():
    #                  anchors           positives            extras
    emb = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.9, 0.5, 0.7, 0.2, 0.6, 0.7])
    out = evaluate_list(DotScorer(), emb, _toy_list())
    # q0: 0.9 vs (0.5, 0.6) -> rank 1; q1: 0.5 vs (0.9, 0.7) -> 3; q2: 0.7 vs (0.6, 0.7) tie -> 2.
    # q3 has no distractor (effective K 1): left out.
    r = out["3"]
    assert r["n_queries"] == 3
    assert r["top1"] == pytest.approx(1 / 3)
    assert r["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 2) / 3)
    assert r["chance"] == pytest.approx(1 / 3)
    # A clip index maps the list's candidates onto a shared embedding table.
    shared = torch.cat((torch.tensor([-5.0]), emb))
    assert evaluate_list(DotScorer(), shared, _toy_list(), np.arange(1, 11)) == out


def test_in_batch_by_hand():
    lists = _toy_list()
    emb = torch.tensor([1.0, 2.0, 1.0, -1.0, 0.9, 0.5, 0.7, 0.2, 0.6, 0.7])
    out = evaluate_in_batch(DotScorer(), emb, lists, ks=[2, 3, 8])
    # K=2 groups (q0, q1): q0 row [0.9, 0.5] hit; q1 row [1.8, 1.0] miss. (q2, q3): q2 row
    # [0.7, 0.2] hit; q3 row [-0.7, -0.2] hit. K=3: one group (q0..q2), q3 dropped; positives
    # [0.9, 0.5, 0.7]: q0 hit, q1 miss, q2 (anchor 1.0) scores 0.7 < 0.9: miss.
    assert out["2"]["top1"] == 0.75 and out["2"]["n_queries"] == 4
    assert out["3"]["top1"] == pytest.approx(1 / 3) and out["3"]["n_queries"] == 3
    assert "8" not in out


def test_model_scorer_forms_and_embed_once():
    torch.manual_seed(0)
    model = PHALAR(
        hop_length=320, backbone_width=2, depth=1, lsp_channels=4, lsp_components=2, embed_dim=8
    )
    clips = torch.randn(3, 20000)
    loads = []

    def load(i):
        loads.append(i)
        return clips[i].numpy()

    scorer = ModelScorer(model, symmetric=True, batch_size=2)
    emb = embed_clips(load, 3, {"phalar": scorer}, batch_size=2)["phalar"]
    assert sorted(loads) == [0, 1, 2] and emb.shape == (3, 8) and emb.is_complex()
    sym = scorer.pair_scores(emb[[0, 1]], emb[[1, 0]])
    assert torch.allclose(sym[0], sym[1], atol=1e-6)  # s_H is symmetric
    plain = scorer.with_form(False).pair_scores(emb[[0, 1]], emb[[1, 0]])
    assert not torch.allclose(plain[0], plain[1])
    matrix = scorer.score_matrix(emb, emb)
    assert torch.allclose(matrix, matrix.T, atol=1e-6)
    assert torch.allclose(matrix[0, 1], sym[0], atol=1e-6)


def _clicks(period, shift=0, n=32000, sr=16000):
    x = np.zeros(n, dtype=np.float32)
    x[shift :: int(period * sr)] = 1.0
    return np.convolve(x, np.hanning(64).astype(np.float32), mode="same")


def test_onset_baseline_prefers_the_same_rhythm():
    base = OnsetCorrelation()
    clips = torch.from_numpy(np.stack([_clicks(0.25), _clicks(0.25, 160), _clicks(0.37)]))
    emb = base.embed(clips)
    scores = base.score_matrix(emb[:1], emb)[0]
    assert scores[0] == pytest.approx(1.0, abs=1e-5)  # identical envelopes
    assert scores[1] > 0.8 > scores[2]  # a 10 ms offset is absorbed by the lags
    assert torch.allclose(base.pair_scores(emb[[0, 0]], emb[[1, 2]]), scores[1:])


def test_chroma_baseline_prefers_the_same_harmony():
    t = np.arange(32000) / 16000
    tone = lambda f: np.sin(2 * np.pi * f * t).astype(np.float32)  # noqa: E731
    c_major = tone(261.63) + tone(329.63) + tone(392.0)
    clips = torch.from_numpy(np.stack([c_major, tone(130.81) + tone(196.0), tone(277.18)]))
    base = ChromaCorrelation()
    emb = base.embed(clips)
    scores = base.score_matrix(emb[:1], emb)[0]
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert scores[1] > scores[2]  # C and G under C major beat C#
    assert torch.allclose(base.pair_scores(emb[[0, 0]], emb[[1, 2]]), scores[1:])


def test_paired_comparison_on_hand_made_outcomes():
    a = [1, 1, 1, 0, 1]
    b = [0, 1, 0, 0, 0]
    out = paired_comparison(a, b)
    assert (out["a_only"], out["b_only"], out["n_queries"]) == (3, 0, 5)
    assert out["diff"] == pytest.approx(0.6)
    # Paired differences (1, 0, 1, 0, 1): sample sd sqrt(0.3), Wald half-width 1.96 sd / sqrt(5).
    assert out["ci95"] == pytest.approx(1.959963984540054 * 0.3**0.5 / 5**0.5)
    assert out["p_value"] == pytest.approx(0.25)  # exact McNemar: 3 of 3 discordant, two-sided
    swapped = paired_comparison(b, a)
    assert swapped["diff"] == pytest.approx(-0.6) and swapped["p_value"] == pytest.approx(0.25)


def test_paired_comparison_without_discordant_queries_and_bad_input():
    assert paired_comparison([1, 0, 1], [1, 0, 1])["p_value"] == 1.0
    with pytest.raises(ValueError, match="equal non-empty"):
        paired_comparison([1, 0], [1])


def test_evaluate_list_keeps_per_query_hits_for_paired_tests():
    lists = {
        "ks": [2],
        "candidates": [{}] * 4,
        "queries": [{"anchor": 0, "positive": 1}, {"anchor": 2, "positive": 3}],
        "distractors": {"2": [[3], [1]]},
        "effective_k": {"2": [2, 2]},
    }

    class DotScorer:
        def pair_scores(self, q, c):
            return (q * c).sum(-1)

    emb = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # Query 0: positive 1 (score 1) beats distractor 3 (0); query 1: positive 3 (0) loses to 1.
    assert evaluate_list(DotScorer(), emb, lists)["2"]["hits"] == [1, 0]
