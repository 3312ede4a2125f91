"""Temporal pooling of backbone features: Learned Spectral Pooling and GAP.

See docs/model.md#learned-spectral-pooling and docs/model.md#ablations.
"""

import torch
from torch import nn


class LearnedSpectralPooling(nn.Module):
    r"""Projects each frame, then keeps low rFFT bins over time, so a time shift is a phase.

    Steps: a bias-free linear projection of every frame's flattened ``(freq, channel)`` features
    (index ``f * C + c``); zero padding to at least ``2 * (components + 1) + 1`` frames; an
    orthonormal rFFT over time; bins ``1 … components`` kept (DC dropped); one global magnitude
    normalisation per clip. A circular shift of the frame sequence by ``s`` multiplies component
    ``k`` by :math:`e^{-2\pi i k s / N}`. Always runs in float32, also under autocast.

    Args:
        in_features (int): flattened frame size ``freq * channels`` (5760 for PHALAR).
        channels (int): projected channels D.
        components (int): kept Fourier components C.
        padding (str): ``"center"`` (training, retrieval) or ``"right"`` (sliding windows).
        norm (str): ``"global"``, ``"component_wise"``, ``"channel_wise"`` or ``"none"``.
        output (str): ``"complex"`` returns Re/Im stacked; ``"magnitude"`` returns ``|R|``.

    Shape:
        - Input: :math:`(batch, channels_{bb}, freq, frames)`
        - Output: :math:`(batch, 2, D, C)` (complex) or :math:`(batch, D, C)` (magnitude)
    """

    NORMS = ("global", "component_wise", "channel_wise", "none")

    def __init__(
        self,
        in_features: int,
        channels: int = 80,
        components: int = 8,
        padding: str = "center",
        norm: str = "global",
        output: str = "complex",
    ):
        super().__init__()
        if padding not in ("center", "right"):
            raise ValueError(f"padding must be 'center' or 'right', got {padding!r}")
        if norm not in self.NORMS:
            raise ValueError(f"norm must be one of {self.NORMS}, got {norm!r}")
        if output not in ("complex", "magnitude"):
            raise ValueError(f"output must be 'complex' or 'magnitude', got {output!r}")
        self.components = components
        self.min_frames = 2 * (components + 1) + 1
        self.padding = padding
        self.norm = norm
        self.output = output
        self.project = nn.Linear(in_features, channels, bias=False)
        nn.init.xavier_normal_(self.project.weight)

    def project_frames(self, features: torch.Tensor) -> torch.Tensor:
        """Projects backbone features ``(B, C, F, T)`` to a frame sequence ``(B, D, T)``."""
        b, c, f, t = features.shape
        frames = features.permute(0, 3, 2, 1).reshape(b, t, f * c)
        return self.project(frames).transpose(1, 2)

    def pad(self, z: torch.Tensor) -> torch.Tensor:
        """Zero-pads a frame sequence ``(B, D, T)`` to at least ``min_frames`` frames."""
        missing = self.min_frames - z.shape[-1]
        if missing <= 0:
            return z
        left = missing // 2 if self.padding == "center" else 0
        return nn.functional.pad(z, (left, missing - left))

    def spectral(self, z: torch.Tensor) -> torch.Tensor:
        """Orthonormal rFFT of a padded frame sequence, bins 1…C, normalised: complex (B, D, C)."""
        r = torch.fft.rfft(z, dim=-1, norm="ortho")[..., 1 : self.components + 1]
        mag = r.abs()
        if self.norm == "global":
            r = r / (mag.mean(dim=(-2, -1), keepdim=True) + 1e-6)
        elif self.norm == "component_wise":
            r = r / (mag.mean(dim=-2, keepdim=True) + 1e-6)
        elif self.norm == "channel_wise":
            r = r / (mag.mean(dim=-1, keepdim=True) + 1e-6)
        return r

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=features.device.type, enabled=False):
            z = self.project_frames(features.float())
            r = self.spectral(self.pad(z))
        if self.output == "magnitude":
            return r.abs()
        return torch.stack((r.real, r.imag), dim=1)


class GlobalAveragePooling(nn.Module):
    r"""Mean over frequency and time: the translation-invariant ablation (``pool: average``).

    Shape:
        - Input: :math:`(batch, channels, freq, frames)`
        - Output: :math:`(batch, channels)`
    """

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features.float().mean(dim=(-2, -1))
