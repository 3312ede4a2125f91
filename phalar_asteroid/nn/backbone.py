"""Frequency/time separable residual CNN (docs/model.md#backbone)."""

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


class LayerScale(nn.Module):
    """Learnable per-channel multiplier initialised to zero, so each residual starts as identity.

    Args:
        channels (int): number of channels (dim 1).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.scale = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.view(1, -1, 1, 1)


class SeparableBranch(nn.Module):
    r"""Pre-norm residual branch ``x + Drop(Scale(Conv1x1(SiLU(Conv_k(GN(x))))))``.

    Args:
        channels (int): input and output channels.
        kernel (tuple): kernel of the first convolution, ``(3, 1)`` (frequency), ``(1, 3)``
            (time) or ``(1, 1)`` (pointwise, which then expands to ``2 * channels``).
        dropout (float): channel dropout probability.

    Shape:
        - Input / Output: :math:`(batch, channels, freq, time)`
    """

    def __init__(self, channels: int, kernel: tuple, dropout: float = 0.1):
        super().__init__()
        hidden = 2 * channels if kernel == (1, 1) else channels
        padding = (kernel[0] // 2, kernel[1] // 2)
        self.norm = nn.GroupNorm(channels, channels, eps=1e-5)
        self.conv_in = nn.Conv2d(channels, hidden, kernel, padding=padding, bias=True)
        self.conv_out = nn.Conv2d(hidden, channels, 1, bias=False)
        self.scale = LayerScale(channels)
        self.drop = nn.Dropout2d(dropout)
        nn.init.kaiming_normal_(self.conv_in.weight, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(self.conv_in.bias)
        nn.init.xavier_normal_(self.conv_out.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_out(nn.functional.silu(self.conv_in(self.norm(x))))
        return x + self.drop(self.scale(h))


class SeparableResBlock(nn.Module):
    r"""Frequency, time and pointwise residual branches, then an optional strided compression.

    Args:
        channels (int): input channels.
        out_channels (int): output channels (only differs from ``channels`` when compressing).
        compress (bool): halve the time axis with a ``(1, 3)`` stride-``(1, 2)`` convolution.
        dropout (float): channel dropout probability of each branch.

    Shape:
        - Input: :math:`(batch, channels, freq, time)`
        - Output: :math:`(batch, out\_channels, freq, \lceil time / 2 \rceil)` when compressing.
    """

    def __init__(self, channels: int, out_channels: int, compress: bool, dropout: float = 0.1):
        super().__init__()
        if not compress and out_channels != channels:
            raise ValueError("A non-compressing block keeps its channel count")
        self.freq = SeparableBranch(channels, (3, 1), dropout)
        self.time = SeparableBranch(channels, (1, 3), dropout)
        self.point = SeparableBranch(channels, (1, 1), dropout)
        if compress:
            self.compress = nn.Conv2d(
                channels, out_channels, (1, 3), stride=(1, 2), padding=(0, 1), bias=False
            )
            nn.init.xavier_normal_(self.compress.weight)
        else:
            self.compress = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.compress(self.point(self.time(self.freq(x))))


class FreqTimeSeparableBackbone(nn.Module):
    r"""PHALAR's backbone: a 1x1 stem and ``depth`` stages of (compressing, plain) blocks.

    Widths grow by ``int(1.5 * c)`` per stage (8, 12, 18, 27, 40, 60 by default). The frequency
    axis is never downsampled; time is halved once per stage, so :math:`T' = \lceil T/2^{depth}
    \rceil`.

    Args:
        width (int): stem channels.
        depth (int): number of stages.
        growth (float): channel growth factor per stage.
        dropout (float): channel dropout in every residual branch.
        grad_checkpointing (bool): recompute each block in the backward pass while training.
            Saves activation memory on GPU; no numerical effect.

    Shape:
        - Input: :math:`(batch, 1, freq, time)`
        - Output: :math:`(batch, C_{out}, freq, \lceil time / 2^{depth} \rceil)`
    """

    def __init__(
        self,
        width: int = 8,
        depth: int = 5,
        growth: float = 1.5,
        dropout: float = 0.1,
        grad_checkpointing: bool = False,
    ):
        super().__init__()
        self.grad_checkpointing = grad_checkpointing
        self.stem = nn.Conv2d(1, width, 1, bias=False)
        nn.init.xavier_normal_(self.stem.weight)
        channels = [width]
        for _ in range(depth):
            channels.append(int(growth * channels[-1]))
        blocks = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            blocks.append(SeparableResBlock(c_in, c_out, compress=True, dropout=dropout))
            blocks.append(SeparableResBlock(c_out, c_out, compress=False, dropout=dropout))
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = channels[-1]
        self.downsampling = 2**depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            if self.grad_checkpointing and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x
