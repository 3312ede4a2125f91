"""Stem-retrieval evaluation on fixed lists, with the in-batch protocol.

See docs/protocols.md#retrieval-scoring and docs/protocols.md#in-batch-protocol.

A query is a hit iff its true positive scores **strictly** higher than every distractor; its rank
is 1 plus the number of distractors scoring at least as high (ties count against the query).
Top-1 accuracy comes with a 95 % normal interval over all queries of all seeds; mean reciprocal
rank (MRR) is reported beside it.

Every unique clip of a list is loaded and embedded once (:func:`embed_clips`); queries are then
scored from the embeddings, in chunks of matched pairs. Two systems scored on the same queries
are compared with an exact McNemar test on the queries where exactly one of them is right
(:func:`paired_comparison`).
"""

import math
import time
from typing import Callable, Dict, Sequence

import numpy as np
import torch
from scipy.stats import binomtest
from tqdm import tqdm

#: z of a two-sided 95 % normal interval.
Z95 = 1.959963984540054


def positive_ranks(true_scores: torch.Tensor, distractor_scores: torch.Tensor, mask=None):
    """Rank of each query's true positive among its candidates (1 = retrieved first).

    Args:
        true_scores (torch.Tensor): ``(Q,)`` score of each query's positive.
        distractor_scores (torch.Tensor): ``(Q, D)`` scores of its distractors.
        mask (torch.Tensor, optional): ``(Q, D)`` bool, False for padding entries (queries
            with fewer distractors).

    Returns:
        torch.Tensor: ``(Q,)`` int64 ranks, ``1 + #{distractors >= positive}``.
    """
    beaten = distractor_scores >= true_scores[:, None]
    if mask is not None:
        beaten = beaten & mask
    return 1 + beaten.sum(dim=1)


def accuracy_ci95(hits) -> tuple:
    """Mean of boolean outcomes with the half-width of its 95 % normal (Wald) interval.

    Args:
        hits: boolean array-like of outcomes (one per query).

    Returns:
        tuple: ``(accuracy, half_width)``; the interval is accuracy ± half_width.
    """
    hits = np.asarray(hits, dtype=np.float64)
    if hits.size == 0:
        raise ValueError("accuracy_ci95 needs at least one outcome")
    p = hits.mean()
    return float(p), float(Z95 * math.sqrt(p * (1.0 - p) / hits.size))


def summarize_ranks(ranks, n_candidates) -> dict:
    """Top-1 accuracy (with its 95 % interval), MRR and chance level of a set of queries.

    Args:
        ranks: ``(Q,)`` ranks from :func:`positive_ranks`.
        n_candidates: ``(Q,)`` candidate-set size of each query (its effective K).

    Returns:
        dict: ``top1``, ``ci95`` (half-width), ``mrr``, ``n_queries``, ``chance`` (mean 1/K)
        and ``mean_k``.
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    n_candidates = np.asarray(n_candidates, dtype=np.float64)
    top1, ci95 = accuracy_ci95(ranks == 1)
    return {
        "top1": top1,
        "ci95": ci95,
        "mrr": float(np.mean(1.0 / ranks)),
        "n_queries": int(ranks.size),
        "chance": float(np.mean(1.0 / n_candidates)),
        "mean_k": float(np.mean(n_candidates)),
    }


def paired_comparison(hits_a, hits_b) -> dict:
    """Paired difference of two systems' top-1 outcomes on the same queries.

    The difference of accuracies comes with the 95 % Wald interval of the mean paired
    difference, and the two-sided p-value of the exact McNemar test: a binomial test of the
    queries only A gets right against those only B gets right (p = 1 when there are none).

    Args:
        hits_a: boolean outcomes of system A, one per query.
        hits_b: boolean outcomes of system B on the same queries, in the same order.

    Returns:
        dict: ``diff`` (accuracy of A minus B), ``ci95`` (half-width), ``p_value``,
        ``a_only`` and ``b_only`` (discordant counts) and ``n_queries``.
    """
    a = np.asarray(hits_a, dtype=bool)
    b = np.asarray(hits_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(
            f"paired outcomes need two equal non-empty 1-D arrays, got {a.shape}, {b.shape}"
        )
    diff = a.astype(np.float64) - b.astype(np.float64)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(b & ~a))
    discordant = a_only + b_only
    p_value = binomtest(a_only, discordant, 0.5).pvalue if discordant else 1.0
    spread = diff.std(ddof=1) if diff.size > 1 else 0.0
    return {
        "diff": float(diff.mean()),
        "ci95": float(Z95 * spread / math.sqrt(diff.size)),
        "p_value": float(p_value),
        "a_only": a_only,
        "b_only": b_only,
        "n_queries": int(diff.size),
    }


class ModelScorer:
    """Scores clips with a contrastive encoder (PHALAR, COCOLA, ablations).

    Args:
        model (ContrastiveEncoder): the model (put in eval mode).
        symmetric (bool): symmetric form (the Hermitian :math:`s_H` for PHALAR) or the
            training form.
        batch_size (int): clips per forward pass.
        device (str or torch.device): where the model runs.
    """

    def __init__(self, model, symmetric: bool = True, batch_size: int = 32, device="cpu"):
        self.model = model.to(device).eval()
        self.symmetric = symmetric
        self.batch_size = batch_size
        self.device = torch.device(device)

    def with_form(self, symmetric: bool) -> "ModelScorer":
        """The same model scored with the other form (no re-embedding needed)."""
        return ModelScorer(self.model, symmetric, self.batch_size, self.device)

    @torch.no_grad()
    def embed(self, clips: torch.Tensor) -> torch.Tensor:
        """Embeddings of clips ``(N, T)`` as the model's ``embed`` returns them, on the CPU."""
        return self.model.embed(clips, batch_size=self.batch_size).cpu()

    @torch.no_grad()
    def pair_scores(self, queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Scores ``(M,)`` of matched rows of two embedding batches."""
        scores = self.model.score_embeddings(queries, candidates, symmetric=self.symmetric)
        return scores.float().cpu()

    @torch.no_grad()
    def score_matrix(self, queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Scores ``(Nq, Nc)`` of every query against every candidate."""
        scores = self.model.score_embeddings(
            queries, candidates, all_pairs=True, symmetric=self.symmetric
        )
        return scores.float().cpu()


def embed_clips(
    load_clip: Callable[[int], np.ndarray],
    n_clips: int,
    scorers: Dict[str, object],
    batch_size: int = 32,
    desc: str = "embedding",
    seconds: Dict[str, float] = None,
) -> Dict[str, torch.Tensor]:
    """Loads every clip once and embeds it with every scorer.

    Args:
        load_clip (callable): clip index -> float32 audio ``(T,)`` (all clips equally long).
        n_clips (int): number of clips.
        scorers (dict): name -> object with ``embed(clips (B, T)) -> (B, ...)``.
        batch_size (int): clips loaded at a time.
        desc (str): progress-bar label.
        seconds (dict, optional): accumulates each scorer's embedding wall time in seconds.

    Returns:
        dict: name -> embeddings ``(n_clips, ...)``.
    """
    chunks = {name: [] for name in scorers}
    seconds = {} if seconds is None else seconds
    for start in tqdm(range(0, n_clips, batch_size), desc=desc, unit="batch"):
        stop = min(n_clips, start + batch_size)
        clips = torch.from_numpy(np.stack([load_clip(i) for i in range(start, stop)]))
        for name, scorer in scorers.items():
            tic = time.perf_counter()
            chunks[name].append(scorer.embed(clips))
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - tic
    return {name: torch.cat(parts) for name, parts in chunks.items()}


def list_ranks(
    scorer,
    embeddings: torch.Tensor,
    anchors: Sequence[int],
    positives: Sequence[int],
    distractors: Sequence[Sequence[int]],
    chunk: int = 4096,
) -> np.ndarray:
    """Ranks of the queries of one list at one K.

    Args:
        scorer: object with ``pair_scores(q, c) -> (M,)`` on embeddings.
        embeddings (torch.Tensor): embeddings of the list's clips, indexed by the indices below.
        anchors (sequence of int): clip index of each query's anchor.
        positives (sequence of int): clip index of each query's true positive.
        distractors (sequence of sequences of int): clip indices of each query's distractors
            (lengths may differ; queries without distractors must be removed beforehand).
        chunk (int): matched pairs scored at a time.

    Returns:
        np.ndarray: ``(Q,)`` ranks.
    """
    n_dist = max(len(d) for d in distractors)
    q = len(anchors)
    cand = np.zeros((q, 1 + n_dist), dtype=np.int64)
    mask = np.zeros((q, 1 + n_dist), dtype=bool)
    cand[:, 0] = positives
    mask[:, 0] = True
    for i, row in enumerate(distractors):
        cand[i, 1 : 1 + len(row)] = row
        mask[i, 1 : 1 + len(row)] = True
    rows = np.repeat(np.asarray(anchors, dtype=np.int64), 1 + n_dist)
    cols = cand.reshape(-1)
    flat = torch.cat(
        [
            scorer.pair_scores(embeddings[rows[i : i + chunk]], embeddings[cols[i : i + chunk]])
            for i in range(0, len(rows), chunk)
        ]
    ).view(q, 1 + n_dist)
    ranks = positive_ranks(flat[:, 0], flat[:, 1:], torch.from_numpy(mask[:, 1:]))
    return ranks.numpy()


def evaluate_list(scorer, embeddings: torch.Tensor, lists: dict, clip_index=None) -> dict:
    """Top-1 / MRR of one scorer on one fixed list, for every K of the list.

    Args:
        scorer: see :func:`list_ranks`.
        embeddings (torch.Tensor): clip embeddings.
        lists (dict): a retrieval list
            (:func:`~phalar_asteroid.data.retrieval_lists.make_retrieval_lists`).
        clip_index (sequence of int, optional): maps the list's candidate indices to rows of
            ``embeddings`` (when several lists share one embedding table).

    Returns:
        dict: ``{str(K): summary}`` (see :func:`summarize_ranks`) plus ``hits``, the 0/1
        outcome of every scored query in list order (for :func:`paired_comparison`); queries
        whose effective K is 1 (no distractor) are left out.
    """
    index = np.arange(len(lists["candidates"])) if clip_index is None else np.asarray(clip_index)
    results = {}
    for k in lists["ks"]:
        effective = np.asarray(lists["effective_k"][str(k)])
        keep = np.flatnonzero(effective > 1)
        if keep.size == 0:
            continue
        queries = [lists["queries"][i] for i in keep]
        ranks = list_ranks(
            scorer,
            embeddings,
            index[[q["anchor"] for q in queries]],
            index[[q["positive"] for q in queries]],
            [index[lists["distractors"][str(k)][i]] for i in keep],
        )
        results[str(k)] = summarize_ranks(ranks, effective[keep])
        results[str(k)]["hits"] = (ranks == 1).astype(int).tolist()
    return results


def evaluate_in_batch(scorer, embeddings: torch.Tensor, lists: dict, ks, clip_index=None) -> dict:
    """The reference's in-batch protocol (docs/protocols.md#in-batch-protocol) on a list's queries.

    For each seed, its queries are taken in order in groups of K (the last incomplete group is
    dropped, as with ``drop_last``); each anchor is ranked against the K positives of its group.
    Distractors may then come from the query's own track, as in the reference.

    Args:
        scorer: object with ``score_matrix(q, c) -> (Nq, Nc)``.
        embeddings (torch.Tensor): clip embeddings.
        lists (dict): a retrieval list.
        ks (sequence of int): group sizes.
        clip_index (sequence of int, optional): see :func:`evaluate_list`.

    Returns:
        dict: ``{str(K): summary}`` for every K with at least one full group.
    """
    index = np.arange(len(lists["candidates"])) if clip_index is None else np.asarray(clip_index)
    by_seed = {}
    for query in lists["queries"]:
        by_seed.setdefault(query["seed"], []).append(query)
    results = {}
    for k in ks:
        ranks = []
        for queries in by_seed.values():
            for start in range(0, len(queries) - k + 1, k):
                group = queries[start : start + k]
                scores = scorer.score_matrix(
                    embeddings[index[[q["anchor"] for q in group]]],
                    embeddings[index[[q["positive"] for q in group]]],
                )
                true = scores.diagonal()
                off = ~torch.eye(k, dtype=torch.bool)
                ranks.append(positive_ranks(true, scores, off).numpy())
        if ranks:
            ranks = np.concatenate(ranks)
            results[str(k)] = summarize_ranks(ranks, np.full(ranks.shape, k))
    return results
