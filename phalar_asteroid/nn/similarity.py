"""Learned similarities between embeddings (docs/model.md#similarity).

Every module derives from :class:`Similarity`: ``forward(a, b)`` gives the ``(B_a, B_b)`` matrix
of all pairs, :meth:`~Similarity.diagonal` the ``(B,)`` scores of matched rows (the diagonal of
that matrix, computed without it), and :meth:`~Similarity.scores` either form, plain or
symmetric. The bilinear ones are *searchable*: their symmetric score is one real dot product
``query_vectors(a) · key_vectors(b)``, which a stem library precomputes. Complex embeddings use
the ``(batch, 2, dim)`` layout here; :class:`~phalar_asteroid.models.base.ContrastiveEncoder`
converts from the complex ``(batch, dim)`` tensors its ``embed`` returns.
"""

import math

import torch
from torch import nn

from .complex import CplxLinear


def normalize_embedding(x: torch.Tensor) -> torch.Tensor:
    """Divides each embedding by its norm over all its real numbers (eps 1e-6 under the root)."""
    flat = x.flatten(1)
    norm = torch.sqrt(flat.pow(2).sum(dim=1) + 1e-6)
    return x / norm.view(-1, *([1] * (x.dim() - 1)))


def complex_inner(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Real part of the Hermitian inner products :math:`\mathrm{Re}(x_i^H y_j)`, all pairs.

    Shape:
        - x: :math:`(B_x, 2, n)`, y: :math:`(B_y, 2, n)`
        - Output: :math:`(B_x, B_y)`
    """
    return x.flatten(1) @ y.flatten(1).T


def _symmetric_part(weight: torch.Tensor) -> torch.Tensor:
    return 0.5 * (weight + weight.T)


class Similarity(nn.Module):
    r"""Base of the learned similarities: a score for every pair of two embedding batches.

    Subclasses define ``forward`` (the matrix) and :meth:`diagonal` (matched rows); searchable
    ones (``searchable = True``) also define :meth:`query_vectors` and :meth:`key_vectors`.

    Shape:
        - a: :math:`(B_a, ...)`, b: :math:`(B_b, ...)`, the layout of the model's embeddings
        - forward output: :math:`(B_a, B_b)`; diagonal output: :math:`(B,)` with
          :math:`B = B_a = B_b`
    """

    #: Whether the symmetric score is a real bilinear form, ``query · key``.
    searchable = False

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def diagonal(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores of matched rows ``a[i]`` and ``b[i]``: the diagonal of ``forward(a, b)``."""
        raise NotImplementedError

    def scores(self, a, b, all_pairs: bool = False, symmetric: bool = True) -> torch.Tensor:
        """Matched-row or all-pairs scores, in the training form or symmetrised.

        Args:
            a (torch.Tensor): embeddings ``(B_a, ...)``.
            b (torch.Tensor): embeddings ``(B_b, ...)``, same layout.
            all_pairs (bool): the ``(B_a, B_b)`` matrix instead of the ``(B,)`` matched rows.
            symmetric (bool): average both argument orders (PHALAR's Hermitian form).

        Returns:
            torch.Tensor: ``(B,)`` or ``(B_a, B_b)`` scores.
        """
        score = self.forward if all_pairs else self.diagonal
        out = score(a, b)
        if symmetric:
            reverse = score(b, a)
            out = 0.5 * (out + (reverse.T if all_pairs else reverse))
        return out

    def _refuse_search(self):
        raise ValueError(
            f"{type(self).__name__} is not a bilinear form (e.g. the phase-invariant cosine): "
            "its scores cannot be searched with one matrix product"
        )

    def query_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        """Query side of the symmetric score as real vectors: ``score = query · key``.

        Args:
            emb (torch.Tensor): embeddings ``(n, ...)``.

        Returns:
            torch.Tensor: float32 ``(n, features)``.

        Raises:
            ValueError: the similarity is not searchable.
        """
        self._refuse_search()

    def key_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        r"""Stored side of the symmetric score (e.g. :math:`H\hat y` for PHALAR).

        Args:
            emb (torch.Tensor): embeddings ``(n, ...)``.

        Returns:
            torch.Tensor: float32 ``(n, features)`` with
            ``query_vectors(a) @ key_vectors(b).T == scores(a, b, all_pairs=True)``.

        Raises:
            ValueError: the similarity is not searchable.
        """
        self._refuse_search()


class CplxBilinearSimilarity(Similarity):
    r"""PHALAR's learned complex bilinear form, plain or Hermitian.

    With unit-normalised :math:`\hat x, \hat y` and a learned :math:`W \in \mathbb{C}^{n\times n}`:

    - ``bilinear`` (training form): :math:`s(x, y) = \mathrm{Re}\langle W\hat x, \hat y\rangle`,
      not symmetric;
    - ``hermitian``: :math:`s_H(x, y) = \mathrm{Re}(\hat x^H H \hat y)`, :math:`H = (W + W^H)/2`,
      symmetric, the average of both argument orders.

    Both are unchanged when x and y are rotated by a common phase and change under a relative
    rotation. There is no temperature: the scale of W is the learned inverse temperature.

    Args:
        dim (int): complex embedding size.
        form (str): default form, ``"bilinear"`` or ``"hermitian"``.

    Shape:
        - a: :math:`(B_a, 2, dim)`, b: :math:`(B_b, 2, dim)`
        - forward output: :math:`(B_a, B_b)`; diagonal output: :math:`(B,)`
    """

    FORMS = ("bilinear", "hermitian")
    searchable = True

    def __init__(self, dim: int = 512, form: str = "bilinear"):
        super().__init__()
        self._check_form(form)
        self.form = form
        self.weight = CplxLinear(dim, dim)

    def _check_form(self, form):
        if form not in self.FORMS:
            raise ValueError(f"form must be one of {self.FORMS}, got {form!r}")

    def hermitian_matrix(self) -> torch.Tensor:
        r"""H = (W + W^H) / 2 as a complex ``(dim, dim)`` tensor."""
        w = torch.complex(self.weight.real_weight.float(), self.weight.imag_weight.float())
        return (w + w.conj().T) / 2

    def apply_hermitian(self, y: torch.Tensor) -> torch.Tensor:
        r"""Returns :math:`H \hat y` in the ``(batch, 2, dim)`` layout.

        The symmetric score is then one real dot product: :math:`s_H(x, y) =
        \langle \hat x, H\hat y \rangle_{\mathbb{R}}`, which lets a library of stems be
        precomputed once (:meth:`key_vectors`).
        """
        y_hat = normalize_embedding(y)
        z = torch.complex(y_hat[:, 0].float(), y_hat[:, 1].float()) @ self.hermitian_matrix().T
        return torch.stack((z.real, z.imag), dim=1)

    def forward(self, a: torch.Tensor, b: torch.Tensor, form: str = None) -> torch.Tensor:
        form = form or self.form
        self._check_form(form)
        a_hat, b_hat = normalize_embedding(a), normalize_embedding(b)
        logits = complex_inner(self.weight(a_hat), b_hat)
        if form == "hermitian":
            logits = 0.5 * (logits + complex_inner(a_hat, self.weight(b_hat)))
        return logits

    def diagonal(self, a: torch.Tensor, b: torch.Tensor, form: str = None) -> torch.Tensor:
        form = form or self.form
        self._check_form(form)
        a_hat, b_hat = normalize_embedding(a), normalize_embedding(b)
        scores = (self.weight(a_hat) * b_hat).flatten(1).sum(1)
        if form == "hermitian":
            scores = 0.5 * (scores + (a_hat * self.weight(b_hat)).flatten(1).sum(1))
        return scores

    @torch.no_grad()
    def query_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        return normalize_embedding(emb).flatten(1).float()

    @torch.no_grad()
    def key_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        return self.apply_hermitian(emb).flatten(1).float()


class PSDSimilarity(Similarity):
    r"""Positive semi-definite form :math:`\mathrm{Re}((W\hat x)^H (W\hat y))`, symmetric.

    Args:
        dim (int): complex embedding size.
    """

    searchable = True

    def __init__(self, dim: int = 512):
        super().__init__()
        self.weight = CplxLinear(dim, dim)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return complex_inner(
            self.weight(normalize_embedding(a)), self.weight(normalize_embedding(b))
        )

    def diagonal(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        wa = self.weight(normalize_embedding(a))
        wb = self.weight(normalize_embedding(b))
        return (wa * wb).flatten(1).sum(1)

    @torch.no_grad()
    def query_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        return self.weight(normalize_embedding(emb)).flatten(1).float()

    key_vectors = query_vectors  # the form is symmetric: both sides are W x̂


class CplxCosineSimilarity(Similarity):
    r"""Magnitude of the complex cosine after an identity-initialised projection: phase invariant.

    :math:`|x'^H y'| \cdot \min(e^t, 100)` with :math:`x' = \mathrm{normalise}(P\hat x)` and a
    learnable temperature t initialised to :math:`\log(1/0.07)`.

    Args:
        dim (int): complex embedding size.
    """

    def __init__(self, dim: int = 512):
        super().__init__()
        self.weight = CplxLinear(dim, dim, identity_init=True)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def _project(self, x):
        return normalize_embedding(self.weight(normalize_embedding(x)))

    def _scale(self):
        return torch.clamp(self.log_scale.exp(), max=100.0)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        pa, pb = self._project(a), self._project(b)
        re = complex_inner(pa, pb)
        im = pa[:, 0] @ pb[:, 1].T - pa[:, 1] @ pb[:, 0].T
        return torch.sqrt(re**2 + im**2 + 1e-12) * self._scale()

    def diagonal(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        pa, pb = self._project(a), self._project(b)
        re = (pa * pb).flatten(1).sum(1)
        im = (pa[:, 0] * pb[:, 1] - pa[:, 1] * pb[:, 0]).sum(1)
        return torch.sqrt(re**2 + im**2 + 1e-12) * self._scale()


class RealBilinearSimilarity(Similarity):
    r"""Real bilinear form for the real ablation heads: :math:`(P\hat x) \cdot \hat y`, P = I init.

    Args:
        dim (int): embedding size.
    """

    searchable = True

    def __init__(self, dim: int = 512):
        super().__init__()
        self.weight = nn.Linear(dim, dim, bias=False)
        with torch.no_grad():
            self.weight.weight.copy_(torch.eye(dim))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.weight(normalize_embedding(a)) @ normalize_embedding(b).T

    def diagonal(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (self.weight(normalize_embedding(a)) * normalize_embedding(b)).sum(1)

    @torch.no_grad()
    def query_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        return normalize_embedding(emb).float()

    @torch.no_grad()
    def key_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        return self.query_vectors(emb) @ _symmetric_part(self.weight.weight.float())


class COCOLASimilarity(Similarity):
    r"""COCOLA's form :math:`h_x^T W h_y` with :math:`h = \tanh(\mathrm{LayerNorm}(x))`.

    No normalisation and no temperature; W is drawn from :math:`\mathcal{N}(0, 0.05^2)`.

    Args:
        dim (int): embedding size.
    """

    searchable = True

    def __init__(self, dim: int = 512):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.weight = nn.Parameter(torch.randn(dim, dim) * 0.05)

    def squash(self, x: torch.Tensor) -> torch.Tensor:
        """The bounded features :math:`h = \\tanh(\\mathrm{LayerNorm}(x))` the form compares."""
        return torch.tanh(self.norm(x))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.squash(a) @ self.weight @ self.squash(b).T

    def diagonal(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((self.squash(a) @ self.weight) * self.squash(b)).sum(1)

    @torch.no_grad()
    def query_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        return self.squash(emb).float()

    @torch.no_grad()
    def key_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        return self.query_vectors(emb) @ _symmetric_part(self.weight.float())


SIMILARITIES = {
    "bilinear": lambda dim: CplxBilinearSimilarity(dim, form="bilinear"),
    "hermitian": lambda dim: CplxBilinearSimilarity(dim, form="hermitian"),
    "psd": PSDSimilarity,
    "cosine": CplxCosineSimilarity,
    "real_bilinear": RealBilinearSimilarity,
    "cocola": COCOLASimilarity,
}
COMPLEX_SIMILARITIES = ("bilinear", "hermitian", "psd", "cosine")


def make_similarity(kind: str, dim: int) -> Similarity:
    """Builds a similarity by name: one of :data:`SIMILARITIES`.

    Args:
        kind (str): similarity name.
        dim (int): embedding size.

    Returns:
        Similarity: the similarity.
    """
    if kind not in SIMILARITIES:
        raise ValueError(f"Unknown similarity {kind!r}; expected one of {sorted(SIMILARITIES)}")
    return SIMILARITIES[kind](dim)
