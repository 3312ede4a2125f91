"""Complex-valued layers on real tensors laid out as ``(batch, 2, features)``.

Index 0 of dim 1 holds the real part and index 1 the imaginary part (docs/model.md#tensor-layout).
Keeping real storage lets bf16 autocast and Muon work unchanged and lets reference weights port as
they are; :func:`to_complex` / :func:`from_complex` convert at module boundaries.
"""

import math

import torch
from torch import nn


def to_complex(x: torch.Tensor) -> torch.Tensor:
    """Converts a ``(..., 2, n)`` real tensor to a complex ``(..., n)`` tensor.

    Args:
        x (torch.Tensor): real and imaginary parts stacked on dim -2.

    Returns:
        torch.Tensor: complex tensor.
    """
    if x.shape[-2] != 2:
        raise ValueError(
            f"Expected real/imaginary parts on dim -2 (size 2), got shape {tuple(x.shape)}"
        )
    return torch.complex(x[..., 0, :].float(), x[..., 1, :].float())


def from_complex(z: torch.Tensor) -> torch.Tensor:
    """Converts a complex ``(..., n)`` tensor to the real ``(..., 2, n)`` layout."""
    return torch.stack((z.real, z.imag), dim=-2)


def complex_rotate(x: torch.Tensor, phi: float) -> torch.Tensor:
    """Multiplies a ``(..., 2, n)`` complex tensor by ``exp(i * phi)``."""
    c, s = math.cos(phi), math.sin(phi)
    re, im = x[..., 0, :], x[..., 1, :]
    return torch.stack((c * re - s * im, s * re + c * im), dim=-2)


class CplxLinear(nn.Module):
    r"""Complex linear map :math:`y = Wx` with :math:`W = A + iB`, without bias.

    The weight is stored as one real matrix of shape ``(2 * out_features, in_features)``: rows
    ``0 … out-1`` are A and the rest are B, so Muon orthogonalises it as a whole
    (docs/model.md#weight-layout).

    Args:
        in_features (int): input complex features.
        out_features (int): output complex features.
        identity_init (bool): initialise A = I, B = 0 (the cosine similarity's projection).

    Shape:
        - Input: :math:`(batch, 2, in\_features)`
        - Output: :math:`(batch, 2, out\_features)`
    """

    def __init__(self, in_features: int, out_features: int, identity_init: bool = False):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(2 * out_features, in_features))
        if identity_init:
            with torch.no_grad():
                self.weight.zero_()
                self.weight[:out_features].copy_(torch.eye(out_features, in_features))
        else:
            # PyTorch's Linear default, scaled by 1/sqrt(2) so |W| matches a real layer's scale.
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            with torch.no_grad():
                self.weight.mul_(1 / math.sqrt(2))

    @property
    def real_weight(self) -> torch.Tensor:
        """A, the real part of W, shape ``(out, in)``."""
        return self.weight[: self.out_features]

    @property
    def imag_weight(self) -> torch.Tensor:
        """B, the imaginary part of W, shape ``(out, in)``."""
        return self.weight[self.out_features :]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        re, im = x[..., 0, :], x[..., 1, :]
        # One matmul per input part against the stacked [A; B] weight.
        p_re = nn.functional.linear(re, self.weight)
        p_im = nn.functional.linear(im, self.weight)
        n = self.out_features
        y_re = p_re[..., :n] - p_im[..., n:]
        y_im = p_im[..., :n] + p_re[..., n:]
        return torch.stack((y_re, y_im), dim=-2)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class CplxRMSNorm(nn.Module):
    r"""RMS normalisation of complex features with a real per-feature gain, no centring.

    :math:`y = x / \sqrt{\mathrm{mean}_j |x_j|^2 + \epsilon} \odot g`.

    Args:
        num_features (int): complex features.
        eps (float): added under the square root.

    Shape:
        - Input / Output: :math:`(batch, 2, num\_features)`
    """

    def __init__(self, num_features: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        power = x.pow(2).sum(dim=-2).mean(dim=-1, keepdim=True)  # mean |x_j|^2
        scale = torch.rsqrt(power + self.eps).unsqueeze(-1)
        return x * scale * self.weight


class ModReLU(nn.Module):
    r"""modReLU: :math:`y_j = z_j \, \mathrm{ReLU}(|z_j| + b_j) / |z_j|`, phase preserving.

    Args:
        num_features (int): complex features.
        bias_init (float): initial value of the learnable bias ``b``.
        eps (float): added to :math:`|z|^2` before the square root.

    Shape:
        - Input / Output: :math:`(batch, 2, num\_features)`
    """

    def __init__(self, num_features: int, bias_init: float = -0.01, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.bias = nn.Parameter(torch.full((num_features,), float(bias_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        magnitude = torch.sqrt(x.pow(2).sum(dim=-2, keepdim=True) + self.eps)
        return x * (torch.relu(magnitude + self.bias) / magnitude)


class CplxDropout(nn.Module):
    r"""Drops whole complex coefficients: one keep-mask shared by real and imaginary parts.

    Args:
        p (float): drop probability. Kept values are scaled by :math:`1/(1-p)`.

    Shape:
        - Input / Output: :math:`(batch, 2, *)`
    """

    def __init__(self, p: float = 0.1):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        shape = (x.shape[0], 1) + tuple(x.shape[2:])
        keep = torch.empty(shape, device=x.device, dtype=x.dtype).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
