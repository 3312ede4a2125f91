"""A mirdata-driven stem-retrieval experiment on CocoChorales (or a rendered corpus in its layout).

The dataset is opened with phalar_asteroid's mirdata loader (``initialize("cocochorales", ...)``,
a ``mirdata.core.Dataset``); its pieces are iterated as mirdata ``MultiTrack`` objects and every
voice's audio comes from ``Track.audio``. From each piece one clip of ``--seconds`` is cut (the
middle of the piece); every voice that is active in it (RMS at least -60 dBFS) is held out once:
the query is the sum of the other voices, the true candidate the held-out voice. For each K the
query is ranked against its true voice and K - 1 voices held out from *other* pieces (drawn
without replacement, seeded); a query is a hit when its voice scores strictly highest. The
model's symmetric score is used. Prints top-1 accuracy (95 % interval), MRR and chance per K.

Any CocoChorales tree works, e.g. the embedded corpus::

    python -m phalar_asteroid.data.render --out corpus --n-tracks 20 --seed 0 --flavour chorale
    python examples/mirdata_retrieval.py --data_home corpus/cocochorales --model ckpt.pth
"""

import argparse

import numpy as np
import torch
from torchaudio.functional import resample
from tqdm import tqdm

from phalar_asteroid.data.datasets import initialize
from phalar_asteroid.data.datasets.stems import SILENCE_DB, rms_db
from phalar_asteroid.eval.retrieval import ModelScorer, positive_ranks, summarize_ranks
from phalar_asteroid.inference import load_model


def piece_clips(mtrack, seconds: float, sample_rate: int):
    """Mono clips ``(voices, T)`` of the middle ``seconds`` of a piece, or None if too short.

    Args:
        mtrack (mirdata.core.MultiTrack): the piece.
        seconds (float): clip length.
        sample_rate (int): the model's rate.

    Returns:
        np.ndarray or None: one row per voice, in voice order.
    """
    voices = []
    for track_id in sorted(mtrack.track_ids):
        audio, rate = mtrack.tracks[track_id].audio
        audio = torch.from_numpy(np.asarray(audio, dtype=np.float32))
        if audio.dim() == 2:  # mirdata loaders may return (channels, time)
            audio = audio.mean(dim=0)
        voices.append(resample(audio, rate, sample_rate) if rate != sample_rate else audio)
    length, clip = min(len(v) for v in voices), round(seconds * sample_rate)
    if length < clip:
        return None
    start = (length - clip) // 2
    return torch.stack([v[start : start + clip] for v in voices]).numpy()


def build_queries(dataset, split: str, seconds: float, sample_rate: int, max_pieces=None):
    """Queries (partial mixes) and candidates (held-out voices) of every piece of a split.

    Returns:
        tuple: ``(queries (Q, T), candidates (Q, T), piece_of (Q,))``; query ``i``'s true
        candidate is row ``i``.
    """
    pieces = sorted(dataset.mtrack_ids if split == "all" else dataset.get_mtrack_splits()[split])
    queries, candidates, piece_of = [], [], []
    for p, piece_id in enumerate(tqdm(pieces[:max_pieces], desc="pieces", unit="piece")):
        clips = piece_clips(dataset.multitrack(piece_id), seconds, sample_rate)
        if clips is None:
            continue
        active = np.flatnonzero(rms_db(clips) >= SILENCE_DB)
        if len(active) < 2:
            continue
        for voice in active:
            others = [v for v in active if v != voice]
            queries.append(clips[others].sum(axis=0))
            candidates.append(clips[voice])
            piece_of.append(p)
    return np.stack(queries), np.stack(candidates), np.asarray(piece_of)


def evaluate(scores: torch.Tensor, piece_of: np.ndarray, ks, seed: int) -> dict:
    """Top-1 / MRR at every K, distractors drawn from other pieces.

    Args:
        scores (torch.Tensor): ``(Q, Q)`` scores of every query against every candidate.
        piece_of (np.ndarray): ``(Q,)`` piece index of each query and candidate.
        ks (sequence of int): candidate-set sizes.
        seed (int): distractor draw seed (one generator per K).

    Returns:
        dict: ``{K: summary}`` (:func:`~phalar_asteroid.eval.retrieval.summarize_ranks`).
    """
    results = {}
    for k in ks:
        rng = np.random.default_rng([seed, k])
        ranks, sizes = [], []
        for q in range(len(piece_of)):
            pool = np.flatnonzero(piece_of != piece_of[q])
            picked = rng.choice(pool, size=min(k - 1, len(pool)), replace=False)
            rank = positive_ranks(scores[q, q][None], scores[q, picked][None])
            ranks.append(int(rank[0]))
            sizes.append(1 + len(picked))
        results[k] = summarize_ranks(ranks, sizes)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_home", required=True, help="folder holding main_dataset/")
    parser.add_argument("--model", default="phalar-embedded", help="checkpoint or shipped name")
    parser.add_argument("--split", default="test", choices=["train", "valid", "test", "all"])
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length in seconds")
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--max_pieces", type=int, help="use at most this many pieces")
    parser.add_argument("--index_dir", help="mirdata index folder (default: the user cache)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch_size", type=int, default=16)
    args = parser.parse_args(argv)

    model = load_model(args.model, "cpu").model
    dataset = initialize("cocochorales", args.data_home, index_dir=args.index_dir, checksums=False)
    sample_rate = int(model.sample_rate)
    queries, candidates, piece_of = build_queries(
        dataset, args.split, args.seconds, sample_rate, args.max_pieces
    )
    scorer = ModelScorer(model, symmetric=True, batch_size=args.batch_size)
    scores = scorer.score_matrix(
        scorer.embed(torch.from_numpy(queries)), scorer.embed(torch.from_numpy(candidates))
    )
    results = evaluate(scores, piece_of, args.ks, args.seed)
    n_pieces = len(np.unique(piece_of))
    print(
        f"{len(piece_of)} queries from {n_pieces} pieces ({args.split}), {args.seconds:g} s clips"
    )
    print(f"{'K':>3}  {'top-1':>7}  {'±95%':>6}  {'MRR':>6}  {'chance':>6}")
    for k, r in results.items():
        print(f"{k:>3}  {r['top1']:7.3f}  {r['ci95']:6.3f}  {r['mrr']:6.3f}  {r['chance']:6.3f}")
    return results


if __name__ == "__main__":
    main()
