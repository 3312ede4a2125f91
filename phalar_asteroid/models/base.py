"""Shared interface of the contrastive encoders: input checks, scoring, serialisation."""

import os

import numpy as np
import torch
from asteroid.models.base_models import BaseModel

from ..nn.complex import to_complex

PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "pretrained")


def software_versions() -> dict:
    """Versions as plain strings, so checkpoints load under ``torch.load(weights_only=True)``."""
    import asteroid
    import pytorch_lightning as pl

    from .. import __version__

    return {
        "torch_version": str(torch.__version__),
        "pytorch_lightning_version": str(pl.__version__),
        "asteroid_version": str(asteroid.__version__),
        "phalar_asteroid_version": str(__version__),
    }


def resolve_pretrained(name_or_path: str) -> str:
    """Maps a shipped checkpoint name (``phalar_asteroid/pretrained/<name>.pth``) to its path.

    Args:
        name_or_path (str): a file path, or the name of a checkpoint shipped in the package.

    Returns:
        str: an existing file path.
    """
    if os.path.isfile(name_or_path):
        return name_or_path
    shipped = os.path.join(PRETRAINED_DIR, f"{name_or_path}.pth")
    if os.path.isfile(shipped):
        return shipped
    available = (
        sorted(f[:-4] for f in os.listdir(PRETRAINED_DIR) if f.endswith(".pth"))
        if os.path.isdir(PRETRAINED_DIR)
        else []
    )
    raise FileNotFoundError(
        f"No model file or shipped checkpoint named {name_or_path!r} (shipped: {available})"
    )


class ContrastiveEncoder(BaseModel):
    r"""Base of PHALAR and COCOLA: waveform in, embedding out, a learned similarity inside.

    Subclasses define ``forward`` (validated waveform → embeddings), ``min_samples``,
    ``is_complex`` and ``get_model_args``, and set ``self.similarity``.

    Args:
        sample_rate (int): the only sample rate the model accepts.
    """

    is_complex = False

    def __init__(self, sample_rate: int = 16000):
        super().__init__(sample_rate=sample_rate)

    @property
    def min_samples(self) -> int:
        """Shortest accepted input in samples."""
        raise NotImplementedError

    def prepare_input(self, wav, sample_rate: int = None) -> torch.Tensor:
        """Validates a batch of mono waveforms and returns it as ``(batch, time)`` float32.

        Args:
            wav (torch.Tensor or np.ndarray): ``(batch, time)`` or ``(batch, 1, time)``.
            sample_rate (int, optional): rate of ``wav``; must equal the model's.

        Returns:
            torch.Tensor: ``(batch, time)`` on the model's device.

        Raises:
            ValueError: wrong rank, several channels, NaN/Inf samples, too short, wrong rate.
        """
        if sample_rate is not None and int(sample_rate) != int(self.sample_rate):
            raise ValueError(
                f"sample_rate={sample_rate} Hz, but the model takes {int(self.sample_rate)} Hz "
                "audio: resample first (e.g. torchaudio.functional.resample)"
            )
        if isinstance(wav, np.ndarray):
            wav = torch.from_numpy(wav)
        if not torch.is_tensor(wav):
            raise ValueError(f"Expected a tensor or numpy array, got {type(wav).__name__}")
        if wav.dim() == 3:
            if wav.shape[1] != 1:
                raise ValueError(
                    f"Expected mono audio (batch, 1, time), got {wav.shape[1]} channels "
                    f"(shape {tuple(wav.shape)}): average the channels first"
                )
            wav = wav[:, 0]
        elif wav.dim() != 2:
            raise ValueError(
                f"Expected waveform of rank 2 (batch, time) or 3 (batch, 1, time), got rank "
                f"{wav.dim()} with shape {tuple(wav.shape)}"
            )
        if wav.shape[-1] < self.min_samples:
            raise ValueError(
                f"Audio of {wav.shape[-1]} samples ({wav.shape[-1] / self.sample_rate:.3f} s) is "
                f"shorter than the model's minimum of {self.min_samples} samples "
                f"({self.min_samples / self.sample_rate:.3f} s)"
            )
        if not torch.isfinite(wav).all():
            raise ValueError("Waveform contains NaN or Inf samples")
        param = next(self.parameters())
        return wav.to(device=param.device, dtype=torch.float32)

    def embed(self, wav, sample_rate: int = None) -> torch.Tensor:
        """User-facing embeddings: complex ``(batch, dim)`` for complex models, else real.

        Args:
            wav (torch.Tensor or np.ndarray): ``(batch, time)`` or ``(batch, 1, time)``.
            sample_rate (int, optional): checked against the model's rate.

        Returns:
            torch.Tensor: ``(batch, dim)``, complex64 for complex models.
        """
        emb = self(self.prepare_input(wav, sample_rate))
        return to_complex(emb) if self.is_complex else emb

    def similarity_scores(self, a, b, all_pairs: bool = False, symmetric: bool = True):
        r"""Scores embeddings in the model's internal layout.

        Args:
            a (torch.Tensor): embeddings ``(B_a, 2, dim)`` (complex) or ``(B_a, dim)``.
            b (torch.Tensor): embeddings of the same layout.
            all_pairs (bool): return the ``(B_a, B_b)`` matrix instead of matched rows.
            symmetric (bool): average both argument orders; for PHALAR this is the Hermitian
                form :math:`s_H`.

        Returns:
            torch.Tensor: ``(B,)`` or ``(B_a, B_b)`` scores.
        """
        fn = self.similarity.forward if all_pairs else self.similarity.pairwise
        scores = fn(a, b)
        if symmetric:
            reverse = fn(b, a)
            scores = 0.5 * (scores + (reverse.T if all_pairs else reverse))
        return scores

    def _embed_both(self, x, y, sample_rate):
        x, y = self.prepare_input(x, sample_rate), self.prepare_input(y, sample_rate)
        if x.shape[-1] == y.shape[-1]:
            # One call, as in training: the batch-wide dB floor (if chosen) then matches.
            emb = self(torch.cat((x, y)))
            return emb[: len(x)], emb[len(x) :]
        return self(x), self(y)

    def score(self, x, y, symmetric: bool = True, sample_rate: int = None) -> torch.Tensor:
        """Coherence score of matched pairs of clips (e.g. a partial mix and a stem).

        Args:
            x, y: waveforms ``(batch, time)`` or ``(batch, 1, time)``, same batch size.
            symmetric (bool): symmetric (Hermitian) form, the default; else the training form.
            sample_rate (int, optional): checked against the model's rate.

        Returns:
            torch.Tensor: ``(batch,)`` scores (higher fits better).
        """
        if len(x) != len(y):
            raise ValueError(f"score() pairs rows: got batches of {len(x)} and {len(y)}")
        a, b = self._embed_both(x, y, sample_rate)
        return self.similarity_scores(a, b, symmetric=symmetric)

    def pairwise(self, x, y, symmetric: bool = True, sample_rate: int = None) -> torch.Tensor:
        """Scores of every clip in ``x`` against every clip in ``y``.

        Returns:
            torch.Tensor: ``(len(x), len(y))`` scores.
        """
        a, b = self._embed_both(x, y, sample_rate)
        return self.similarity_scores(a, b, all_pairs=True, symmetric=symmetric)

    def serialize(self) -> dict:
        """Asteroid's model package, with versions stored as plain strings (torch >= 2.6)."""
        return {
            "model_name": self.__class__.__name__,
            "state_dict": self.get_state_dict(),
            "model_args": self.get_model_args(),
            "infos": {"software_versions": software_versions()},
        }

    @classmethod
    def from_pretrained(cls, pretrained_model_conf_or_path, *args, **kwargs):
        """Loads a model package: a dict, a file path, or a checkpoint name shipped with us.

        Raises:
            FileNotFoundError: no such file or shipped name.
            ValueError: the file is not a model package of this library.
        """
        conf = pretrained_model_conf_or_path
        if isinstance(conf, (str, os.PathLike)):
            path = resolve_pretrained(str(conf))
            try:
                conf = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as err:
                raise ValueError(f"Cannot read model file {path}: {err}") from err
            if not isinstance(conf, dict):
                raise ValueError(f"{path} is not a model package (got {type(conf).__name__})")
        return super().from_pretrained(conf, *args, **kwargs)
