"""The models the recipe scores, each behind the encoder interface of the scoring layer.

``phalar_asteroid.inference.score.PairScorer`` reads ``sample_rate``, ``min_samples``,
``embed(windows, batch_size=)`` and ``score_embeddings(a, b)`` of a model; :class:`BaselineEncoder`
gives a no-learning baseline of :mod:`phalar_asteroid.eval.baselines` that interface, so that
every model is scored by the same code on the same windows.
"""

import numpy as np
import torch

from phalar_asteroid.eval.baselines import BASELINES
from phalar_asteroid.inference.model import load_model
from phalar_asteroid.models.cocola import COCOLA


class BaselineEncoder:
    """A baseline's features as "embeddings" and its matched-row score as the similarity.

    Args:
        baseline: an object of :data:`~phalar_asteroid.eval.baselines.BASELINES`.
        min_seconds (float): shortest window the features are computed on.
    """

    def __init__(self, baseline, min_seconds: float = 1.0):
        self.baseline = baseline
        self.sample_rate = baseline.sample_rate
        self.min_samples = round(min_seconds * baseline.sample_rate)

    def embed(self, windows, batch_size: int = None) -> torch.Tensor:
        """Features ``(n, ...)`` of equally long windows ``(n, time)`` (all at once)."""
        return self.baseline.embed(torch.from_numpy(np.ascontiguousarray(windows)))

    def score_embeddings(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores ``(n,)`` of matched rows."""
        return self.baseline.pair_scores(a, b)


def build_scorer(name: str, model_path: str, cocola_path: str, cocola_seed: int, device):
    """A model by its ``--models`` name, with what identifies it.

    Args:
        name (str): ``phalar``, ``cocola``, ``onset_corr`` or ``chroma_corr``.
        model_path (str): PHALAR checkpoint (file or shipped name).
        cocola_path (str): COCOLA checkpoint; empty for an untrained COCOLA.
        cocola_seed (int): torch seed of the untrained COCOLA's initialisation.
        device (torch.device): where a network runs.

    Returns:
        tuple: ``(model, info)``; ``info`` describes the model (``source``, ``trained``,
        ``fingerprint``) and is stored beside its scores.
    """
    if name in BASELINES:
        return BaselineEncoder(BASELINES[name]()), {
            "source": f"phalar_asteroid.eval.baselines ({name}, no learning)",
            "trained": False,
            "fingerprint": name,
        }
    if name == "cocola" and not cocola_path:
        torch.manual_seed(cocola_seed)
        return COCOLA().to(device).eval(), {
            "source": f"UNTRAINED COCOLA (random initialisation, torch seed {cocola_seed})",
            "trained": False,
            "fingerprint": f"untrained-cocola-seed{cocola_seed}",
        }
    loaded = load_model(model_path if name == "phalar" else cocola_path, device=device)
    expected = "PHALAR" if name == "phalar" else "COCOLA"
    if type(loaded.model).__name__ != expected:
        option = "--model_path" if name == "phalar" else "--cocola_path"
        raise ValueError(f"{option} {loaded.path}: a {type(loaded.model).__name__}, not {expected}")
    return loaded.model, {
        "source": loaded.path,
        "trained": True,
        "fingerprint": loaded.fingerprint,
    }
