"""Log compression and the Mel ablation's front end.

See docs/model.md#log-compression-and-the-db-floor and docs/model.md#ablations.
"""

import torch
from torch import nn


class DecibelScaling(nn.Module):
    r"""``20·log10`` (or ``10·log10`` for power), an 80 dB floor, then ``(x + 80) / 80``.

    0 dB maps to 1 and -80 dB to 0; the result is not clipped. The floor ``max - top_db`` is
    taken per clip (``"clip"``, embeddings independent of batch composition, the default) or
    over the whole batch (``"batch"``, exactly what the reference's rank-3 call does).

    Args:
        stype (str): ``"magnitude"`` or ``"power"``.
        top_db (float): dynamic range kept below the maximum.
        floor (str): ``"clip"`` or ``"batch"``.

    Shape:
        - Input / Output: :math:`(batch, freq, frames)`
    """

    def __init__(self, stype: str = "magnitude", top_db: float = 80.0, floor: str = "clip"):
        super().__init__()
        if stype not in ("magnitude", "power"):
            raise ValueError(f"stype must be 'magnitude' or 'power', got {stype!r}")
        if floor not in ("clip", "batch"):
            raise ValueError(f"db_floor must be 'clip' or 'batch', got {floor!r}")
        self.multiplier = 20.0 if stype == "magnitude" else 10.0
        self.top_db = top_db
        self.floor = floor

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        db = self.multiplier * torch.log10(torch.clamp(spec, min=1e-10))
        dims = tuple(range(db.dim())) if self.floor == "batch" else tuple(range(1, db.dim()))
        db = torch.maximum(db, db.amax(dim=dims, keepdim=True) - self.top_db)
        return (db + self.top_db) / self.top_db


class MelFrontend(nn.Module):
    r"""Power Mel spectrogram (96 bands, 60–7800 Hz, hop 160) for the ``frontend: mel`` ablation.

    Computed inside the model, like the CQT, so cropping and dB flooring share one code path
    (a recorded deviation: the reference computes it per item in the dataset).

    Args:
        sample_rate (int): input rate.
        n_mels (int): Mel bands.
        hop_length (int): hop in samples.

    Shape:
        - Input: :math:`(batch, time)`
        - Output: :math:`(batch, n\_mels, time // hop + 1)`
    """

    def __init__(self, sample_rate: int = 16000, n_mels: int = 96, hop_length: int = 160):
        super().__init__()
        import torchaudio

        self.n_fft = 1024
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=self.n_fft,
            win_length=400,
            hop_length=hop_length,
            f_min=60.0,
            f_max=7800.0,
            n_mels=n_mels,
            power=2.0,
        )

    @property
    def min_samples(self) -> int:
        """Shortest accepted input (reflect padding needs more than n_fft // 2 samples)."""
        return self.n_fft // 2 + 1

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return self.mel(wav.float())
