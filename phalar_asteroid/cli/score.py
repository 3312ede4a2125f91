"""``phalar score MIX STEM``: how well a stem fits a mix, and how that compares with chance."""

import numpy as np
import torch

from .audio import WINDOW_SECONDS, load_audio
from .calibration import load_calibration, percentile
from .errors import CliError
from .model import embed_waveform, load_model, require_min_length


def aligned_score(model, mix, stem) -> tuple:
    """Mean symmetric score over aligned active windows of two embedded files.

    Args:
        model (ContrastiveEncoder): the model.
        mix (WindowEmbeddings): the mix's windows.
        stem (WindowEmbeddings): the stem's windows.

    Returns:
        tuple: ``(score, n_pairs)``.

    Raises:
        CliError: no window index is active in both.
    """
    common, mix_rows, stem_rows = np.intersect1d(mix.windows, stem.windows, return_indices=True)
    if len(common) == 0:
        raise CliError("the mix and the stem have no window where both are active")
    with torch.no_grad():
        scores = model.similarity_scores(
            mix.embeddings[mix_rows], stem.embeddings[stem_rows], symmetric=True
        )
    return float(scores.double().mean()), len(common)


def run(args):
    loaded = load_model(args.model, args.device)
    model = loaded.model
    rate = int(model.sample_rate)
    mix_wav, stem_wav = load_audio(args.mix, rate), load_audio(args.stem, rate)
    require_min_length(model, mix_wav, args.mix)
    require_min_length(model, stem_wav, args.stem)
    length = min(len(mix_wav), len(stem_wav))
    mix = embed_waveform(model, mix_wav[:length], args.mix, args.batch_size)
    stem = embed_waveform(model, stem_wav[:length], args.stem, args.batch_size)
    score, n_pairs = aligned_score(model, mix, stem)
    window = min(WINDOW_SECONDS, length / rate)
    print(f"score {score:.4f} (mean over {n_pairs} aligned {window:g} s windows)")
    if not args.no_calibration:
        calibration = load_calibration(loaded, args.batch_size)
        print(
            f"higher than {percentile(calibration, score):.1f} % of random pairs "
            f"({len(calibration)} mismatched mix/stem pairs of synthetic songs)"
        )
