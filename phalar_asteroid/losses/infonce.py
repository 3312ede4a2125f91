"""InfoNCE over a logit matrix with explicit soft targets (docs/model.md#loss)."""

import torch
from torch.nn.modules.loss import _Loss


def soft_targets(logits: torch.Tensor, targets: torch.Tensor, positive_target: float):
    """Soft target rows: ``positive_target`` on the positive, the rest spread over negatives.

    Args:
        logits (torch.Tensor): ``(B, N)`` logits.
        targets (torch.Tensor): ``(B,)`` column index of each row's positive.
        positive_target (float): probability mass on the positive.

    Returns:
        torch.Tensor: ``(B, N)`` rows summing to one.
    """
    n = logits.shape[1]
    if n == 1:
        return torch.ones_like(logits)
    rest = (1.0 - positive_target) / (n - 1)
    probs = torch.full_like(logits, rest, dtype=torch.float32)
    probs.scatter_(1, targets.view(-1, 1), positive_target)
    return probs


def _check(logits, targets):
    if logits.dim() != 2:
        raise TypeError(f"Expected logits of shape (batch, candidates), got {tuple(logits.shape)}")
    if targets is None:
        if logits.shape[1] < logits.shape[0]:
            raise TypeError(
                f"Default targets (the diagonal) need at least as many columns as rows, got "
                f"{tuple(logits.shape)}"
            )
        return torch.arange(logits.shape[0], device=logits.device)
    if targets.shape != (logits.shape[0],):
        raise TypeError(
            f"Expected targets of shape ({logits.shape[0]},), got {tuple(targets.shape)}"
        )
    return targets.long()


class InfoNCELoss(_Loss):
    r"""One-directional InfoNCE: cross-entropy of each row (anchor) over its candidates.

    Row i's target puts ``positive_target`` (0.9) on its positive and spreads the rest evenly
    over the other ``N - 1`` candidates (for a square B×B matrix: ``0.1 / (B - 1)`` each). There
    is no column term and no temperature. Extra columns (e.g. same-track negatives) are
    allowed: logits can be ``(B, N)`` with ``N >= B``.

    Args:
        positive_target (float): target probability of the positive (1.0 disables smoothing).

    Shape:
        - logits: :math:`(batch, candidates)`
        - targets (optional): :math:`(batch,)` positive column per row, default the diagonal.
        - Output: scalar.

    Examples
        >>> loss = info_nce(torch.randn(8, 8))
    """

    def __init__(self, positive_target: float = 0.9):
        super().__init__()
        if not 0.0 < positive_target <= 1.0:
            raise ValueError(f"positive_target must be in (0, 1], got {positive_target}")
        self.positive_target = positive_target

    def forward(self, logits: torch.Tensor, targets: torch.Tensor = None) -> torch.Tensor:
        targets = _check(logits, targets)
        probs = soft_targets(logits, targets, self.positive_target)
        log_p = torch.log_softmax(logits.float(), dim=1)
        return -(probs * log_p).sum(dim=1).mean()


class SymmetricInfoNCELoss(InfoNCELoss):
    r"""InfoNCE averaged over rows (anchor → positives) and columns (positive → anchors).

    Args:
        positive_target (float): target probability of the positive.

    Shape:
        - logits: :math:`(batch, batch)`, positives on the diagonal.
        - Output: scalar.
    """

    def forward(self, logits: torch.Tensor, targets: torch.Tensor = None) -> torch.Tensor:
        if targets is not None or logits.dim() != 2 or logits.shape[0] != logits.shape[1]:
            raise TypeError(
                f"SymmetricInfoNCELoss takes a square (batch, batch) matrix with diagonal "
                f"positives, got {tuple(logits.shape)}"
            )
        return 0.5 * (super().forward(logits) + super().forward(logits.T))


info_nce = InfoNCELoss()
symmetric_info_nce = SymmetricInfoNCELoss()
