"""Embedding heads on pooled features (docs/model.md#complex-head, docs/model.md#ablations)."""

import torch
from torch import nn

from .complex import CplxLinear, CplxRMSNorm, ModReLU


class ComplexHead(nn.Module):
    r"""``CplxLinear → CplxRMSNorm → modReLU → CplxLinear``, exactly phase equivariant.

    No biases anywhere, so :math:`f(e^{i\varphi} z) = e^{i\varphi} f(z)`.

    Args:
        in_features (int): complex input features (640 for PHALAR).
        embed_dim (int): complex embedding size.
        hidden (int): hidden complex width (defaults to ``embed_dim``).

    Shape:
        - Input: :math:`(batch, 2, in\_features)`
        - Output: :math:`(batch, 2, embed\_dim)`
    """

    def __init__(self, in_features: int, embed_dim: int = 512, hidden: int = None):
        super().__init__()
        hidden = hidden or embed_dim
        self.linear_in = CplxLinear(in_features, hidden)
        self.norm = CplxRMSNorm(hidden)
        self.act = ModReLU(hidden)
        self.linear_out = CplxLinear(hidden, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_out(self.act(self.norm(self.linear_in(x))))


class RealHead(nn.Module):
    r"""The ablations' real head: ``Dropout → Linear → BatchNorm1d → SiLU → Linear``.

    Args:
        in_features (int): input features (60 after GAP, 640 for magnitude LSP).
        embed_dim (int): embedding size.
        dropout (float): input dropout.

    Shape:
        - Input: :math:`(batch, in\_features)`
        - Output: :math:`(batch, embed\_dim)`
    """

    def __init__(self, in_features: int, embed_dim: int = 512, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(in_features, embed_dim),
            nn.BatchNorm1d(embed_dim),
            nn.SiLU(),
            nn.Linear(embed_dim, embed_dim),
        )
        nn.init.kaiming_normal_(self.net[1].weight, nonlinearity="relu")
        nn.init.xavier_normal_(self.net[4].weight)
        nn.init.zeros_(self.net[1].bias)
        nn.init.zeros_(self.net[4].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
